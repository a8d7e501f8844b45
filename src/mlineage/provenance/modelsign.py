"""Model folders signed in the OpenSSF model-signing format (``model_signing`` 1.x, key-based signing), so
``model_signing verify key`` accepts what mlineage signs and mlineage verifies what it signs.

The format: every file under the folder (symbolic links refused, git's files ignored) is hashed with SHA-256
and listed by its POSIX path, sorted; the statement's one subject is the folder's name with the SHA-256 of
the concatenated file digests in that order; the predicate (``https://model_signing/signature/v1.0``) holds
the list and how it was made. The in-toto statement is signed as a DSSE envelope with an ECDSA key and
stored in a Sigstore bundle (v0.3) whose verification material is a hint: the SHA-256 of the public key's
PEM. model_signing's key-based verifier accepts elliptic-curve keys only, so Ed25519 keys are refused here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ValidationError
from . import dsse, keys

PREDICATE_TYPE = "https://model_signing/signature/v1.0"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
GIT_PATHS = (".gitignore", ".gitattributes", ".github", ".git")


@dataclass(frozen=True)
class FileDigest:
    name: str  # POSIX path relative to the model folder
    sha256: str


def _ignored(root: Path, signature: Path | None) -> list[str]:
    names = list(GIT_PATHS)
    if signature is not None:
        try:
            names.append(signature.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            pass  # the signature lies outside the folder
    return names


def manifest(root: Path, ignore: list[str]) -> list[FileDigest]:
    """Every file of the folder with its SHA-256, sorted the way the format sorts paths (by components)."""
    from ..hashing import hash_file

    if not root.is_dir():
        raise ValidationError(str(root), "is not a folder", "sign a model folder (a file: put it in one)")
    skip = {PurePosixPath(p) for p in ignore}
    found = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        relative = PurePosixPath(here.relative_to(root).as_posix())
        dirs[:] = [d for d in dirs if (relative / d) not in skip]
        for d in dirs:
            if (here / d).is_symlink():
                _refuse_link(here / d)
        for name in files:
            path = here / name
            if (relative / name) in skip:
                continue
            if path.is_symlink():
                _refuse_link(path)
            found.append(FileDigest((relative / name).as_posix().removeprefix("./"), hash_file(path)[0].hex))
    return sorted(found, key=lambda f: PurePosixPath(f.name).parts)


def _refuse_link(path: Path) -> None:
    raise ValidationError(str(path), "is a symbolic link", "model signing hashes regular files only")


def root_digest(files: list[FileDigest]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(bytes.fromhex(f.sha256))
    return h.hexdigest()


def statement(name: str, files: list[FileDigest], ignore: list[str]) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": root_digest(files)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False,
                              "ignore_paths": ignore},
            "resources": [{"name": f.name, "algorithm": "sha256", "digest": f.sha256} for f in files],
        },
    }


def _hint(public_key: Any) -> str:
    return hashlib.sha256(keys.public_pem(public_key)).hexdigest()


def sign(root: Path, private_key: Any, signature: Path) -> dict[str, Any]:
    """Sign a model folder; returns the bundle (the caller writes it to ``signature``)."""
    if keys.key_type_of(private_key) != "ecdsa-p256":
        raise ValidationError("key", "model signing takes an ECDSA P-256 key (model_signing verifies "
                              "elliptic-curve keys only)", "generate one with `mlineage keys generate --type "
                              "ecdsa-p256`")
    ignore = _ignored(root, signature)
    files = manifest(root, ignore)
    body = json.dumps(statement(root.resolve().name, files, ignore), indent=2).encode()
    envelope = dsse.sign(body, private_key)
    envelope["signatures"][0]["keyid"] = ""
    return {"mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {"publicKey": {"hint": _hint(private_key.public_key())},
                                     "tlogEntries": []},
            "dsseEnvelope": envelope}


def verify(root: Path, bundle_path: Path, public_key: Any) -> list[str]:
    """Problems found verifying a folder against a bundle (empty: verified). The bundle must be signed by
    ``public_key`` and list exactly the folder's files with their digests."""
    try:
        bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(str(bundle_path), f"is not a JSON signature bundle ({exc})") from exc
    if not isinstance(bundle, Mapping) or not isinstance(bundle.get("dsseEnvelope"), Mapping):
        raise ValidationError(str(bundle_path), "is not a Sigstore bundle (no dsseEnvelope)")
    hint = ((bundle.get("verificationMaterial") or {}).get("publicKey") or {}).get("hint")
    if hint and hint != _hint(public_key):
        return ["key: the bundle names another public key (its hint is not this key's)"]
    try:
        if not dsse.verify(bundle["dsseEnvelope"], public_key):
            return [("signature: does not verify with the public key (the bundle was changed or another key "
                     "signed it)")]
        payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    except (dsse.EnvelopeError, ValueError) as exc:
        return [f"envelope: {exc}"]
    if payload.get("predicateType") != PREDICATE_TYPE:
        return [f"statement: predicateType is {payload.get('predicateType')!r}, not {PREDICATE_TYPE}"]
    predicate = payload.get("predicate") or {}
    listed = {r["name"]: r["digest"] for r in predicate.get("resources", [])}
    ignore = list((predicate.get("serialization") or {}).get("ignore_paths") or GIT_PATHS)
    ignore += [p for p in _ignored(root, bundle_path) if p not in ignore]
    actual = {f.name: f.sha256 for f in manifest(root, ignore)}
    problems = [f"missing file: {n}" for n in sorted(set(listed) - set(actual))]
    problems += [f"extra file: {n}" for n in sorted(set(actual) - set(listed))]
    problems += [f"changed file: {n}" for n in sorted(set(listed) & set(actual)) if listed[n] != actual[n]]
    subject = payload.get("subject") or [{}]
    signed_root = (subject[0].get("digest") or {}).get("sha256")
    ordered = [FileDigest(n, d) for n, d in sorted(listed.items(), key=lambda kv: PurePosixPath(kv[0]).parts)]
    if not problems and signed_root != root_digest(ordered):
        problems.append("statement: the subject digest does not match the listed files")
    return problems
