"""Checkpoints: the ledger's head written where the user keeps it, so a vanished or truncated ledger is
noticed.

A hash chain proves that the events it holds were not altered, but not that it holds all of them: deleting the
newest events, or the whole database, leaves a shorter chain that verifies. As Certificate Transparency does
with signed tree heads, mlineage writes the head (seq, hash, time) outside the store: ``mlineage.checkpoint``
at the project root, a small JSON file meant to be committed to git, updated at the end of ``add`` and of each
run (never per event: the write path stays cheap). ``verify`` then checks that the ledger still holds the
checkpoint's event with the same hash, and no command opens (and so silently re-creates) a store that the
checkpoint says held events.

The file keys heads by store, so a project pointed at another store (``MLINEAGE_URI``) keeps both.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LedgerError
from .ledger import VerifyReport

ANCHOR_FILE = "mlineage.checkpoint"
_ABOUT = (
    "mlineage ledger checkpoints: commit this file. `mlineage verify` checks that the ledger still holds "
    "each head below; a store that lost its events is refused."
)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A ledger head at a moment: the event at ``seq`` had ``hash`` when it was written down at ``time``."""

    seq: int
    hash: str
    time: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "time": self.time}

    @classmethod
    def from_dict(cls, value: Any, where: str) -> Checkpoint:
        if (not isinstance(value, dict) or type(value.get("seq")) is not int or value["seq"] < 0
                or not isinstance(value.get("hash"), str) or not isinstance(value.get("time"), str)):
            raise LedgerError(f"{where} is not a checkpoint (want seq, hash and time): restore it from git "
                              "(`git checkout -- mlineage.checkpoint`) or delete it")
        return cls(value["seq"], value["hash"], value["time"])


def anchor_path(root: Path) -> Path:
    return root / ANCHOR_FILE


def store_key(store_uri: str, root: Path) -> str:
    """How the anchor names a store: a SQLite file inside the project by its path relative to the root (the
    same on every clone), anything else by its URI without a password."""
    from .config import sqlite_path

    path = sqlite_path(store_uri)
    if path is not None:
        try:
            return "sqlite:///" + Path(path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return store_uri
    if "@" in store_uri and "://" in store_uri:
        scheme, rest = store_uri.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return store_uri


def _read_all(root: Path) -> dict[str, Any]:
    path = anchor_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        raise LedgerError(f"{path} is not valid JSON: restore it from git (`git checkout -- {ANCHOR_FILE}`) "
                          "or delete it") from None
    if not isinstance(document, dict) or not isinstance(document.get("stores", {}), dict):
        raise LedgerError(f"{path} is not a checkpoint file: restore it from git or delete it")
    return document


def read(root: Path, key: str) -> Checkpoint | None:
    """The newest checkpoint recorded for the store named ``key`` (None when there is none)."""
    found = _read_all(root).get("stores", {}).get(key)
    return None if found is None else Checkpoint.from_dict(found, f"{anchor_path(root)} entry {key!r}")


def write(root: Path, key: str, checkpoint: Checkpoint) -> bool:
    """Record ``checkpoint`` for the store, replacing an older one; True when the file changed.

    The anchor never moves backwards: when it already holds a later head (another writer's, or one this store
    lost), it is kept and a warning says so. The file is replaced atomically (written aside, then renamed),
    so a crash leaves the old or the new content, never half of either. Two writers racing may leave the
    earlier of their two heads, which is still a head of the same chain."""
    document = _read_all(root)
    stores = document.setdefault("stores", {})
    current = stores.get(key)
    if current is not None:
        old = Checkpoint.from_dict(current, f"{anchor_path(root)} entry {key!r}")
        if old.seq == checkpoint.seq and old.hash == checkpoint.hash:
            return False
        if old.seq > checkpoint.seq:
            sys.stderr.write(
                f"warning: {ANCHOR_FILE} records seq {old.seq} for this store, later than its head "
                f"{checkpoint.seq}; kept as it is (run `mlineage verify`)\n"
            )
            return False
    stores[key] = checkpoint.to_dict()
    document["about"] = _ABOUT
    _replace_content(anchor_path(root), _format(document).encode("utf-8"))
    return True


def _format(document: dict[str, Any]) -> str:
    """One line per store, so a git diff shows which head moved (formatted by hand: ``json.dumps`` with
    ``indent`` takes the pure-Python encoder, and this runs at the end of every run)."""
    stores = document.get("stores", {})
    lines = [f"    {json.dumps(key)}: {json.dumps(stores[key], sort_keys=True)}" for key in sorted(stores)]
    others = [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}," for k, v in sorted(document.items())
              if k != "stores"]
    return "{\n" + "\n".join(others) + '\n  "stores": {\n' + ",\n".join(lines) + "\n  }\n}\n"


def _replace_content(path: Path, data: bytes) -> None:
    """Make the file hold ``data``, never half of it, cheaply: this runs at the end of every run.

    The first time, the file is written aside and renamed into place. After that it is overwritten in place by
    one ``pwrite`` at offset 0, padded with spaces to the old length (trailing whitespace is valid JSON), so
    there is no truncation to be killed half-way through; a rename over an existing file would cost a
    writeback of the data on ext4 (milliseconds) on every run."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        return
    try:
        old_size = os.fstat(fd).st_size
        if len(data) < old_size:
            data = data[:-1] + b" " * (old_size - len(data)) + b"\n"
        os.pwrite(fd, data, 0)
    finally:
        os.close(fd)


def refuse_missing_database(root: Path, key: str, database: str) -> None:
    """Raise when the SQLite file the anchor has a head for is gone or empty: opening it would create a new,
    empty ledger over the evidence, and every later command would build on that."""
    checkpoint = read(root, key)
    if checkpoint is None or checkpoint.seq == 0:
        return
    file = Path(database)
    state = "missing" if not file.exists() else "empty (0 bytes)" if file.stat().st_size == 0 else None
    if state is not None:
        raise LedgerError(lost_ledger_message(f"the ledger database {database} is {state}", checkpoint))


def refuse_emptied_store(root: Path, key: str, head_seq: int) -> None:
    """Raise when a store (PostgreSQL) has no events although the anchor records some."""
    checkpoint = read(root, key)
    if checkpoint is not None and checkpoint.seq > 0 and head_seq == 0:
        raise LedgerError(lost_ledger_message("the metadata store holds no events", checkpoint))


def lost_ledger_message(what: str, checkpoint: Checkpoint) -> str:
    return (
        f"{what}, but {ANCHOR_FILE} records its head at seq {checkpoint.seq} ({checkpoint.time}): restore "
        f"the database from a backup, or delete {ANCHOR_FILE} if you mean to start a new, empty ledger"
    )


def compare(checkpoint: Checkpoint, head_seq: int, hash_at_seq: str | None) -> str | None:
    """What is wrong with a ledger whose chain verified up to ``head_seq`` (with ``hash_at_seq`` the hash of
    its event at the checkpoint's seq, when it has one) against the checkpoint; None when it holds it."""
    if head_seq < checkpoint.seq:
        missing = checkpoint.seq - head_seq
        return (f"the ledger ends at seq {head_seq}, but the checkpoint of {checkpoint.time} records seq "
                f"{checkpoint.seq}: {missing} event(s) written up to then are missing (seq {head_seq + 1} to "
                f"{checkpoint.seq}); the database was truncated, replaced or restored from an older backup")
    if hash_at_seq != checkpoint.hash:
        return (f"event {checkpoint.seq} has hash {hash_at_seq}, but the checkpoint of {checkpoint.time} "
                f"recorded {checkpoint.hash}: the ledger was rewritten after that checkpoint")
    return None


class ProjectAnchor:
    """The anchor of one project's store, as a Client uses it: guard on open, write at the end of a run or an
    ``add``, compare in ``verify``."""

    def __init__(self, root: Path, store_uri: str) -> None:
        self.root = root
        self.key = store_key(store_uri, root)
        self.store_uri = store_uri

    def guard_before_open(self) -> None:
        from .config import sqlite_path

        database = sqlite_path(self.store_uri)
        if database is not None:
            refuse_missing_database(self.root, self.key, database)

    def guard_after_open(self, head_seq: int) -> None:
        refuse_emptied_store(self.root, self.key, head_seq)

    def record(self, seq: int, hash_: str) -> bool:
        """Write the head; a failure is a warning, not an error: the events it describes are already safe in
        the ledger, and a user's script must not fail after its run was recorded."""
        from .events import utc_now

        try:
            return write(self.root, self.key, Checkpoint(seq, hash_, utc_now()))
        except (OSError, LedgerError) as exc:
            sys.stderr.write(f"warning: the checkpoint was not written: {exc}\n")
            return False

    def latest(self) -> Checkpoint | None:
        return read(self.root, self.key)


def against_checkpoint(report: VerifyReport, checkpoint: Checkpoint | None, store: Any) -> VerifyReport:
    """``report`` (of a chain walk) with the checkpoint check added: a failure when the ledger no longer holds
    the checkpoint's head. A chain already broken stays reported as it was."""
    import dataclasses

    if checkpoint is None:
        return report
    report = dataclasses.replace(report, checkpoint=checkpoint.to_dict())
    if not report.ok or checkpoint.seq == 0:
        return report
    hash_at = None
    if report.head_seq >= checkpoint.seq:
        event = next(iter(store.iter_events(checkpoint.seq - 1, batch=1)), None)
        hash_at = event.hash if event is not None and event.seq == checkpoint.seq else None
    problem = compare(checkpoint, report.head_seq, hash_at)
    if problem is None:
        return report
    first_bad = min(report.head_seq + 1, checkpoint.seq)
    return dataclasses.replace(report, ok=False, first_bad_seq=first_bad, problem=problem)


# ---------------------------------------------------------------- signed checkpoints (the server's log)

SIGNATURE_DOMAIN = b"mlineage-checkpoint-v1\n"


def signed_message(seq: int, hash_: str, time: str) -> bytes:
    """The bytes a server's Ed25519 signature covers: a fixed prefix (so the key signs nothing else by
    accident), then the canonical JSON of the head."""
    from .ledger import canonical_json

    return SIGNATURE_DOMAIN + canonical_json({"hash": hash_, "seq": seq, "time": time})


def verify_signature(entry: dict[str, Any], public_key_b64: str) -> bool:
    """Whether a checkpoint from a server's log (seq, hash, time, signature: base64) was signed by the key
    the server publishes (``GET /api/v1/checkpoints/key``): what an auditor runs on a checkpoint it kept."""
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        key.verify(
            base64.b64decode(entry["signature"]), signed_message(entry["seq"], entry["hash"], entry["time"])
        )
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
