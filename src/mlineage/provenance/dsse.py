"""DSSE (Dead Simple Signing Envelope, v1.0.0): the pre-authentication encoding and the JSON envelope.

The signature covers ``PAE(payloadType, payload)`` = ``"DSSEv1" SP len(type) SP type SP len(body) SP body``
(lengths as ASCII decimal byte counts), never the envelope's JSON, so no canonical form is needed and the
payload type cannot be swapped without breaking the signature.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from . import keys

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class EnvelopeError(ValueError):
    """The envelope's JSON is not a DSSE envelope (the message says which field)."""


def pae(payload_type: str, body: bytes) -> bytes:
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def sign(body: bytes, private_key: Any, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> dict[str, Any]:
    signature = keys.sign(private_key, pae(payload_type, body))
    return {
        "payload": base64.b64encode(body).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [{"keyid": keys.keyid(private_key.public_key()),
                        "sig": base64.b64encode(signature).decode("ascii")}],
    }


def _b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"{field} is not a base64 string")
    try:  # the spec allows standard or URL-safe base64
        return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{field} is not valid base64 ({exc})") from exc


def parse(envelope: Any) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """(payloadType, body, [(keyid, signature)]) of an envelope, checking its required fields."""
    if not isinstance(envelope, Mapping):
        raise EnvelopeError("the envelope is not a JSON object")
    for field in ("payload", "payloadType", "signatures"):
        if field not in envelope:
            raise EnvelopeError(f"the envelope has no {field}")
    payload_type = envelope["payloadType"]
    if not isinstance(payload_type, str):
        raise EnvelopeError("payloadType is not a string")
    signatures = envelope["signatures"]
    if not isinstance(signatures, list):
        raise EnvelopeError("signatures is not a list")
    parsed = []
    for i, entry in enumerate(signatures):
        if not isinstance(entry, Mapping) or "sig" not in entry:
            raise EnvelopeError(f"signatures[{i}] has no sig")
        parsed.append((str(entry.get("keyid") or ""), _b64(entry["sig"], f"signatures[{i}].sig")))
    return payload_type, _b64(envelope["payload"], "payload"), parsed


def verify(envelope: Mapping[str, Any], public_key: Any) -> bool:
    """True when one of the envelope's signatures verifies with ``public_key`` over the PAE."""
    payload_type, body, signatures = parse(envelope)
    message = pae(payload_type, body)
    return any(keys.verify(public_key, sig, message) for _, sig in signatures)
