"""mlineage: record, verify and explain the lineage of machine-learning models.

The public API is re-exported here and loaded lazily, so that ``import mlineage`` (and the CLI's start-up)
does not pay for SQLAlchemy until a store is actually opened.
"""

from __future__ import annotations

import importlib

# Not typing's TYPE_CHECKING: importing typing (and re, which it loads) is a third of the quick `status`
# path's start-up. Type checkers treat any constant of this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": "mlineage.sdk.run",
    "track": "mlineage.sdk.run",
    "autolog": "mlineage.sdk.autolog",
    "active_run": "mlineage.sdk.run",
    "ActiveRun": "mlineage.sdk.run",
    "emit": "mlineage.sdk.emit",
    "diff": "mlineage.datasets.api",
    "Dataset": "mlineage.datasets.api",
    "Client": "mlineage.sdk.client",
    "default_client": "mlineage.sdk.client",
    "Artifact": "mlineage.model",
    "ArtifactKind": "mlineage.model",
    "Digest": "mlineage.model",
    "LineageRecord": "mlineage.model",
    "Run": "mlineage.model",
    "RunKind": "mlineage.model",
    "RunStatus": "mlineage.model",
    "LineageQuery": "mlineage.graph",
    "LineageResult": "mlineage.graph",
    "MlineageError": "mlineage.errors",
    "ValidationError": "mlineage.errors",
    "NotFoundError": "mlineage.errors",
    "AmbiguousRefError": "mlineage.errors",
    "CycleError": "mlineage.errors",
    "LedgerError": "mlineage.errors",
    "IntegrityError": "mlineage.errors",
    "ConfigError": "mlineage.errors",
    "check": "mlineage.gates.api",
    "CheckReport": "mlineage.gates.model",
    "StoreUnavailableError": "mlineage.errors",
    "trace_request": "mlineage.serving.recorder",
}

__all__ = [  # the keys of _EXPORTS and __version__, sorted (a test checks)
    "ActiveRun", "AmbiguousRefError", "Artifact", "ArtifactKind", "CheckReport", "Client", "ConfigError",
    "CycleError", "Dataset", "Digest", "IntegrityError", "LedgerError", "LineageQuery", "LineageRecord",
    "LineageResult", "MlineageError", "NotFoundError", "Run", "RunKind", "RunStatus", "StoreUnavailableError",
    "ValidationError", "__version__", "active_run", "autolog", "check", "default_client", "diff", "emit",
    "run", "trace_request", "track",
]

if TYPE_CHECKING:
    from .datasets.api import Dataset, diff
    from .errors import (
        AmbiguousRefError,
        ConfigError,
        CycleError,
        IntegrityError,
        LedgerError,
        MlineageError,
        NotFoundError,
        StoreUnavailableError,
        ValidationError,
    )
    from .gates.api import check
    from .gates.model import CheckReport
    from .graph import LineageQuery, LineageResult
    from .model import Artifact, ArtifactKind, Digest, LineageRecord, Run, RunKind, RunStatus
    from .sdk.autolog import autolog
    from .sdk.client import Client, default_client
    from .sdk.emit import emit
    from .sdk.run import ActiveRun, active_run, run, track
    from .serving.recorder import trace_request


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlineage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
