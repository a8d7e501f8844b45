"""The hash chain: canonical JSON, event hashes, and verification (pure: no I/O).

``hash = sha256(prev_hash || canonical(envelope))`` where the envelope commits to the SHA-256 of the
canonical *payload*, not to the payload bytes. A payload that must later be erased (personal data, a leaked
secret) can therefore be removed without breaking the chain: its digest stays, and verify still passes.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .catalogue import SPECS
from .erasure import PAYLOAD_ERASED, ErasureLedger
from .events import NewEvent, StoredEvent
from .metrics_json import metrics_payload_json  # noqa: F401  (re-exported: the SDK's fast path)

GENESIS_HASH = "0" * 64


class _NeedsFullCanonicaliser(Exception):
    """The value has a float or key the fast path cannot render exactly as RFC 8785 does."""


def _jcs_ready(value: Any) -> Any:
    """A copy that the C json encoder renders byte-for-byte as RFC 8785 would, or raise.

    The two agree on strings (same escapes), ints, bools and null. They differ on floats -- JCS writes 1.0
    as ``1``, pads big floats with zeros, and switches to exponents at other thresholds -- and on key order
    for characters outside the BMP (JCS sorts by UTF-16 code units). Integral floats below 2**53 become ints
    (identical text); other floats are kept only where ``repr`` and ECMAScript agree (1e-4 <= |x| < 1e16);
    anything else takes the full path.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:  # the common leaves first: exact type checks are cheap
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(map(ord, key)) > 0xFFFF):
                raise _NeedsFullCanonicaliser
            leaf = type(
                item
            )  # the usual leaves inline (a metrics event has thousands): as the branches below
            if leaf is str or (leaf is float and 1e-4 <= abs(item) < 1e16 and not item.is_integer()):
                out[key] = item
            else:
                out[key] = _jcs_ready(item)
        return out
    if kind is list:
        out_list = []
        for item in value:  # the usual leaves inline, as for a dict's values (a trace's retrieved rows)
            leaf = type(item)
            if (
                leaf is str
                or item is None
                or leaf is bool
                or (leaf is float and 1e-4 <= abs(item) < 1e16 and not item.is_integer())
            ):
                out_list.append(item)
            else:
                out_list.append(_jcs_ready(item))
        return out_list
    if kind is float:
        if value.is_integer():
            if abs(value) < 2.0**53:
                return int(value)
        elif 1e-4 <= abs(value) < 1e16:
            return value
        raise _NeedsFullCanonicaliser
    if kind is int:
        if abs(value) >= 2**53:
            raise _NeedsFullCanonicaliser  # outside JSON's exact integers: let the reference raise its error
        return value
    raise _NeedsFullCanonicaliser  # subclasses, tuples, anything unusual: the reference decides


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical form: the byte string every hash in the ledger is taken over.

    Hashing happens two or three times per event, so the common case goes through the C json encoder (much
    faster than the pure-Python ``rfc8785`` package); a property test checks the two agree byte for byte.
    """
    return canonical_json_and_value(value)[0]


def canonical_json_and_value(value: Any) -> tuple[bytes, Any]:
    """The canonical bytes and the plain JSON value they parse back to (``json.loads`` of the bytes).

    On the fast path that value is the copy ``_jcs_ready`` made anyway (same types, integral floats already
    ints), so the writer gets it without parsing its own output again."""
    try:
        ready = _jcs_ready(value)
        text = json.dumps(ready, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8"), ready
    except (_NeedsFullCanonicaliser, UnicodeEncodeError, ValueError, TypeError):
        import rfc8785  # the reference, for values the fast path declines (rare): not loaded on start-up

        canonical = rfc8785.dumps(value)
        return canonical, json.loads(canonical)


_ENVELOPE = '{"actor":%s,"id":%s,"payload_sha256":%s,"seq":%d,"ts":%s,"type":%s,"v":%d}'
_dump_string = (
    json.encoder.encode_basestring
)  # (C) what json.dumps(ensure_ascii=False) does to a str: JCS's escaping


def envelope_json(
    seq: int, event_id: str, type_: str, v: int, ts: str, actor: str | None, psha: str
) -> bytes:
    """``canonical_json(envelope(...))``, formatted directly: the envelope's keys are fixed and its values
    plain strings and ints, so it needs no general canonicaliser (a property test checks it against RFC
    8785)."""
    if (
        type(seq) is int
        and type(v) is int
        and abs(seq) < 2**53
        and abs(v) < 2**53
        and all(type(x) is str for x in (event_id, type_, ts, psha))
        and (actor is None or type(actor) is str)
    ):
        text = _ENVELOPE % ("null" if actor is None else _dump_string(actor), _dump_string(event_id),
                            _dump_string(psha), seq, _dump_string(ts), _dump_string(type_), v)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the reference decides (and refuses it)
    return canonical_json(envelope(seq, event_id, type_, v, ts, actor, psha))


def payload_digest(canonical_payload: bytes) -> str:
    return hashlib.sha256(canonical_payload).hexdigest()


def envelope(
    seq: int, event_id: str, type_: str, v: int, ts: str, actor: str | None, psha: str
) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": event_id,
        "type": type_,
        "v": v,
        "ts": ts,
        "actor": actor,
        "payload_sha256": psha,
    }


def chain_hash(prev_hash: str, envelope_: dict[str, Any] | bytes) -> str:
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(envelope_ if isinstance(envelope_, bytes) else canonical_json(envelope_))
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """An event with its place in the chain, ready to insert; payload_json is its canonical text."""

    event: StoredEvent
    payload_json: str


def seal(events: Sequence[NewEvent], head_seq: int, head_hash: str) -> list[SealedEvent]:
    """Number and chain a batch after the current head. The payload is round-tripped through its
    canonical text so that what projections see now is exactly what a rebuild will read back."""
    sealed = []
    prev = head_hash
    for offset, ev in enumerate(events, start=1):
        seq = head_seq + offset
        spec = SPECS.get(ev.type)
        canonical = spec.canonical(ev.payload) if spec is not None and spec.canonical is not None else None
        if canonical is not None:
            value = ev.payload
        else:
            canonical, value = canonical_json_and_value(ev.payload)
        psha = payload_digest(canonical)
        digest = chain_hash(prev, envelope_json(seq, ev.id, ev.type, ev.v, ev.ts, ev.actor, psha))
        stored = StoredEvent(seq, ev.id, ev.type, ev.v, ev.ts, ev.actor, value, psha, prev, digest)
        sealed.append(SealedEvent(stored, canonical.decode("utf-8")))
        prev = digest
    return sealed


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    problem: str | None = None
    redacted: int = 0
    checkpoint: dict[str, Any] | None = None  # the newest checkpoint the ledger was compared with
    erased: list[dict[str, Any]] | None = None  # each authorised erasure: which event, when, by whom, why

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "ok": self.ok,
            "count": self.count,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "redacted": self.redacted,
            "erased": self.erased or [],
        }


def verify_chain(
    events: Iterable[tuple[StoredEvent, str | None]], recorded_head: tuple[int, str] | None = None
) -> VerifyReport:
    """Walk events in seq order with their stored payload text and report the first inconsistency.

    Checks, per event: seq is contiguous, prev_hash is the previous event's hash, the payload text hashes to
    payload_sha256 (unless the payload was erased), and the event hash recomputes. ``recorded_head`` catches a
    truncated tail: deleting the newest events leaves a self-consistent chain that is shorter than the head.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    before_prev = None  # the hash before ``prev``: an event that links to it skipped an inserted one
    prev_id: str | None = None
    count = 0
    redacted = 0
    last_seq = 0
    erasures = ErasureLedger()
    past_head: StoredEvent | None = None  # the first event after the recorded head, if the chain goes on

    def bad(ev: StoredEvent | None, problem: str, seq: int) -> VerifyReport:
        return VerifyReport(False, count, last_seq, prev, seq, ev.id if ev else None, problem, redacted)

    for ev, payload_text in events:
        if ev.seq != expected_seq:
            if type(ev.seq) is int and ev.seq > expected_seq:
                gap = (f"event {expected_seq} is" if ev.seq == expected_seq + 1
                       else f"events {expected_seq} to {ev.seq - 1} are")
                problem = (f"event seq {ev.seq} follows seq {expected_seq - 1}: {gap} missing "
                           "(deleted from the ledger)")
            else:
                problem = (
                    f"event seq {ev.seq!r} follows seq {expected_seq - 1}, where {expected_seq} belongs: "
                    "events are out of order or renumbered (an event was inserted or moved)"
                )
            return bad(ev, problem, expected_seq)
        if ev.prev_hash != prev:
            if before_prev is not None and ev.prev_hash == before_prev:
                return VerifyReport(
                    False, count - 1, last_seq - 1, before_prev, ev.seq - 1, prev_id,
                    f"event {ev.seq - 1} was inserted: event {ev.seq} links to event {ev.seq - 2}, not to it "
                    "(an event added into the middle of the ledger and the rest renumbered)", redacted)
            return bad(
                ev,
                f"event {ev.seq}'s prev_hash is not event {ev.seq - 1}'s hash: the chain is broken "
                f"between them (one of the two was replaced, or events around them deleted or moved)",
                ev.seq,
            )
        if payload_text is None:
            redacted += 1
            erasures.saw(ev.seq, ev.id, ev.type, ev.payload_sha256, None)
        elif payload_digest(payload_text.encode("utf-8")) != ev.payload_sha256:
            return bad(
                ev,
                f"event {ev.seq}'s payload does not match the SHA-256 recorded when it was written "
                "(payload altered)",
                ev.seq,
            )
        recomputed = chain_hash(
            prev, envelope_json(ev.seq, ev.id, ev.type, ev.v, ev.ts, ev.actor, ev.payload_sha256)
        )
        if recomputed != ev.hash:
            return bad(
                ev,
                f"event {ev.seq}'s hash does not recompute from its fields: its id, type, version, time, "
                "actor or payload digest was altered (envelope altered)",
                ev.seq,
            )
        if ev.type == PAYLOAD_ERASED and payload_text is not None:
            erasures.saw(ev.seq, ev.id, ev.type, ev.payload_sha256, payload_text, ev.actor, ev.ts)
        if recorded_head is not None and ev.seq == recorded_head[0] + 1:
            past_head = ev
        before_prev, prev, prev_id = prev, ev.hash, ev.id
        last_seq = ev.seq
        count += 1
        expected_seq += 1
    if recorded_head is not None:
        head_seq, head_hash = recorded_head
        if last_seq > head_seq:
            return VerifyReport(
                False,
                count,
                last_seq,
                prev,
                head_seq + 1,
                past_head.id if past_head else None,
                f"the chain goes on past the ledger head (seq {head_seq}) to seq {last_seq}: event(s) "
                f"{head_seq + 1} "
                f"to {last_seq} were added behind mlineage's back (the head moves with every real append)",
                redacted,
            )
        if last_seq < head_seq:
            return VerifyReport(
                False, count, last_seq, prev, last_seq + 1, None,
                f"the ledger head records seq {head_seq} but the chain ends at seq {last_seq}: event(s) "
                f"{last_seq + 1} to {head_seq} were deleted (events removed)", redacted)
        if head_hash != prev:
            return VerifyReport(
                False,
                count,
                last_seq,
                prev,
                last_seq,
                prev_id,
                f"the ledger head records hash {head_hash} for seq {head_seq}, but event {last_seq}'s hash "
                f"is {prev}: "
                "the head row or the newest event was rewritten",
                redacted,
            )
    unauthorised = erasures.first_unauthorised()
    if unauthorised is not None:
        seq, event_id = unauthorised
        return VerifyReport(
            False,
            count,
            last_seq,
            prev,
            seq,
            event_id,
            f"event {seq} has no payload, and no PayloadErased event names it: the payload was removed "
            "without "
            "an authorised erasure (its data is lost to the ledger; restore the database from a backup)",
            redacted,
        )
    return VerifyReport(True, count, last_seq, prev, redacted=redacted, erased=erasures.erased())
