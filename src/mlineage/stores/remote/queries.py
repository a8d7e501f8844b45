"""Lineage queries against a server: the query object goes over the wire, the typed result comes back.

``POST /api/v1/query/{lineage,path,closure,lineage-diff}`` runs the very ``Client`` call a local user makes,
on the caller's namespace; the answer is rebuilt into the same result classes (``graph/wire.py``) and a
server-side ``CycleError``/``AmbiguousRefError``/``NotFoundError`` is raised here as that class.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...graph.query import LineageQuery, LineageResult, node_key
from ...model import Artifact, Run

if TYPE_CHECKING:
    from ...graph.closure import Closure
    from ...graph.diff import LineageDiff
    from ...graph.paths import PathResult
    from ...graph.service import AsOf, Ref
    from .http import RemoteStore


def wire_ref(ref: Ref) -> str:
    """A ref as the server can resolve it: a record by its key, the path of a local file by its digest."""
    if isinstance(ref, Artifact):
        return str(ref.digest)  # a query by content, whichever occurrence the record was
    if isinstance(ref, Run):
        return node_key(ref)
    if "@" not in ref and not ref.startswith(("sha256:", "run:")) and Path(ref).is_file():
        from ...hashing import hash_file

        return str(hash_file(Path(ref))[0])
    return ref


class RemoteQueryService:
    """``QueryService`` over HTTP (see the module docstring)."""

    def __init__(self, store: RemoteStore) -> None:
        self.store = store
        self.one_shot = False  # nothing to build here: the server keeps its snapshot warm

    def _post(self, what: str, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = self.store.request("POST", f"/query/{what}", json=body)
        return found

    def lineage(self, ref: Ref | LineageQuery, direction: str = "up", *, depth: int | None = None,
                limit: int | None = None, kinds: Sequence[str] | None = None, as_of: AsOf = None
                ) -> LineageResult:
        from ...graph.wire import lineage_from_wire

        if isinstance(ref, LineageQuery):
            body: dict[str, Any] = {"ref": str(ref.start), "direction": ref.direction, "depth": ref.max_depth,
                                    "limit": ref.limit, "as_of": ref.as_of_seq,
                                    "kinds": sorted(ref.kinds) if ref.kinds is not None else None}
        else:
            body = {"ref": wire_ref(ref), "direction": direction, "depth": depth, "limit": limit,
                    "as_of": as_of, "kinds": list(kinds) if kinds else None}
        return lineage_from_wire(self._post("lineage", body))

    def path(self, source: Ref, target: Ref, *, as_of: AsOf = None, max_paths: int = 20) -> PathResult:
        from ...graph.wire import path_from_wire

        return path_from_wire(self._post("path", {"source": wire_ref(source), "target": wire_ref(target),
                                                  "as_of": as_of, "max_paths": max_paths}))

    def closure(self, ref: Ref, *, as_of: AsOf = None) -> Closure:
        from ...graph.wire import closure_from_wire

        return closure_from_wire(self._post("closure", {"ref": wire_ref(ref), "as_of": as_of}))

    def lineage_diff(self, a: Ref, b: Ref, *, as_of: AsOf = None) -> LineageDiff:
        from ...graph.wire import diff_from_wire

        return diff_from_wire(
            self._post("lineage-diff", {"a": wire_ref(a), "b": wire_ref(b), "as_of": as_of})
        )
