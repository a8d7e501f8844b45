"""in-toto/SLSA attestations: real signature round trips with Ed25519 and ECDSA P-256 keys (one of them
password-protected), the flipped-byte test, tampered envelopes named by the check that failed, and the real
Sigstore-signed SLSA attestations read and reported."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlineage.cli.main import cli
from mlineage.errors import ValidationError
from mlineage.provenance import attestation, dsse, keys

from .conftest import FIXTURES, Pipeline

SLSA = FIXTURES / "slsa"


def test_pae_is_the_dsse_encoding() -> None:
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    assert dsse.pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"  # byte lengths, not characters


@pytest.mark.parametrize(("key_type", "password"), [("ed25519", None), ("ecdsa-p256", "s3cret pass")])
def test_attest_and_verify_round_trip(client: Any, pipeline: Pipeline, tmp_path: Path, key_type: str,
                                      password: str | None) -> None:
    pair = keys.generate(tmp_path / "keys", key_type, password)  # type: ignore[arg-type]
    if password:
        assert b"ENCRYPTED" in pair.private.read_bytes()
        with pytest.raises(ValidationError, match="is encrypted"):
            keys.load_private(pair.private)
        with pytest.raises(ValidationError, match="password is wrong"):
            keys.load_private(pair.private, "not it")
    assert pair.private.stat().st_mode & 0o777 == 0o600
    envelope = client.attest(str(pipeline.model_file), keys.load_private(pair.private, password))
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "model.bin", "digest": {"sha256": pipeline.model.digest.hex}}]
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    definition = statement["predicate"]["buildDefinition"]
    assert definition["externalParameters"]["params"] == {"lr": 0.1, "epochs": 3, "layers": [64, 32]}
    assert definition["externalParameters"]["job"] == "train"
    dependencies = definition["resolvedDependencies"]
    assert [d["digest"] for d in dependencies] == [{"sha256": pipeline.clean.digest.hex}]
    details = statement["predicate"]["runDetails"]
    assert details["metadata"]["invocationId"] == pipeline.train_run
    assert details["metadata"]["startedOn"] <= details["metadata"]["finishedOn"]
    path = tmp_path / "model.intoto.json"
    path.write_text(json.dumps(envelope))
    public = keys.load_public(pair.public)
    # the public key is built from its raw bytes (no serialization import): the same key as the PEM parser's
    from cryptography.hazmat.primitives import serialization as pem

    spki = (pem.Encoding.DER, pem.PublicFormat.SubjectPublicKeyInfo)
    assert public.public_bytes(*spki) == pem.load_pem_public_key(pair.public.read_bytes()).public_bytes(*spki)
    assert keys.keyid(public) == pair.keyid
    [outcome] = attestation.verify_file(path, pipeline.model_file, public)
    assert outcome.verified, outcome.to_dict()
    assert [c.name for c in outcome.checks] == ["envelope", "signature", "statement", "subject"]
    # the same bytes named by ref give the same statement
    again = client.attest("clf", keys.load_private(pair.private, password))
    assert json.loads(base64.b64decode(again["payload"])) == statement


def _signed(client: Any, pipeline: Pipeline, folder: Path, key_type: str = "ed25519") -> tuple[Path, Any]:
    pair = keys.generate(folder / "keys", key_type)  # type: ignore[arg-type]
    envelope = client.attest(str(pipeline.model_file), keys.load_private(pair.private))
    path = folder / "model.intoto.json"
    path.write_text(json.dumps(envelope, indent=2))
    return path, keys.load_public(pair.public)


def _status(outcomes: list[attestation.Outcome]) -> dict[str, str]:
    return {c.name: c.status for c in outcomes[0].checks}


def test_one_flipped_byte_in_the_model_fails_the_subject_check(client: Any, pipeline: Pipeline,
                                                               tmp_path: Path) -> None:
    path, public = _signed(client, pipeline, tmp_path)
    copy = tmp_path / "copy.bin"
    data = bytearray(pipeline.model_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    status = _status(attestation.verify_file(path, copy, public))
    assert status == {"envelope": "passed", "signature": "passed", "statement": "passed", "subject": "failed"}


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256"])
def test_a_tampered_envelope_fails_the_signature_check(client: Any, pipeline: Pipeline, tmp_path: Path,
                                                       key_type: str) -> None:
    path, public = _signed(client, pipeline, tmp_path, key_type)
    envelope = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["buildDefinition"]["externalParameters"]["params"]["lr"] = 0.2
    forged = dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    path.write_text(json.dumps(forged))
    assert _status(attestation.verify_file(path, pipeline.model_file, public))["signature"] == "failed"
    path.write_text(json.dumps(dict(envelope, payloadType="application/vnd.in-toto+jsonx")))
    assert _status(attestation.verify_file(path, pipeline.model_file, public))["envelope"] == "failed"
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    path.write_text(json.dumps(dict(envelope, signatures=[{"sig": base64.b64encode(bytes(sig)).decode()}])))
    assert _status(attestation.verify_file(path, pipeline.model_file, public))["signature"] == "failed"
    other = keys.load_public(keys.generate(tmp_path / "other", key_type).public)  # type: ignore[arg-type]
    path.write_text(json.dumps(envelope))
    assert _status(attestation.verify_file(path, pipeline.model_file, other))["signature"] == "failed"


def test_cli_keys_attest_verify_and_the_failed_check_named(client: Any, pipeline: Pipeline, store_uri: str,
                                                           tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects"),
           "MLINEAGE_KEY_PASSWORD": "pw"}
    made = runner.invoke(cli, ["keys", "generate", "--out", str(tmp_path / "k"), "--type", "ecdsa-p256",
                               "--password", "--json"], env=env)
    assert made.exit_code == 0, made.output
    pair = json.loads(made.output)
    att = tmp_path / "a.json"
    signed = runner.invoke(cli, ["attest", "clf", "--key", pair["private"], "--password", "-o", str(att)],
                           env=env)
    assert signed.exit_code == 0, signed.output
    ok = runner.invoke(cli, ["verify-attestation", str(att), str(pipeline.model_file), "--key",
                             pair["public"]])
    assert ok.exit_code == 0, ok.output
    assert ok.output.rstrip().endswith("verified") and "material" in ok.output
    flipped = tmp_path / "flipped.bin"
    data = bytearray(pipeline.model_file.read_bytes())
    data[0] ^= 0x80
    flipped.write_bytes(bytes(data))
    bad = runner.invoke(cli, ["verify-attestation", str(att), str(flipped), "--key", pair["public"]])
    assert bad.exit_code == 1 and f"error: {att}: subject check failed" in bad.output
    envelope = json.loads(att.read_text())
    envelope["payload"] = base64.b64encode(base64.b64decode(envelope["payload"]) + b" ").decode()
    att.write_text(json.dumps(envelope))
    tampered = runner.invoke(cli, ["verify-attestation", str(att), str(pipeline.model_file), "--key",
                                   pair["public"], "--json"])
    assert tampered.exit_code == 1 and f"error: {att}: signature check failed" in tampered.output
    no_password = runner.invoke(cli, ["attest", "clf", "--key", pair["private"]],
                                env={k: v for k, v in env.items() if k != "MLINEAGE_KEY_PASSWORD"})
    assert no_password.exit_code == 1 and "is encrypted" in no_password.output


def test_bad_attestation_files_name_the_file_and_line(tmp_path: Path) -> None:
    lines = tmp_path / "x.intoto.jsonl"
    good = (SLSA / "binary-linux-amd64-sharded.intoto.jsonl").read_text().strip()
    lines.write_text(good + "\n" + good[:200] + "\n")
    with pytest.raises(ValidationError, match=r"x\.intoto\.jsonl:2: is not a JSON line"):
        attestation.read(lines)
    lines.write_text('{"hello": 1}\n')
    with pytest.raises(ValidationError, match="not a DSSE envelope"):
        attestation.read(lines)
    lines.write_text("")
    with pytest.raises(ValidationError, match="holds no attestation"):
        attestation.read(lines)


def test_real_slsa_attestations_are_read_and_their_sigstore_signatures_not_pretended() -> None:
    files = sorted(SLSA.rglob("*.intoto.jsonl"))
    assert len(files) >= 30
    versions = set()
    for path in files:
        for outcome in attestation.verify_file(path, None, None):
            status = {c.name: c.status for c in outcome.checks}
            assert status["envelope"] == "passed" and status["statement"] == "passed", (path, status)
            assert status["signature"] in (attestation.SIGSTORE, "not checked: no public key given")
            summary = outcome.summary
            assert summary is not None and summary.subjects and summary.builder, path
            assert all(len(s["digest"]["sha256"]) == 64 for s in summary.subjects)
            versions.add(summary.predicate_type)
    assert versions >= {"https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1"}
    [bazel] = attestation.verify_file(SLSA / "bcr" / "MODULE.bazel.intoto.jsonl", None, None)
    assert {c.name: c.status for c in bazel.checks}["signature"] == "not checked: Sigstore certificate"
    assert bazel.summary is not None and bazel.summary.materials[0]["digest"]["gitCommit"]


def test_cli_reports_a_real_attestation_and_checks_its_subject(tmp_path: Path) -> None:
    path = SLSA / "gha_container-based" / "v1.8.0" / "binary-linux-amd64-push-v14.2.intoto.jsonl"
    empty = tmp_path / "empty"  # that build's subject is the empty file (sha256 e3b0c442...)
    empty.write_bytes(b"")
    result = CliRunner().invoke(cli, ["verify-attestation", str(path), str(empty)])
    assert result.exit_code == 0, result.output
    assert "signature  not checked: Sigstore certificate" in result.output
    assert "subject    passed" in result.output and "builder    https://" in result.output
    assert "read, not verified (signature not checked: Sigstore certificate)" in result.output
    other = tmp_path / "other"
    other.write_bytes(b"x")
    failed = CliRunner().invoke(cli, ["verify-attestation", str(path), str(other)])
    assert failed.exit_code == 1 and "subject check failed" in failed.output


def test_the_console_script_hashes_the_model_file_while_it_loads(client: Any, pipeline: Pipeline,
                                                                 tmp_path: Path) -> None:
    import subprocess
    import sys

    from mlineage.provenance import prehash

    prehash.start_from_argv(["a.json", "--key", "k.pub", str(pipeline.model_file)])
    assert prehash.sha256_of(pipeline.model_file) == pipeline.model.digest.hex
    prehash.start_from_argv(["--key", "k.pub", "a.json"])  # no model file: nothing started
    assert not prehash._started
    path, _ = _signed(client, pipeline, tmp_path)
    public = tmp_path / "keys" / "mlineage-ed25519.pub"
    # a plain verify-attestation runs without click, and prints what the click command prints
    probe = ("import sys; from mlineage.cli.entry import main; sys.argv[0] = 'mlineage'\n"
             "try:\n    main()\n"
             "finally:\n    sys.stderr.write(f'click loaded: {\"click\" in sys.modules}\\n')")
    for model, code in ((pipeline.model_file, 0), (path, 1)):
        args = ["verify-attestation", str(path), str(model), "--key", str(public)]
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                              check=False)
        assert done.returncode == code, done.stderr
        assert "click loaded: False" in done.stderr
        full = CliRunner().invoke(cli, args)
        assert (full.exit_code, full.stdout, full.stderr) == (code, done.stdout, done.stderr.replace(
            "click loaded: False\n", ""))
    assert "subject check failed" in done.stderr


def test_a_model_no_run_produced_is_attested_without_build_details(client: Any, pipeline: Pipeline,
                                                                   tmp_path: Path, store_uri: str) -> None:
    pair = keys.generate(tmp_path / "keys", "ed25519")
    with pytest.raises(ValidationError, match="exists"):
        keys.generate(tmp_path / "keys", "ed25519")
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    done = CliRunner().invoke(cli, ["attest", "base", "--key", str(pair.private), "--json"], env=env)
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert summary["subject"] == {"name": "base.bin", "digest": {"sha256": pipeline.base.digest.hex}}
    statement = json.loads(base64.b64decode(summary["envelope"]["payload"]))
    assert statement["predicate"]["buildDefinition"]["resolvedDependencies"] == []
    assert "metadata" not in statement["predicate"]["runDetails"]
    assert dsse.verify(summary["envelope"], keys.load_public(pair.public))
    unknown = tmp_path / "never-recorded.bin"
    unknown.write_bytes(b"new bytes")
    refused = CliRunner().invoke(cli, ["attest", str(unknown), "--key", str(pair.private)], env=env)
    assert refused.exit_code == 1 and "was never recorded" in refused.output
