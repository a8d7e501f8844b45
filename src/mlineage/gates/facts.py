"""What the gates read from the store beyond the core records: owners, licences, sources, recording actors,
earlier evaluations, and the artifacts a selector names.

``SqlFacts`` reads the ``gates`` projection's tables (and the events the artifacts were recorded by) from a
SQL store; ``RemoteFacts`` asks a team server's ``/api/v1/gates`` router, which answers with a ``SqlFacts``
of its own. The Client picks one (``Client.gate_facts``); the gates never know which.

On a server, a token of one namespace reads through a ``NamespacedStore`` (``server/namespaces.py``), and
``SqlFacts`` answers only what that namespace may see: facts keyed by a digest the namespace sees; an owner
of a bare name, and an evaluation, only when the namespace recorded it (names and evaluations are not keys of
the namespace index, so the event's own namespace tag decides).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..stores.protocol import MetadataStore

CHUNK = 500


class GateFacts(Protocol):
    def owners(self, targets: Sequence[str]) -> dict[str, str]: ...
    def licences(self, digests: Sequence[str]) -> dict[str, str]: ...
    def sources(self, digests: Sequence[str]) -> dict[str, str]: ...
    def actors(self, digests: Sequence[str]) -> dict[str, str | None]: ...
    def evaluations(self, digest: str) -> list[dict[str, Any]]: ...
    def select(self, name_glob: str | None, kind: str | None) -> list[str]: ...


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    unique = list(dict.fromkeys(items))
    for i in range(0, len(unique), CHUNK):
        yield unique[i : i + CHUNK]


class SqlFacts:
    """``GateFacts`` over a SQL store; over a server's namespaced view, what its namespace may see."""

    def __init__(self, store: MetadataStore) -> None:
        inner: Any = getattr(store, "inner", store)
        self.engine = inner.engine
        # a NamespacedStore carries the index and its namespace; any other store sees everything
        self.index: Any = getattr(store, "index", None) if inner is not store else None
        self.namespace: str | None = getattr(store, "namespace", None) if self.index is not None else None

    def _visible(self, digests: Iterable[str]) -> set[str] | None:
        """The digests among ``digests`` this view may see; None: all of them (no namespace)."""
        if self.index is None or self.namespace is None:
            return None
        return set(self.index.visible_keys(self.namespace, sorted(set(digests))))

    def _pairs(self, sql: str, keys: Sequence[str]) -> dict[str, Any]:
        from sqlalchemy import bindparam, text

        visible = self._visible(keys)
        if visible is not None:
            keys = [k for k in keys if k in visible]
        out: dict[str, Any] = {}
        statement = text(sql).bindparams(bindparam("keys", expanding=True))
        with self.engine.connect() as conn:
            for chunk in _chunks(keys):
                out.update({row[0]: row[1] for row in conn.execute(statement, {"keys": chunk})})
        return out

    def owners(self, targets: Sequence[str]) -> dict[str, str]:
        if self.namespace is None:
            return self._pairs("SELECT target, owner FROM artifact_owners WHERE target IN :keys", targets)
        from sqlalchemy import bindparam, text

        from ..stores.projections.namespaces import namespace_of

        digests = [t for t in targets if t.startswith("sha256:")]
        out = self._pairs("SELECT target, owner FROM artifact_owners WHERE target IN :keys", digests)
        names = [t for t in targets if not t.startswith("sha256:")]
        statement = text(
            "SELECT o.target, o.owner, e.actor FROM artifact_owners o JOIN events e ON e.seq = o.seq "
            "WHERE o.target IN :keys"
        ).bindparams(bindparam("keys", expanding=True))
        with self.engine.connect() as conn:
            for chunk in _chunks(names):
                out.update({
                    row[0]: row[1]
                    for row in conn.execute(statement, {"keys": chunk})
                    if namespace_of(row[2]) == self.namespace
                })
        return out

    def licences(self, digests: Sequence[str]) -> dict[str, str]:
        return self._pairs("SELECT digest, licence FROM artifact_licences WHERE digest IN :keys", digests)

    def sources(self, digests: Sequence[str]) -> dict[str, str]:
        return self._pairs("SELECT digest, source FROM artifact_sources WHERE digest IN :keys", digests)

    def actors(self, digests: Sequence[str]) -> dict[str, str | None]:
        """Who recorded each artifact (the actor of the event that first recorded it)."""
        return self._pairs(
            "SELECT a.digest, e.actor FROM artifacts a JOIN events e ON e.seq = a.created_seq "
            "WHERE a.digest IN :keys",
            digests,
        )

    def evaluations(self, digest: str) -> list[dict[str, Any]]:
        from sqlalchemy import text

        from ..stores.projections.namespaces import namespace_of

        if self._visible([digest]) == set():
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT seq, gate, label, verdict, action, policy_digest, checks, at, actor "
                    "FROM gate_evaluations "
                    "WHERE digest = :d ORDER BY seq"
                ),
                {"d": digest},
            ).all()
        return [
            {
                "seq": int(r[0]),
                "gate": r[1],
                "label": r[2],
                "verdict": r[3],
                "action": r[4],
                "policy_digest": r[5],
                "checks": json.loads(r[6]),
                "at": r[7],
                "actor": r[8],
            }
            for r in rows
            if self.namespace is None or namespace_of(r[8]) == self.namespace
        ]

    def licensed_nodes(self, as_of_seq: int | None = None) -> list[tuple[int, str, str]]:
        """(node id, digest, licence) of every artifact carrying a licence recorded by ``as_of_seq``: the
        propagation's input."""
        from sqlalchemy import text

        sql = "SELECT node_id, digest, licence FROM artifact_licences"
        params: dict[str, Any] = {}
        if as_of_seq is not None:
            sql += " WHERE seq <= :s"
            params["s"] = as_of_seq
        with self.engine.connect() as conn:
            found = [(int(r[0]), r[1], r[2]) for r in conn.execute(text(sql), params)]
        visible = self._visible(r[1] for r in found)
        return found if visible is None else [r for r in found if r[1] in visible]

    def select(self, name_glob: str | None, kind: str | None) -> list[str]:
        """Digests of the latest version of every name matching the glob (and kind); in a namespace, the
        latest version it may see."""
        from sqlalchemy import text

        if self.namespace is None:
            sql = (
                "SELECT v.name, v.digest, a.kind FROM versions v JOIN artifacts a ON a.digest = v.digest "
                "JOIN (SELECT name, MAX(version) AS top FROM versions GROUP BY name) t "
                "ON t.name = v.name AND t.top = v.version ORDER BY v.name"
            )
        else:  # every version, newest first per name: the newest visible one wins below
            sql = (
                "SELECT v.name, v.digest, a.kind FROM versions v JOIN artifacts a ON a.digest = v.digest "
                "ORDER BY v.name, v.version DESC"
            )
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql)).all()
        rows = [r for r in rows if name_glob is None or fnmatch.fnmatchcase(r[0], name_glob)]
        visible = self._visible(r[1] for r in rows)
        chosen: dict[str, str] = {}
        for name, digest, found_kind in rows:
            if name in chosen or (visible is not None and digest not in visible):
                continue
            chosen[name] = digest if kind is None or found_kind == kind else ""
        return [d for d in chosen.values() if d]


class RemoteFacts:
    """``GateFacts`` from a team server (``/api/v1/gates/facts``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _ask(self, what: str, **body: Any) -> Any:
        return self.store.request("POST", "/gates/facts", json={"what": what, **body})

    def owners(self, targets: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = self._ask("owners", keys=list(targets))
        return found

    def licences(self, digests: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = self._ask("licences", keys=list(digests))
        return found

    def sources(self, digests: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = self._ask("sources", keys=list(digests))
        return found

    def actors(self, digests: Sequence[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = self._ask("actors", keys=list(digests))
        return found

    def evaluations(self, digest: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._ask("evaluations", keys=[digest])
        return found

    def select(self, name_glob: str | None, kind: str | None) -> list[str]:
        found: list[str] = self._ask("select", name=name_glob, kind=kind)
        return found


def answer_facts(facts: SqlFacts, what: str, keys: list[str], name: str | None, kind: str | None) -> Any:
    """The server side of ``RemoteFacts``: one question, answered from SQL."""
    if what == "evaluations":
        return facts.evaluations(keys[0]) if keys else []
    if what == "select":
        return facts.select(name, kind)
    method = {
        "owners": facts.owners,
        "licences": facts.licences,
        "sources": facts.sources,
        "actors": facts.actors,
    }[what]
    return method(keys)
