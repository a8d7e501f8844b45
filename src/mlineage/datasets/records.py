"""Reading the dataset projections: from the SQL tables of a local store, or from the team server's
``/api/v1/datasets`` endpoints for a remote one, so a Client cannot tell the two apart.

A server's namespace view reads its inner store's tables and keeps only the rows whose artifacts the caller
may see.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote

from ..errors import ConfigError


class DatasetRecords(Protocol):
    def versions(self, name: str, as_of_seq: int | None = None) -> list[dict[str, Any]]: ...
    def profile(self, digest: str) -> dict[str, Any] | None: ...
    def rollbacks(self, name: str) -> list[dict[str, Any]]: ...


def _version_row(r: Any) -> dict[str, Any]:
    return {
        "name": r.name,
        "semver": r.semver,
        "digest": r.digest,
        "version": r.version,
        "proposed": r.proposed,
        "level": r.level,
        "overridden": bool(r.overridden),
        "reasons": json.loads(r.reasons),
        "previous_digest": r.previous_digest,
        "previous_semver": r.previous_semver,
        "summary": json.loads(r.summary),
        "seq": int(r.seq),
    }


class SqlRecords:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def versions(self, name: str, as_of_seq: int | None = None) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM dataset_versions WHERE name = :n AND seq <= :s ORDER BY seq",
            {"n": name, "s": as_of_seq if as_of_seq is not None else 2**62},
        )
        return [_version_row(r) for r in rows]

    def profile(self, digest: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT profile, rows, columns, seq FROM dataset_profiles WHERE digest = :d", {"d": digest}
        )
        if not rows:
            return None
        r = rows[0]
        return {
            "digest": digest,
            "profile": r.profile,
            "rows": int(r.rows),
            "columns": int(r.columns),
            "seq": int(r.seq),
        }

    def rollbacks(self, name: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM dataset_rollbacks WHERE name = :n ORDER BY seq", {"n": name})
        return [
            {
                "seq": int(r.seq),
                "name": r.name,
                "from": {"digest": r.from_digest, "version": r.from_version, "semver": r.from_semver}
                if r.from_digest
                else None,
                "to": {"digest": r.to_digest, "version": r.to_version, "semver": r.to_semver},
                "reason": r.reason,
                "actor": r.actor,
                "ts": r.ts,
            }
            for r in rows
        ]


class VisibleRecords:
    """The rows of ``inner`` whose artifacts ``store`` (a namespace view) shows."""

    def __init__(self, inner: DatasetRecords, store: Any) -> None:
        self.inner, self.store = inner, store

    def _visible(self, digest: str | None) -> bool:
        return digest is None or self.store.get_artifact(digest) is not None

    def versions(self, name: str, as_of_seq: int | None = None) -> list[dict[str, Any]]:
        return [r for r in self.inner.versions(name, as_of_seq) if self._visible(r["digest"])]

    def profile(self, digest: str) -> dict[str, Any] | None:
        return self.inner.profile(digest) if self._visible(digest) else None

    def rollbacks(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.inner.rollbacks(name) if self._visible(r["to"]["digest"])]


class HttpRecords:
    """The same answers from a team server (``server/routers/datasets.py``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def versions(self, name: str, as_of_seq: int | None = None) -> list[dict[str, Any]]:
        params = {} if as_of_seq is None else {"as_of": as_of_seq}
        found = self.store.request("GET", f"/datasets/{quote(name, safe='')}/versions", params=params)
        return list(found["versions"])

    def profile(self, digest: str) -> dict[str, Any] | None:
        from ..errors import NotFoundError

        try:
            found: dict[str, Any] = self.store.request("GET", f"/datasets/profiles/{digest}")
        except NotFoundError:
            return None
        return found

    def rollbacks(self, name: str) -> list[dict[str, Any]]:
        found = self.store.request("GET", f"/datasets/{quote(name, safe='')}/rollbacks")
        return list(found["rollbacks"])


def records_for(store: Any) -> DatasetRecords:
    """The dataset records of a store (see the module docstring)."""
    if hasattr(store, "engine"):
        return SqlRecords(store.engine)
    inner = getattr(store, "inner", None)
    if inner is not None and hasattr(inner, "engine"):
        return VisibleRecords(SqlRecords(inner.engine), store)
    if hasattr(store, "request"):
        return HttpRecords(store)
    raise ConfigError(f"{getattr(store, 'uri', store)} keeps no dataset versions")
