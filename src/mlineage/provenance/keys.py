"""Signing keys as PEM files: Ed25519 or ECDSA P-256, private keys optionally encrypted with a password.

Keys are plain PKCS#8 / SubjectPublicKeyInfo PEM, so openssl and other tools read them; the key id written
into envelopes is the SHA-256 of the public key's DER form (a hint for choosing a key, never trusted).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ValidationError

KeyType = Literal["ed25519", "ecdsa-p256"]
KEY_TYPES: tuple[KeyType, ...] = ("ed25519", "ecdsa-p256")


@dataclass(frozen=True)
class KeyPair:
    """Where ``generate`` wrote a key pair, and the public key's id."""

    private: Path
    public: Path
    key_type: KeyType
    keyid: str


def _new_private(key_type: KeyType) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValidationError("type", f"{key_type!r} is not a key type", f"use one of: {', '.join(KEY_TYPES)}")


def keyid(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))


def generate(out_dir: Path, key_type: KeyType = "ed25519", password: str | None = None,
             name: str | None = None) -> KeyPair:
    """Write ``<name>.key`` (private, mode 0600, encrypted when a password is given) and ``<name>.pub``."""
    from cryptography.hazmat.primitives import serialization

    key = _new_private(key_type)
    stem = name or f"mlineage-{key_type}"
    out_dir.mkdir(parents=True, exist_ok=True)
    private, public = out_dir / f"{stem}.key", out_dir / f"{stem}.pub"
    for path in (private, public):
        if path.exists():
            raise ValidationError("out", f"{path} exists", "choose another --out folder or --name")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public.write_bytes(public_pem(key.public_key()))
    return KeyPair(private, public, key_type, keyid(key.public_key()))


def key_type_of(key: Any) -> KeyType:
    """The supported type of a loaded key (private or public); anything else is refused."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    elliptic = isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
    curve = key.curve.name if elliptic else None
    if curve == "secp256r1":
        return "ecdsa-p256"
    raise ValidationError("key", f"a {type(key).__name__.lstrip('_')} is not supported",
                          "use an Ed25519 or ECDSA P-256 key (`mlineage keys generate`)")


def load_private(path: Path, password: str | None = None) -> Any:
    """A private key from a PEM file; a wrong or missing password is named as such."""
    from cryptography.hazmat.primitives import serialization

    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except TypeError as exc:  # cryptography: password given for a plain key, or none for an encrypted one
        if password:
            raise ValidationError(str(path), "is not encrypted, but a password was given",
                                  "drop --password") from exc
        raise ValidationError(str(path), "is encrypted", "pass its password (--password)") from exc
    except ValueError as exc:
        problem = "the password is wrong, or the file is not a PEM private key" if password else \
            "is not a PEM private key"
        raise ValidationError(str(path), problem) from exc
    key_type_of(key)
    return key


# The DER SubjectPublicKeyInfo of the two supported key types is a fixed prefix and the raw key.
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")  # then the 32-byte key
_P256_SPKI = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")  # then the 65-byte point


def _public_from_spki(data: bytes) -> Any | None:
    """The key of a PEM ``PUBLIC KEY`` holding an Ed25519 or uncompressed P-256 key, built from its raw
    bytes; None for anything else. ``verify-attestation`` runs this on every call, and it spares loading
    cryptography's serialization package (and its SSH, PKCS#7 and PKCS#12 modules) for a key it would
    parse to the same object."""
    import base64
    import binascii

    text = data.strip()
    head, tail = b"-----BEGIN PUBLIC KEY-----", b"-----END PUBLIC KEY-----"
    if not (text.startswith(head) and text.endswith(tail)):
        return None
    try:
        der = base64.b64decode(b"".join(text[len(head):-len(tail)].split()), validate=True)
    except binascii.Error:
        return None
    if len(der) == len(_ED25519_SPKI) + 32 and der.startswith(_ED25519_SPKI):
        from cryptography.hazmat.primitives.asymmetric import ed25519

        return ed25519.Ed25519PublicKey.from_public_bytes(der[len(_ED25519_SPKI):])
    if len(der) == len(_P256_SPKI) + 65 and der.startswith(_P256_SPKI):
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), der[len(_P256_SPKI):])
        except ValueError:
            return None  # not a point on the curve: the general parser says so
    return None


def load_public(path: Path) -> Any:
    """A public key from a PEM file (a private key file is accepted too: its public half is used)."""
    data = _read(path)
    quick = _public_from_spki(data)
    if quick is not None:
        return quick
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, None).public_key()
        except (TypeError, ValueError) as exc:
            raise ValidationError(str(path), "is not a PEM public key") from exc
    key_type_of(key)
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(str(path), f"cannot be read ({exc.strerror})") from exc


def sign(key: Any, message: bytes) -> bytes:
    """An Ed25519 signature, or an ECDSA P-256 / SHA-256 signature in DER form (what DSSE tools expect)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if key_type_of(key) == "ed25519":
        return bytes(key.sign(message))
    return bytes(key.sign(message, ec.ECDSA(hashes.SHA256())))


def verify(public_key: Any, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        if key_type_of(public_key) == "ed25519":
            public_key.verify(signature, message)
        else:
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
