"""The server's checkpoint log: ledger heads signed with an Ed25519 key whose public half the server
publishes.

A team server's ledger lives in a database its operators (and anyone who breaks in) can rewrite; the chain
shows an edit, but not a dropped tail or a ledger replaced wholesale. So, as Certificate Transparency logs
sign tree heads, the server signs (seq, hash, time) of its head at regular intervals and whenever a client
asks for the latest checkpoint. A client or auditor keeps a signed checkpoint anywhere it likes; later,
``/verify`` (or anyone holding the ledger) shows whether the ledger still holds it, and the signature shows
the server really vouched for it.

The private key is a PEM file given with ``--checkpoint-key`` (``MLINEAGE_SERVER_CHECKPOINT_KEY``), created
when missing. Without one the server keeps a generated key in its own database, which is simpler to run but
weaker: whoever can rewrite the database can then also re-sign. Signing happens off the append path.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..checkpoints import Checkpoint, signed_message
from ..events import utc_now
from ..stores.schema import server_checkpoints, server_state

_KEY_STATE = "checkpoint_signing_key"


def _load_pem(data: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        from ..errors import ConfigError

        raise ConfigError("the checkpoint key is not an Ed25519 private key: generate one with "
                          "`openssl genpkey -algorithm ed25519`, or let the server create it")
    return key


def _new_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


class CheckpointLog:
    def __init__(self, engine: Engine, key_file: Path | None = None) -> None:
        self.engine = engine
        self._key = _load_pem(self._key_pem(key_file))
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode("ascii")
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        self._lock = threading.Lock()

    def _key_pem(self, key_file: Path | None) -> bytes:
        if key_file is not None:
            if not key_file.exists():
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(_new_pem())
            return key_file.read_bytes()
        with self.engine.connect() as conn, conn.begin():  # several workers may start at once: first one wins
            found = conn.execute(
                select(server_state.c.value).where(server_state.c.key == _KEY_STATE)
            ).scalar()
            if found is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(server_state).values(key=_KEY_STATE, value=_new_pem().decode()))
                except IntegrityError:
                    pass
                found = conn.execute(
                    select(server_state.c.value).where(server_state.c.key == _KEY_STATE)
                ).scalar()
        return str(found).encode()

    def key_document(self) -> dict[str, Any]:
        return {"algorithm": "Ed25519", "public_key": self.public_key, "key_id": self.key_id,
                "signs": "b'mlineage-checkpoint-v1\\n' + RFC 8785 JSON of {hash, seq, time}"}

    def sign(self, seq: int, hash_: str) -> dict[str, Any]:
        """Log a signed checkpoint of this head, unless the newest one already is of it; returns the
        newest."""
        with self._lock:
            latest = self.latest()
            if latest is not None and latest["seq"] >= seq:
                return latest
            time = utc_now()
            signature = base64.b64encode(self._key.sign(signed_message(seq, hash_, time))).decode("ascii")
            row = {"seq": seq, "hash": hash_, "time": time, "key_id": self.key_id, "signature": signature}
            try:
                with self.engine.connect() as conn, conn.begin():
                    conn.execute(insert(server_checkpoints).values(**row))
            except IntegrityError:  # another worker logged this seq first: theirs stands
                return self.latest() or row
            return row

    def latest(self) -> dict[str, Any] | None:
        entries = self.entries(limit=1, newest_first=True)
        return entries[0] if entries else None

    def latest_checkpoint(self) -> Checkpoint | None:
        entry = self.latest()
        return None if entry is None else Checkpoint(entry["seq"], entry["hash"], entry["time"])

    def entries(
        self, after_seq: int = 0, limit: int = 100, newest_first: bool = False
    ) -> list[dict[str, Any]]:
        order = server_checkpoints.c.seq.desc() if newest_first else server_checkpoints.c.seq
        query = (
            select(server_checkpoints)
            .where(server_checkpoints.c.seq > after_seq)
            .order_by(order)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


class Signer:
    """A daemon thread that signs the head every ``interval`` seconds when it moved (off the append path)."""

    def __init__(self, log: CheckpointLog, head: Any, interval: float) -> None:
        self._log, self._head, self._interval = log, head, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mlineage-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        import logging

        while not self._stop.wait(self._interval):
            try:
                seq, hash_ = self._head()
                if seq > 0:
                    self._log.sign(seq, hash_)
            except Exception:
                logging.getLogger("mlineage.server").exception("signing a checkpoint failed")
