"""Namespaces: which artifacts and runs a team's token can see.

The ledger stays one hash chain per database. The server tags every event it appends with the writer's
namespace in the (hash-chained) ``actor`` field, ``"<client actor> via <token> [ns:<namespace>]"``, and the
namespace projection (``stores/projections/namespaces.py``) indexes each created key under that namespace in
the same transaction, so the index is always current and ``rebuild`` reproduces it. Events appended without
a tag (straight into the database by a local CLI) belong to ``default``.

``NamespacedStore`` wraps the metadata store and hides whatever the namespace cannot see; the Client and the
lineage walk run on top of it unchanged, so a trace simply stops at another team's nodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, and_, select, text

from ..catalogue import SPECS
from ..errors import NotFoundError
from ..events import NewEvent, StoredEvent
from ..ledger import VerifyReport
from ..model import Artifact, NamedVersion, NodeRef, Run
from ..stores.projections.namespaces import maintain, namespace_of
from ..stores.protocol import AdjacentEdge, Direction, MetadataStore
from ..stores.schema import nodes, occurrences, server_namespace_objects
from .auth import ForbiddenError, Principal

__all__ = ["NamespaceIndex", "NamespacedStore", "namespace_of", "tag_actor"]

_OCCURRENCE_KEY = re.compile(r"^sha256:[0-9a-f]{64}#[0-9]+$")  # a later occurrence's node key


def tag_actor(actor: str | None, principal: Principal) -> str:
    return f"{actor or 'unknown'} via {principal.name} [ns:{principal.write_namespace}]"


class NamespaceIndex:
    """Reads the namespace projection: what a namespace may see, and whether a batch may be written."""

    def __init__(self, engine: Engine) -> None:
        """Opening the index turns it on for this database (built from the ledger the first time; see
        ``stores/projections/namespaces.py``): a store written locally gets a complete index when a server
        first reads it."""
        self.engine = engine
        self.dialect = engine.dialect.name
        maintain(engine)

    # ------------------------------------------------------------ visibility

    def visible_keys(self, namespace: str, keys: Sequence[str]) -> set[str]:
        """The keys among ``keys`` the namespace may see (a later occurrence's node key, ``<digest>#<n>``,
        follows its digest)."""
        base = {k: k.partition("#")[0] if _OCCURRENCE_KEY.match(k) else k for k in keys}
        found: set[str] = set()
        wanted = sorted(set(base.values()))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 400):
                chunk = wanted[start:start + 400]
                found.update(conn.execute(
                    select(server_namespace_objects.c.key).where(and_(
                        server_namespace_objects.c.namespace == namespace,
                        server_namespace_objects.c.key.in_(chunk)))
                ).scalars())
        return {k for k, b in base.items() if b in found}

    def visible_nodes(self, namespace: str, node_ids: Sequence[int]) -> set[int]:
        """The nodes among ``node_ids`` whose key the namespace may see; a digest's later occurrences (keyed
        ``<digest>#<n>``) follow the digest."""
        out: set[int] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(node_ids), 400):
                chunk = list(node_ids[start:start + 400])
                seen = {
                    int(v)
                    for v in conn.execute(
                        select(nodes.c.id)
                        .join(server_namespace_objects, server_namespace_objects.c.key == nodes.c.key)
                        .where(and_(server_namespace_objects.c.namespace == namespace, nodes.c.id.in_(chunk)))
                    ).scalars()
                }
                out.update(seen)
                if len(seen) < len(set(chunk)):
                    out.update(
                        int(v)
                        for v in conn.execute(
                            select(occurrences.c.node_id)
                            .join(server_namespace_objects,
                                  server_namespace_objects.c.key == occurrences.c.digest)
                            .where(and_(server_namespace_objects.c.namespace == namespace,
                                        occurrences.c.node_id.in_(chunk)))
                        ).scalars()
                    )
        return out

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(server_namespace_objects.c.key)
                                    .where(server_namespace_objects.c.key.in_(list(keys)))).scalars())

    def check_writes(self, batch: Sequence[NewEvent], principal: Principal) -> None:
        """Refuse a batch that links to keys outside the writer's namespace (HTTP 403). What each event
        creates and references comes from its spec (``catalogue.py``)."""
        if principal.sees_all:
            return
        created: set[str] = set()
        referenced: dict[str, str] = {}
        for e in batch:
            spec = SPECS.get(e.type)
            if spec is None:
                continue
            created.update(spec.creates(e.payload))
            for what, key in spec.references(e.payload):
                referenced.setdefault(key, what)
        wanted = sorted(set(referenced) - created)
        if not wanted:
            return
        missing = set(wanted) - self.visible_keys(principal.namespace, wanted)
        foreign = self.existing_keys(sorted(missing)) if missing else set()
        if foreign:
            key = min(foreign)
            raise ForbiddenError(
                f"{referenced[key]} {key} is outside namespace {principal.namespace!r}: "
                "record it in your namespace first, or use a token for its namespace"
            )


class NamespacedStore:
    """A read view of a MetadataStore restricted to one namespace (writes go through the server)."""

    def __init__(self, inner: MetadataStore, index: NamespaceIndex, namespace: str) -> None:
        self.inner = inner
        self.index = index
        self.namespace = namespace
        self.uri = inner.uri
        self.capabilities = replace(inner.capabilities, read_ledger=False, writable=False)

    def _art_ok(self, a: Artifact | None) -> Artifact | None:
        if a is None or not self.index.visible_keys(self.namespace, [str(a.digest)]):
            return None
        return a

    def _run_ok(self, r: Run | None) -> Run | None:
        if r is None or not self.index.visible_keys(self.namespace, [r.id]):
            return None
        return r

    def _filter_arts(self, items: list[Artifact]) -> list[Artifact]:
        ok = self.index.visible_keys(self.namespace, [str(a.digest) for a in items])
        return [a for a in items if str(a.digest) in ok]

    def _filter_runs(self, items: list[Run]) -> list[Run]:
        ok = self.index.visible_keys(self.namespace, [r.id for r in items])
        return [r for r in items if r.id in ok]

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        raise ForbiddenError("writes go through the server's append endpoint")

    def head(self) -> tuple[int, str]:
        return self.inner.head()

    def iter_events(self, after_seq: int = 0, batch: int = 5000) -> Iterator[StoredEvent]:
        raise ForbiddenError("reading the raw ledger needs a token for all namespaces ('*')")

    def verify(self) -> VerifyReport:
        return self.inner.verify()

    def rebuild(self, upto_seq: int | None = None) -> int:
        raise ForbiddenError("rebuild needs an admin token for all namespaces")

    def get_artifact(self, digest: str) -> Artifact | None:
        return self._art_ok(self.inner.get_artifact(digest))

    def has_children(self, digest: str) -> bool:
        return self.inner.has_children(digest)  # a yes/no about edges in any namespace: what a cycle needs

    def get_run(self, run_id: str) -> Run | None:
        return self._run_ok(self.inner.get_run(run_id))

    def find_artifacts(self, digest_prefix: str, limit: int = 50) -> list[Artifact]:
        return self._filter_arts(self.inner.find_artifacts(digest_prefix, limit=max(limit, 1) * 20))[:limit]

    def find_runs(self, id_prefix: str, limit: int = 50) -> list[Run]:
        return self._filter_runs(self.inner.find_runs(id_prefix, limit=max(limit, 1) * 20))[:limit]

    def find_names(self, prefix: str, limit: int = 50) -> list[str]:
        """The names whose newest version this namespace can see."""
        names = self.inner.find_names(prefix, limit=max(limit, 1) * 20)
        return [n for n in names if self.get_version(n) is not None][:limit]

    def get_version(self, name: str, version: int | None = None) -> Artifact | None:
        return self._art_ok(self.inner.get_version(name, version))

    def list_runs(self, limit: int = 50, job: str | None = None, status: str | None = None) -> list[Run]:
        return self._filter_runs(self.inner.list_runs(limit=max(limit, 1) * 20, job=job, status=status))[
            :limit
        ]

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, str]]:
        if self.get_run(run_id) is None:
            raise NotFoundError(f"run {run_id} is not recorded")
        return self.inner.metric_history(run_id, key)

    def io_of_run(self, run_id: str) -> tuple[list[tuple[Artifact, str]], list[tuple[Artifact, str]]]:
        if self.get_run(run_id) is None:
            return [], []
        inputs, outputs = self.inner.io_of_run(run_id)
        ok = self.index.visible_keys(self.namespace, [str(a.digest) for a, _ in inputs + outputs])
        return [x for x in inputs if str(x[0].digest) in ok], [x for x in outputs if str(x[0].digest) in ok]

    def producers_of(self, digest: str) -> list[Run]:
        if self.get_artifact(digest) is None:
            return []
        return self._filter_runs(self.inner.producers_of(digest))

    def consumers_of(self, digest: str) -> list[Run]:
        if self.get_artifact(digest) is None:
            return []
        return self._filter_runs(self.inner.consumers_of(digest))

    def last_seen(self, run_id: str) -> str | None:
        return self.inner.last_seen(run_id) if self.get_run(run_id) is not None else None

    def list_versions(self, name: str) -> list[NamedVersion]:
        return [v for v in self.inner.list_versions(name) if self._art_ok(v.artifact) is not None]

    def counts(self) -> dict[str, int]:
        with self.index.engine.connect() as conn:
            total = conn.execute(text(
                "SELECT COUNT(*) FROM server_namespace_objects WHERE namespace = :ns"), {"ns": self.namespace}
            ).scalar_one()
        return {"objects": int(total)}

    def node_id(self, ref: NodeRef, *, newest: bool = False, as_of_seq: int | None = None) -> int | None:
        if not self.index.visible_keys(self.namespace, [ref.key]):
            return None
        return self.inner.node_id(ref, newest=newest, as_of_seq=as_of_seq)

    def adjacent(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                 ) -> list[AdjacentEdge]:
        found = self.inner.adjacent(node_ids, direction, as_of_seq)
        ok = self.index.visible_nodes(self.namespace, sorted({e.target for e in found}))
        return [e for e in found if e.target in ok]

    def describe(self, node_ids: Sequence[int]) -> dict[int, Artifact | Run]:
        ok = self.index.visible_nodes(self.namespace, list(node_ids))
        return self.inner.describe([n for n in node_ids if n in ok])

    # the graph engine's bulk access (see stores/protocol.py): filtered the same way

    def graph_columns(self, after_seq: int, upto_seq: int) -> Any:
        import dataclasses

        cols = self.inner.graph_columns(after_seq, upto_seq)
        touched = sorted(set(cols.node_ids) | set(cols.parent) | set(cols.child))
        ok = self.index.visible_nodes(self.namespace, touched)
        keep = [
            i for i, (p, c) in enumerate(zip(cols.parent, cols.child, strict=True)) if p in ok and c in ok
        ]
        nodes_keep = [i for i, n in enumerate(cols.node_ids) if n in ok]
        last = cols.last_node
        if last is not None and not self.index.visible_keys(self.namespace, [last[1]]):
            last = None  # the renumbering anchor must be a node this namespace may see
        return dataclasses.replace(
            cols, parent=[cols.parent[i] for i in keep], child=[cols.child[i] for i in keep],
            seq=[cols.seq[i] for i in keep], node_ids=[cols.node_ids[i] for i in nodes_keep],
            node_kinds=[cols.node_kinds[i] for i in nodes_keep], last_node=last)

    def graph_state(self, node_key: str | None) -> tuple[int, int | None]:
        visible = node_key is not None and bool(self.index.visible_keys(self.namespace, [node_key]))
        head, node = self.inner.graph_state(node_key if visible else None)
        return head, node if visible else None

    def edge_count_estimate(self) -> int:
        return self.inner.edge_count_estimate()

    def node_created_seq(self, node_id: int) -> int | None:
        if not self.index.visible_nodes(self.namespace, [node_id]):
            return None
        return self.inner.node_created_seq(node_id)

    def seq_at(self, ts: str) -> int:
        return self.inner.seq_at(ts)

    def reachable(self, node_id: int, direction: Direction, as_of_seq: int | None = None,
                  cap: int | None = None) -> list[int]:
        found = self.inner.reachable(node_id, direction, as_of_seq, cap)
        ok = self.index.visible_nodes(self.namespace, found)
        return [n for n in found if n in ok]

    def node_records(
        self, node_ids: Sequence[int], as_of_seq: int | None = None
    ) -> dict[int, Artifact | Run]:
        ok = self.index.visible_nodes(self.namespace, list(node_ids))
        return self.inner.node_records([n for n in node_ids if n in ok], as_of_seq)

    def edges_among(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                    ) -> list[tuple[int, int, str, str]]:
        ok = self.index.visible_nodes(self.namespace, list(node_ids))
        return self.inner.edges_among([n for n in node_ids if n in ok], direction, as_of_seq)

    def graph_head(self, node_key: str | None) -> tuple[int, int | None]:
        visible = node_key is not None and bool(self.index.visible_keys(self.namespace, [node_key]))
        head, node = self.inner.graph_head(node_key if visible else None)
        return head, node if visible else None

    def query_service(self) -> None:
        """Queries run here: the graph engine walks this view, so a trace stops at another team's nodes."""

    def close(self) -> None:
        pass
