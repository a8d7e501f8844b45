"""Reading and verifying attestation files: DSSE envelopes (one JSON document, or JSON lines as
``*.intoto.jsonl``), bare or inside a Sigstore bundle.

Verification is a list of named checks, so a failure says which one: the envelope parses, the signature
verifies with the given public key over the DSSE PAE, the payload is an in-toto Statement, and the model
file's SHA-256 is one of the statement's subjects. A signature made with a Sigstore certificate (Fulcio) is
reported as not checked: verifying it needs the Sigstore trust root, which this command does not use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import dsse
from .slsa import Summary, summarize

PASSED, FAILED = "passed", "failed"
SIGSTORE = "not checked: Sigstore certificate"


@dataclass
class Check:
    name: str
    status: str  # passed, failed, or "not checked: <why>"
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


@dataclass
class Attestation:
    """One envelope read from a file, with where it was (``file:line`` for JSON lines)."""

    where: str
    envelope: dict[str, Any]
    sigstore: bool  # signed with a certificate rather than a key
    bundle_media_type: str | None = None


@dataclass
class Outcome:
    where: str
    checks: list[Check] = field(default_factory=list)
    summary: Summary | None = None

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAILED]

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.status == PASSED for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "verified": self.verified, "checks": [c.to_dict() for c in self.checks],
                "statement": self.summary.to_dict() if self.summary else None}


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(str(path), f"cannot be read ({exc})") from exc
    try:
        yield str(path), json.loads(text)
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path}:{number}", f"is not a JSON line ({exc.msg} at column {exc.colno})",
                                  "an attestation file holds one JSON document or one per line") from exc


def read(path: Path) -> list[Attestation]:
    """Every envelope in an attestation file; a document that is neither an envelope nor a bundle is named."""
    found = []
    for where, doc in _documents(path):
        if not isinstance(doc, Mapping):
            raise ValidationError(where, "is not a DSSE envelope or Sigstore bundle (not a JSON object)")
        if "dsseEnvelope" in doc:
            if not isinstance(doc["dsseEnvelope"], Mapping):
                raise ValidationError(where, "is a Sigstore bundle whose dsseEnvelope is not a JSON object")
            material = doc.get("verificationMaterial") or {}
            certified = isinstance(material, Mapping) and bool(
                material.get("certificate") or material.get("x509CertificateChain"))
            found.append(Attestation(where, dict(doc["dsseEnvelope"]), certified, str(doc.get("mediaType"))))
        elif "payload" in doc or "signatures" in doc:
            listed = doc.get("signatures")
            signatures: list[Any] = listed if isinstance(listed, list) else []
            certified = any(isinstance(s, Mapping) and s.get("cert") for s in signatures)
            found.append(Attestation(where, dict(doc), certified))
        else:
            raise ValidationError(where, "is not a DSSE envelope or Sigstore bundle (no payload, no "
                                         "dsseEnvelope)")
    if not found:
        raise ValidationError(str(path), "holds no attestation (the file is empty)")
    return found


def check(attestation: Attestation, public_key: Any | None, model_sha256: str | None) -> Outcome:
    """Run every check on one envelope. ``public_key`` None or a Sigstore certificate leaves the signature
    unchecked; ``model_sha256`` None leaves the subject unchecked."""
    outcome = Outcome(attestation.where)
    try:
        payload_type, body, signatures = dsse.parse(attestation.envelope)
    except dsse.EnvelopeError as exc:
        outcome.checks.append(Check("envelope", FAILED, str(exc)))
        return outcome
    if payload_type != dsse.IN_TOTO_PAYLOAD_TYPE:
        outcome.checks.append(Check("envelope", FAILED, f"payloadType is {payload_type!r}, not "
                                                        f"{dsse.IN_TOTO_PAYLOAD_TYPE}"))
        return outcome
    outcome.checks.append(Check("envelope", PASSED, f"{len(signatures)} signature(s)"))
    if attestation.sigstore:
        outcome.checks.append(Check("signature", SIGSTORE, "verifying it needs the Sigstore trust root"))
    elif public_key is None:
        outcome.checks.append(Check("signature", "not checked: no public key given"))
    elif dsse.verify(attestation.envelope, public_key):
        outcome.checks.append(Check("signature", PASSED, "DSSE PAE signature verifies with the public key"))
    else:
        outcome.checks.append(Check("signature", FAILED, "no signature verifies with the public key: the "
                                                         "envelope was changed or another key signed it"))
    try:
        statement = json.loads(body)
        if not isinstance(statement, Mapping):
            raise ValueError("the payload is not a JSON object")  # noqa: TRY004 - reported as a check
        outcome.summary = summarize(statement)
    except ValueError as exc:
        outcome.checks.append(Check("statement", FAILED, f"the payload is not an in-toto Statement: {exc}"))
        return outcome
    outcome.checks.append(Check("statement", PASSED, f"{outcome.summary.predicate_type}"))
    if model_sha256 is None:
        outcome.checks.append(Check("subject", "not checked: no model file given"))
        return outcome
    names = [str(s.get("name")) for s in outcome.summary.subjects
             if str(s.get("digest", {}).get("sha256", "")).lower() == model_sha256]
    if names:
        outcome.checks.append(Check("subject", PASSED, f"sha256:{model_sha256} is subject {names[0]!r}"))
    else:
        listed = ", ".join(f"sha256:{s['digest'].get('sha256', '?')}" for s in outcome.summary.subjects)
        outcome.checks.append(Check("subject", FAILED, f"the model file's digest sha256:{model_sha256} is "
                                                       f"not a subject (the statement names {listed})"))
    return outcome


def verify_file(path: Path, model: Path | None, public_key: Any | None,
                hasher: Callable[[Path], str] | None = None) -> list[Outcome]:
    """Check every envelope of an attestation file against a model file (hashed once)."""
    attestations = read(path)
    digest = None
    if model is not None:
        if not model.is_file():
            raise ValidationError(str(model), "is not a file", "pass the model file the attestation is about")
        digest = (hasher or _sha256)(model)
    return [check(a, public_key, digest) for a in attestations]


def _sha256(path: Path) -> str:
    from ..filedigest import sha256_file

    return sha256_file(path)[0]
