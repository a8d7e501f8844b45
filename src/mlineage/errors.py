"""One exception hierarchy for the whole package.

Every message says what went wrong *and* what to do about it, because these surface verbatim in the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence


class MlineageError(Exception):
    """Base class: catch this to handle any mlineage failure."""


class ConfigError(MlineageError):
    """The project or store configuration is missing or invalid."""


class ValidationError(MlineageError, ValueError):
    """Input that does not fit the model (a bad param type, a malformed digest, ...)."""

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{field}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class NotFoundError(MlineageError, LookupError):
    """A reference (digest, run id, name) matches nothing."""


class AmbiguousRefError(MlineageError, LookupError):
    """A reference prefix matches several things; the candidates are listed."""

    def __init__(self, ref: str, candidates: Sequence[str]) -> None:
        self.ref = ref
        self.candidates = list(candidates)
        shown = "\n  ".join(self.candidates[:20])
        more = f"\n  ... and {len(self.candidates) - 20} more" if len(self.candidates) > 20 else ""
        super().__init__(
            f"reference {ref!r} is ambiguous; it matches:\n  {shown}{more}\nuse a longer prefix"
        )


class CycleError(MlineageError):
    """An edge would make the lineage graph cyclic; the whole write was rejected."""


class LedgerError(MlineageError):
    """The event log refused a write or is inconsistent."""


class IntegrityError(LedgerError):
    """Stored data does not match its recorded digest (tampering or corruption)."""


class StoreUnavailableError(MlineageError):
    """The metadata store or blob store cannot be reached."""


class EventConflictError(LedgerError):
    """An event id already in the ledger came back with other content (HTTP 409)."""


class DamagedStoreError(StoreUnavailableError):
    """The metadata store's database file is damaged (not a transient failure: retrying will not help)."""


class AuthError(MlineageError):
    """No API token, or an unknown or revoked one (HTTP 401)."""


class ForbiddenError(MlineageError):
    """The API token lacks a scope or the namespace (HTTP 403)."""


class PayloadTooLarge(MlineageError):
    """A request body over the server's limit (HTTP 413)."""


def error_class(name: str) -> type[MlineageError] | None:
    """The class of this hierarchy called ``name`` (how a typed error crosses the wire), or None."""
    found = globals().get(name)
    return found if isinstance(found, type) and issubclass(found, MlineageError) else None


class AliasConflictError(LedgerError):
    """An alias (or a model's next version) moved since the caller read it: a concurrent promotion won
    (compare-and-set; HTTP 409). Read the alias again and decide."""


class PromotionRefusedError(MlineageError):
    """A quality gate blocks a promotion; ``--force --reason`` records an override instead."""
