"""Provenance commands: keys, in-toto/SLSA attestations, OpenSSF model signing; ``export --format`` for
PROV, CycloneDX and OpenLineage documents calls ``export_document`` here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ValidationError
from .context import client_session
from .options import JSON_OPTION
from .output import emit_json

PASSWORD_ENV = "MLINEAGE_KEY_PASSWORD"
_PASSWORD_HELP = (f"The private key is (to be) encrypted: ask for its password ({PASSWORD_ENV} answers "
                  "instead).")
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _password(asked: bool, confirm: bool = False) -> str | None:
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not asked:
        return None
    return str(click.prompt("Key password", hide_input=True, confirmation_prompt=confirm, err=True))


def _private_key(path: Path, asked: bool) -> Any:
    from ..provenance.keys import load_private

    return load_private(path, _password(asked))


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def export_document(ref: str | None, fmt: str, as_of: str | None, output: Path | None) -> None:
    if not ref:
        raise click.UsageError(f"--format {fmt} describes one model or run: pass its REF")
    with client_session(one_shot=True) as client:
        text = client.export_provenance(ref, fmt, as_of=as_of)
    _write(text, output)
    if output is not None:
        click.echo(f"Wrote {fmt} for {ref} to {output}", err=True)


@click.group("keys")
def keys_group() -> None:
    """Signing keys for attestations and model signatures (PEM files)."""


@keys_group.command("generate")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Folder to write NAME.key and NAME.pub into.")
@click.option("--type", "key_type", type=click.Choice(("ed25519", "ecdsa-p256")), default="ed25519",
              show_default=True, help="Ed25519, or ECDSA on P-256 (what OpenSSF model signing verifies).")
@click.option("--name", help="File name stem (default: mlineage-TYPE).")
@click.option("--password", "ask_password", is_flag=True, help=_PASSWORD_HELP)
@JSON_OPTION
def keys_generate_command(out_dir: Path, key_type: str, name: str | None, ask_password: bool,
                          as_json: bool) -> None:
    """Generate a key pair: a private key (mode 0600, PKCS#8, encrypted with --password) and its public
    key."""
    from ..provenance.keys import generate

    pair = generate(out_dir, key_type, _password(ask_password, confirm=True), name)  # type: ignore[arg-type]
    if as_json:
        emit_json({"private": str(pair.private), "public": str(pair.public), "type": pair.key_type,
                   "keyid": pair.keyid})
        return
    click.echo(f"Wrote {pair.private} (private) and {pair.public} (public), {pair.key_type} key "
               f"{pair.keyid}")


@click.command("attest")
@click.argument("model")
@click.option("--key", "key_path", type=_FILE, required=True, help="The private key (PEM) to sign with.")
@click.option("--password", "ask_password", is_flag=True, help=_PASSWORD_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the envelope here (default: standard output).")
@JSON_OPTION
def attest_command(model: str, key_path: Path, ask_password: bool, output: Path | None,
                   as_json: bool) -> None:
    """Sign an in-toto Statement (SLSA provenance v1) for MODEL, a model file or a REF, as a DSSE envelope.

    The subject is the model's SHA-256; the provenance lists the producing run's command and params, its
    inputs with their digests, the builder and when the run started and finished.
    """
    key = _private_key(key_path, ask_password)
    with client_session() as client:
        envelope = client.attest(model, key)
    if as_json:
        import base64

        subject = json.loads(base64.b64decode(envelope["payload"]))["subject"][0]
        keyid = envelope["signatures"][0]["keyid"]
        summary: dict[str, Any] = {"model": model, "subject": subject, "keyid": keyid,
                                   "output": str(output) if output else None}
        if output is None:
            summary["envelope"] = envelope
        else:
            _write(json.dumps(envelope, indent=2) + "\n", output)
        emit_json(summary)
        return
    _write(json.dumps(envelope, indent=2) + "\n", output)
    if output is not None:
        click.echo(f"Wrote the attestation for {model} to {output}", err=True)


@click.command("verify-attestation")
@click.argument("attestation", type=_FILE)
@click.argument("model_file", required=False, type=_FILE)
@click.option("--key", "key_path", type=_FILE, help="The signer's public key (PEM).")
@JSON_OPTION
def verify_attestation_command(attestation: Path, model_file: Path | None, key_path: Path | None,
                               as_json: bool) -> None:
    """Check an attestation: its signature with --key, and that MODEL_FILE's SHA-256 is its subject.

    Reads DSSE envelopes (one JSON document, or JSON lines as *.intoto.jsonl), bare or in a Sigstore bundle,
    and reports each statement's subjects, builder and materials. A signature made with a Sigstore
    certificate is reported as not checked. Exits 1 naming the first check that failed.
    """
    from ..provenance.attestation import verify_file
    from ..provenance.keys import load_public
    from ..provenance.prehash import sha256_of
    from .provenance_quick import first_failure, outcome_lines, verdict

    public_key = load_public(key_path) if key_path is not None else None
    outcomes = verify_file(attestation, model_file, public_key, sha256_of)
    if as_json:
        emit_json({"attestation": str(attestation), "verified": all(o.verified for o in outcomes),
                   "attestations": [o.to_dict() for o in outcomes]})
    else:
        for outcome in outcomes:
            for line in outcome_lines(outcome):
                click.echo(line)
    failure = first_failure(outcomes)
    if failure is not None:
        raise failure
    if not as_json:
        click.echo(verdict(outcomes))


@click.command("sign-model")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--key", "key_path", type=_FILE, required=True, help="An ECDSA P-256 private key (PEM).")
@click.option("--password", "ask_password", is_flag=True, help=_PASSWORD_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="model.sig",
              show_default=True, help="Where to write the signature bundle.")
@JSON_OPTION
def sign_model_command(folder: Path, key_path: Path, ask_password: bool, output: Path, as_json: bool) -> None:
    """Sign a model folder in the OpenSSF model-signing format (`model_signing verify key` accepts it)."""
    from ..provenance import modelsign

    bundle = modelsign.sign(folder, _private_key(key_path, ask_password), output)
    output.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    if as_json:
        emit_json({"folder": str(folder), "signature": str(output)})
        return
    click.echo(f"Signed {folder} into {output}")


@click.command("verify-model")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("signature", type=_FILE)
@click.option("--key", "key_path", type=_FILE, required=True, help="The signer's public key (PEM).")
@JSON_OPTION
def verify_model_command(folder: Path, signature: Path, key_path: Path, as_json: bool) -> None:
    """Verify a model folder against an OpenSSF model-signing bundle signed with a key."""
    from ..provenance import modelsign
    from ..provenance.keys import load_public

    problems = modelsign.verify(folder, signature, load_public(key_path))
    if as_json:
        emit_json({"folder": str(folder), "signature": str(signature), "verified": not problems,
                   "problems": problems})
    if problems:
        raise ValidationError(str(signature), "; ".join(problems))
    if not as_json:
        click.echo(f"verified: {folder} matches {signature}")


COMMANDS = [keys_group, attest_command, verify_attestation_command, sign_model_command, verify_model_command]
