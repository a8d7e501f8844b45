"""Optional dependencies, imported where a command needs them: a missing one is a ``ConfigError`` that names
the extra to install, not an ``ImportError`` traceback from deep inside the command."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """``module``, imported; if it is not installed, say which ``mlineage[extra]`` brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise ConfigError(f"{purpose} needs {package}: pip install 'mlineage[{extra}]'") from None


def server_runtime(purpose: str) -> ModuleType:
    """Uvicorn, once FastAPI is known to be installed too: what ``server`` and ``ui`` need (the server
    extra)."""
    require("fastapi", "server", purpose)
    return require("uvicorn", "server", purpose)
