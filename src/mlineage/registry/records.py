"""Reading the registry projection: the SQL tables of a local store, a namespace view of them on a server, or
the server's ``/api/v1/registry`` endpoints for a remote store, so a Client cannot tell them apart."""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote

from ..errors import ConfigError


class RegistryRecords(Protocol):
    def versions(self, name: str) -> list[dict[str, Any]]: ...
    def aliases(self, name: str) -> list[dict[str, Any]]: ...
    def moves(self, name: str, alias: str | None = None) -> list[dict[str, Any]]: ...
    def deployments(self, endpoint: str) -> list[dict[str, Any]]: ...
    def everything(self) -> dict[str, list[dict[str, Any]]]: ...
    def incident(self, incident_id: str) -> dict[str, Any] | None: ...
    def approvals(self, name: str) -> list[dict[str, Any]]: ...
    def erasure(self, erasure_id: str) -> dict[str, Any] | None: ...


def _move(r: Any) -> dict[str, Any]:
    return {"seq": int(r.seq), "name": r.name, "alias": r.alias, "from": r.from_version,
            "to": r.to_version, "digest": r.to_digest, "reason": r.reason, "gates": json.loads(r.gates),
            "override": bool(r.override), "actor": r.actor, "ts": r.ts}


class SqlRecords:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Each version with its approval state now (``pending`` until someone decides), who and why."""
        rows = self._rows("SELECT * FROM registry_versions WHERE name = :n ORDER BY version", {"n": name})
        latest = {a["version"]: a for a in self.approvals(name)}
        out = []
        for r in rows:
            decided = latest.get(int(r.version))
            out.append({"name": r.name, "version": int(r.version), "digest": r.digest, "semver": r.semver,
                        "actor": r.actor, "ts": r.ts, "seq": int(r.seq),
                        "approval": decided["state"] if decided else "pending",
                        "approval_by": decided["actor"] if decided else None,
                        "approval_reason": decided["reason"] if decided else None})
        return out

    def approvals(self, name: str) -> list[dict[str, Any]]:
        """Every approval change of NAME's versions, oldest first."""
        rows = self._rows("SELECT * FROM registry_approvals WHERE name = :n ORDER BY seq", {"n": name})
        return [{"seq": int(r.seq), "name": r.name, "version": int(r.version), "state": r.state,
                 "reason": r.reason, "actor": r.actor, "ts": r.ts} for r in rows]

    def aliases(self, name: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM registry_aliases WHERE name = :n ORDER BY alias", {"n": name})
        return [{"name": r.name, "alias": r.alias, "version": int(r.version), "digest": r.digest,
                 "seq": int(r.seq)} for r in rows]

    def moves(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM registry_moves WHERE name = :n" + (" AND alias = :a" if alias else "")
        return [_move(r) for r in self._rows(sql + " ORDER BY seq", {"n": name, "a": alias})]

    def deployments(self, endpoint: str | None) -> list[dict[str, Any]]:
        where = "" if endpoint is None else " WHERE endpoint = :e"
        rows = self._rows(f"SELECT * FROM registry_deployments{where} ORDER BY seq", {"e": endpoint})
        return [{"seq": int(r.seq), "endpoint": r.endpoint, "env": r.env, "name": r.name,
                 "version": int(r.version), "digest": r.digest, "alias": r.alias, "run_id": r.run_id,
                 "reason": r.reason, "actor": r.actor, "ts": r.ts} for r in rows]

    def everything(self) -> dict[str, list[dict[str, Any]]]:
        """Every model's versions, every alias move and every deployment (what an incident's impact reads)."""
        versions = self._rows("SELECT name FROM registry_versions GROUP BY name ORDER BY name", {})
        return {"versions": [v for r in versions for v in self.versions(r.name)],
                "moves": [_move(r) for r in self._rows("SELECT * FROM registry_moves ORDER BY seq", {})],
                "deployments": self.deployments(None)}

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM registry_incidents WHERE id = :i", {"i": incident_id})
        if not rows:
            return None
        r = rows[0]
        return {"id": r.id, "digest": r.digest, "reason": r.reason, "actor": r.actor, "ts": r.ts,
                "seq": int(r.seq), "resolution": r.resolution, "closed_by": r.closed_by,
                "closed_at": r.closed_at}


    def version_nodes(self) -> list[tuple[str, int, int]]:
        """(name, version, graph node id) of every registered version, one row per occurrence of its digest:
        what a walk from a bad artifact checks membership against (``service.Taint``)."""
        rows = self._rows(
            "SELECT v.name, v.version, a.node_id FROM registry_versions v "
            "JOIN artifacts a ON a.digest = v.digest WHERE a.node_id IS NOT NULL "
            "UNION ALL SELECT v.name, v.version, o.node_id FROM registry_versions v "
            "JOIN occurrences o ON o.digest = v.digest", {})
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def erasure(self, erasure_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM registry_erasures WHERE id = :i", {"i": erasure_id})
        if not rows:
            return None
        r = rows[0]
        decisions = self._rows("SELECT * FROM registry_erasure_decisions WHERE erasure_id = :i ORDER BY seq",
                               {"i": erasure_id})
        return {"id": r.id, "digest": r.digest, "reason": r.reason, "authorised_by": r.authorised_by,
                "erased_seqs": json.loads(r.erased_seqs), "blobs": json.loads(r.blobs),
                "affected": json.loads(r.affected), "actor": r.actor, "ts": r.ts, "seq": int(r.seq),
                "resolution": r.resolution, "closed_by": r.closed_by, "closed_at": r.closed_at,
                "decisions": [{"seq": int(d.seq), "model": d.model, "decision": d.decision,
                               "reason": d.reason, "actor": d.actor, "ts": d.ts} for d in decisions]}


class VisibleRecords:
    """The rows of ``inner`` whose artifacts ``store`` (a server's namespace view) shows."""

    def __init__(self, inner: RegistryRecords, store: Any) -> None:
        self.inner, self.store = inner, store

    def _visible(self, digest: str | None) -> bool:
        return digest is None or self.store.get_artifact(digest) is not None

    def versions(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.inner.versions(name) if self._visible(r["digest"])]

    def aliases(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.inner.aliases(name) if self._visible(r["digest"])]

    def moves(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.inner.moves(name, alias) if self._visible(r["digest"])]

    def deployments(self, endpoint: str) -> list[dict[str, Any]]:
        return [r for r in self.inner.deployments(endpoint) if self._visible(r["digest"])]

    def everything(self) -> dict[str, list[dict[str, Any]]]:
        return {key: [r for r in rows if self._visible(r["digest"])]
                for key, rows in self.inner.everything().items()}

    def approvals(self, name: str) -> list[dict[str, Any]]:
        shown = {v["version"] for v in self.versions(name)}
        return [a for a in self.inner.approvals(name) if a["version"] in shown]

    def erasure(self, erasure_id: str) -> dict[str, Any] | None:
        found = self.inner.erasure(erasure_id)
        return found if found is not None and self._visible(found["digest"]) else None

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        found = self.inner.incident(incident_id)
        return found if found is not None and self._visible(found["digest"]) else None


class HttpRecords:
    """The same answers from a team server (``server/routers/registry.py``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _get(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.store.flush(quiet=True)  # read what this client wrote
        return list(self.store.request("GET", path, params=params or {})[key])

    def versions(self, name: str) -> list[dict[str, Any]]:
        return self._get(f"/registry/{quote(name, safe='')}/versions", "versions")

    def aliases(self, name: str) -> list[dict[str, Any]]:
        return self._get(f"/registry/{quote(name, safe='')}/aliases", "aliases")

    def moves(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        params = {"alias": alias} if alias else {}
        return self._get(f"/registry/{quote(name, safe='')}/moves", "moves", params)

    def approvals(self, name: str) -> list[dict[str, Any]]:
        return self._get(f"/registry/{quote(name, safe='')}/approvals", "approvals")

    def deployments(self, endpoint: str) -> list[dict[str, Any]]:
        return self._get(f"/endpoints/{quote(endpoint, safe='')}/deployments", "deployments")

    def everything(self) -> dict[str, list[dict[str, Any]]]:
        self.store.flush(quiet=True)
        return dict(self.store.request("GET", "/registry"))

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        from ..errors import NotFoundError

        self.store.flush(quiet=True)
        try:
            found: dict[str, Any] = self.store.request("GET", f"/incidents/{quote(incident_id, safe='')}")
        except NotFoundError:
            return None
        return found

    def erasure(self, erasure_id: str) -> dict[str, Any] | None:
        from ..errors import NotFoundError

        self.store.flush(quiet=True)
        try:
            found: dict[str, Any] = self.store.request("GET", f"/erasures/{quote(erasure_id, safe='')}")
        except NotFoundError:
            return None
        return found


def records_for(store: Any) -> RegistryRecords:
    """The registry records of a store (see the module docstring)."""
    if hasattr(store, "engine"):
        return SqlRecords(store.engine)
    inner = getattr(store, "inner", None)
    if inner is not None and hasattr(inner, "engine"):
        return VisibleRecords(SqlRecords(inner.engine), store)
    if hasattr(store, "request"):
        return HttpRecords(store)
    raise ConfigError(f"{getattr(store, 'uri', store)} keeps no model registry")
