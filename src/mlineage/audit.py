"""Audits that go beyond the hash chain: a rebuild that refuses a broken ledger, and (``verify --projections``)
a comparison of the live projection tables with a fresh replay of the ledger.

A rebuild trusts every event it replays: run over a ledger whose payload was altered it would copy the forgery
into the tables a user reads, and report success. So it verifies the chain first and refuses when it is broken;
``allow_broken`` replays only the events before the first bad one, and says where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import IntegrityError


@dataclass(frozen=True, slots=True)
class RebuildOutcome:
    replayed: int
    stopped_at: int | None = None  # the first bad event, when allow_broken stopped before it
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"replayed": self.replayed, "stopped_at": self.stopped_at, "problem": self.problem}


def rebuild(store: Any, *, allow_broken: bool = False) -> RebuildOutcome:
    """Verify the ledger, then rebuild the projections from it (see the module docstring)."""
    if not hasattr(store, "engine"):  # a server: it verifies its own ledger before it rebuilds
        return RebuildOutcome(store.rebuild())
    report = store.verify()
    if report.ok:
        return RebuildOutcome(store.rebuild())
    bad = report.first_bad_seq or report.head_seq + 1
    where = f"event {bad}" + (f" (id {report.first_bad_id})" if report.first_bad_id else "")
    if not allow_broken:
        raise IntegrityError(
            f"rebuild refused: the ledger does not verify at {where}: {report.problem}. Replaying it would copy "
            f"the damage into the projections; restore the database from a backup, or run `mlineage rebuild "
            f"--allow-broken` to rebuild from the {bad - 1} event(s) before it")
    return RebuildOutcome(store.rebuild(upto_seq=bad - 1), bad, report.problem)
