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
        rows = self._rows("SELECT * FROM registry_versions WHERE name = :n ORDER BY version", {"n": name})
        return [{"name": r.name, "version": int(r.version), "digest": r.digest, "semver": r.semver,
                 "actor": r.actor, "ts": r.ts, "seq": int(r.seq)} for r in rows]

    def aliases(self, name: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM registry_aliases WHERE name = :n ORDER BY alias", {"n": name})
        return [{"name": r.name, "alias": r.alias, "version": int(r.version), "digest": r.digest,
                 "seq": int(r.seq)} for r in rows]

    def moves(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM registry_moves WHERE name = :n" + (" AND alias = :a" if alias else "")
        return [_move(r) for r in self._rows(sql + " ORDER BY seq", {"n": name, "a": alias})]

    def deployments(self, endpoint: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM registry_deployments WHERE endpoint = :e ORDER BY seq",
                          {"e": endpoint})
        return [{"seq": int(r.seq), "endpoint": r.endpoint, "env": r.env, "name": r.name,
                 "version": int(r.version), "digest": r.digest, "alias": r.alias, "run_id": r.run_id,
                 "reason": r.reason, "actor": r.actor, "ts": r.ts} for r in rows]


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

    def deployments(self, endpoint: str) -> list[dict[str, Any]]:
        return self._get(f"/endpoints/{quote(endpoint, safe='')}/deployments", "deployments")


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
