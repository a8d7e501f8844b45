"""What the gates read from the store beyond the core records: owners, licences, sources, recording actors,
earlier evaluations, and the artifacts a selector names.

``SqlFacts`` reads the ``gates`` projection's tables (and the events the artifacts were recorded by) from a
SQL store; ``RemoteFacts`` asks a team server's ``/api/v1/gates`` router, which answers with a ``SqlFacts``
of its own. The Client picks one (``Client.gate_facts``); the gates never know which.
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
    """``GateFacts`` over a SQL store (a server's namespaced view reads its inner store)."""

    def __init__(self, store: MetadataStore) -> None:
        inner: Any = getattr(store, "inner", store)
        self.engine = inner.engine

    def _pairs(self, sql: str, keys: Sequence[str]) -> dict[str, Any]:
        from sqlalchemy import bindparam, text

        out: dict[str, Any] = {}
        statement = text(sql).bindparams(bindparam("keys", expanding=True))
        with self.engine.connect() as conn:
            for chunk in _chunks(keys):
                out.update({row[0]: row[1] for row in conn.execute(statement, {"keys": chunk})})
        return out

    def owners(self, targets: Sequence[str]) -> dict[str, str]:
        return self._pairs("SELECT target, owner FROM artifact_owners WHERE target IN :keys", targets)

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
            return [(int(r[0]), r[1], r[2]) for r in conn.execute(text(sql), params)]

    def select(self, name_glob: str | None, kind: str | None) -> list[str]:
        """Digests of the latest version of every name matching the glob (and kind)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT v.name, v.digest, a.kind FROM versions v JOIN artifacts a ON a.digest = v.digest "
                    "JOIN (SELECT name, MAX(version) AS top FROM versions GROUP BY name) t "
                    "ON t.name = v.name AND t.top = v.version ORDER BY v.name"
                )
            ).all()
        return [
            r[1]
            for r in rows
            if (kind is None or r[2] == kind) and (name_glob is None or fnmatch.fnmatchcase(r[0], name_glob))
        ]


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
