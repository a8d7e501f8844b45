"""API tokens: random secrets stored only as SHA-256, with scopes (read, write, admin) and one namespace.

A token is ``mlt_<id>_<secret>``; the database keeps ``sha256(token)`` and never the token itself. The
secret has 256 bits of entropy, so a plain (unsalted, fast) hash is enough: there is nothing to brute-force.
A token whose namespace is ``*`` sees every namespace (an operator's token); its writes go to ``default``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from .. import pipeline
from ..errors import AuthError, ForbiddenError, NotFoundError, ValidationError
from ..events import TOKEN_CREATED, TOKEN_REVOKED, NewEvent, utc_now
from ..pipeline import Appender
from ..stores.projections.namespaces import DEFAULT_NAMESPACE
from ..stores.schema import server_tokens

__all__ = ["AuthError", "ForbiddenError", "Principal", "TokenStore"]  # the errors live in mlineage.errors

SCOPES = ("read", "write", "admin")
ALL_NAMESPACES = "*"
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    name: str
    scopes: frozenset[str]
    namespace: str

    @property
    def sees_all(self) -> bool:
        return self.namespace == ALL_NAMESPACES

    @property
    def write_namespace(self) -> str:
        return DEFAULT_NAMESPACE if self.sees_all else self.namespace

    def require(self, scope: str) -> None:
        # admin implies write implies read
        rank = SCOPES.index(scope)
        if not any(SCOPES.index(s) >= rank for s in self.scopes):
            raise ForbiddenError(
                f"token {self.name!r} lacks the {scope!r} scope; ask an admin for one that has it"
            )


LOCAL_ADMIN = Principal("local", "local (auth disabled)", frozenset(SCOPES), ALL_NAMESPACES)


def check_namespace(namespace: str) -> str:
    if namespace != ALL_NAMESPACES and not _NAMESPACE.match(namespace):
        raise ValidationError("namespace", f"{namespace!r} is not a valid namespace",
                              "use letters, digits, '.', '_' or '-' (at most 100), or '*' for all")
    return namespace


def parse_scopes(text: str | list[str]) -> frozenset[str]:
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not items:
        raise ValidationError("scopes", "at least one scope is required", "choose from read, write, admin")
    for s in items:
        if s not in SCOPES:
            raise ValidationError("scopes", f"{s!r} is not a scope", "choose from read, write, admin")
    return frozenset(items)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """The server's tokens. Creating and revoking one is also recorded in the ledger (``TokenCreated``,
    ``TokenRevoked``, through the append pipeline) so that access changes are in the hash chain; the events
    carry the token's id, name, scopes and namespace, never its secret."""

    def __init__(self, engine: Engine, ledger: Appender | None = None) -> None:
        self.engine = engine
        self._ledger = ledger

    def _record(self, event_type: str, payload: dict[str, Any], actor: str | None) -> None:
        event = NewEvent(event_type, payload, actor=actor)
        if self._ledger is not None:
            pipeline.append(self._ledger, [event])
            return
        from ..stores.sql import SqlStore  # an admin action is rare: open the store for it, then close it

        store = SqlStore(self.engine.url.render_as_string(hide_password=False))
        try:
            pipeline.append(store, [event])
        finally:
            store.close()

    def create(self, name: str, scopes: str | list[str], namespace: str,
               actor: str | None = None) -> tuple[str, dict[str, Any]]:
        """Return (the token, shown once; its record). ``actor``: who asked (the caller's tagged actor)."""
        if not name or len(name) > 200:
            raise ValidationError("name", "must be 1 to 200 characters")
        parsed = parse_scopes(scopes)
        check_namespace(namespace)
        token_id = secrets.token_hex(8)
        token = f"mlt_{token_id}_{secrets.token_urlsafe(32)}"
        row = {
            "id": token_id,
            "name": name,
            "secret_sha256": _hash(token),
            "scopes": ",".join(sorted(parsed)),
            "namespace": namespace,
            "created_at": utc_now(),
            "revoked_at": None,
        }
        self._record(TOKEN_CREATED, {"token_id": token_id, "name": name, "scopes": sorted(parsed),
                                     "namespace": namespace}, actor)
        with write_transaction(self.engine) as conn:
            conn.execute(insert(server_tokens).values(**row))
        return token, _public(row)

    def revoke(self, token_id: str, actor: str | None = None) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = conn.execute(select(server_tokens).where(server_tokens.c.id == token_id)).first()
        if found is None:
            raise NotFoundError(f"no token with id {token_id!r}: `mlineage token list` shows the ids")
        if found.revoked_at is None:
            self._record(TOKEN_REVOKED, {"token_id": token_id}, actor)
        with write_transaction(self.engine) as conn:
            if found.revoked_at is None:
                conn.execute(
                    update(server_tokens).where(server_tokens.c.id == token_id).values(revoked_at=utc_now())
                )
            row = conn.execute(select(server_tokens).where(server_tokens.c.id == token_id)).one()
        return _public(row._asdict())

    def list(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(server_tokens).order_by(server_tokens.c.created_at)).all()
        return [_public(r._asdict()) for r in rows]

    def authenticate(self, token: str) -> Principal:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(server_tokens).where(server_tokens.c.secret_sha256 == _hash(token))
            ).first()
        if row is None:
            raise AuthError("unknown API token: create one with `mlineage token create`")
        if row.revoked_at is not None:
            raise AuthError(f"API token {row.name!r} was revoked at {row.revoked_at}")
        return Principal(row.id, row.name, frozenset(row.scopes.split(",")), row.namespace)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "scopes": row["scopes"].split(","),
            "namespace": row["namespace"], "created_at": row["created_at"], "revoked_at": row["revoked_at"]}


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite, so a read-then-write never hits 'database is
    locked')."""
    with engine.connect().execution_options(mlineage_write=True) as conn, conn.begin():
        yield conn
