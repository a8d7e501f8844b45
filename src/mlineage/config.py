"""Where the store lives: zero configuration by default, one env variable or config file to change it.

Lookup order for the metadata store: ``MLINEAGE_URI`` → ``.mlineage/config.toml`` ``[store] uri`` → the
SQLite file in the nearest enclosing ``.mlineage/`` folder (searched upwards, like git).

A team server (``MLINEAGE_URI=http(s)://...``) is also the default artifact store: with only the URI and a
token set, any folder works, and the bytes a run records go where a teammate can fetch them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

PROJECT_DIR = ".mlineage"
CONFIG_FILE = "config.toml"
DB_FILE = "mlineage.db"
OBJECTS_DIR = "objects"

_CONFIG_TEMPLATE = """\
# mlineage project configuration. Commit this file; the database and objects stay out of git.
# Environment variables override it: MLINEAGE_URI (metadata store), MLINEAGE_ARTIFACTS (blob store).

[store]
# uri = "sqlite:///.mlineage/mlineage.db"           # the default
# uri = "postgresql://user@db.example.com/mlineage"  # a shared team store

[artifacts]
# uri = ".mlineage/objects"                          # the default: a local content-addressed folder
"""

_GITIGNORE = "/mlineage.db*\n/objects/\n/tmp/\n/*.lock\n/statcache.db*\n/trees/\n"


@dataclass(frozen=True, slots=True)
class Settings:
    project_root: Path | None
    store_uri: str
    artifacts_uri: str


def find_project(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_DIR).is_dir():
            return folder
    return None


def init_project(root: Path) -> Path:
    """Create ``.mlineage/`` in root (idempotent) and return its path."""
    project = root.resolve() / PROJECT_DIR
    project.mkdir(parents=True, exist_ok=True)
    config = project / CONFIG_FILE
    if not config.exists():
        config.write_text(_CONFIG_TEMPLATE)
    ignore = project / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_GITIGNORE)
    return project


def read_config(root: Path) -> dict[str, dict[str, Any]]:
    """The project's ``config.toml`` as a dict ({} when there is none); ConfigError when it is not TOML."""
    path = root / PROJECT_DIR / CONFIG_FILE
    if not path.exists():
        return {}
    data = path.read_bytes()
    tables = _only_empty_tables(data)
    if tables is not None:
        return tables  # as `init` writes it (so commands need not load the TOML parser)
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid UTF-8 text: {exc}; fix or delete it") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix or delete it") from None


def _only_empty_tables(data: bytes) -> dict[str, dict[str, Any]] | None:
    """The config when it holds nothing but comments, blank lines and bare ``[table]`` headers; else None."""
    tables: dict[str, dict[str, str]] = {}
    for raw in data.splitlines():
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        name = line[1:-1]
        if not (line.startswith(b"[") and line.endswith(b"]") and name.isascii() and name.isalnum()
                and name.decode() not in tables):
            return None
        tables[name.decode()] = {}
    return tables


def _resolve_relative(uri: str, root: Path) -> str:
    """``sqlite:///relative.db`` and bare folder paths in the config are relative to the project root."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        rel = uri[len("sqlite:///"):]
        return f"sqlite:///{(root / rel).resolve()}"
    return uri


def load_settings(start: Path | None = None, *, auto_init: bool = False) -> Settings:
    """Resolve the settings for the project around ``start`` (default: cwd).

    With ``auto_init`` (the SDK's behaviour) a missing project is created at the git top-level, or in the
    current folder when not in git; the CLI instead asks the user to run ``mlineage init``.
    """
    root = find_project(start)
    env_store = os.environ.get("MLINEAGE_URI")
    env_artifacts = os.environ.get("MLINEAGE_ARTIFACTS")
    if root is None and auto_init and not (env_store and (env_artifacts or is_server_uri(env_store))):
        base = start or Path.cwd()
        root = _git_toplevel(base) or base
        init_project(root)
    if root is None and not env_store:
        raise ConfigError(
            "no mlineage project here or in any parent folder: run `mlineage init` in your project folder, "
            "or set MLINEAGE_URI"
        )
    config = read_config(root) if root else {}
    store = env_store or config.get("store", {}).get("uri")
    artifacts = env_artifacts or config.get("artifacts", {}).get("uri")
    if artifacts is None and store is not None and is_server_uri(store):
        artifacts = store  # the server's own artifact store, reached through its blob endpoints
    if root is not None:
        store = _resolve_relative(store, root) if store else f"sqlite:///{root / PROJECT_DIR / DB_FILE}"
        if artifacts is None:
            artifacts = str(root / PROJECT_DIR / OBJECTS_DIR)
        elif "://" not in artifacts and not os.path.isabs(artifacts):
            artifacts = str((root / artifacts).resolve())
    if artifacts is None:
        raise ConfigError("MLINEAGE_URI is set but no artifact store is: set MLINEAGE_ARTIFACTS to a folder")
    assert store is not None
    return Settings(root, store, artifacts)


def is_server_uri(uri: str) -> bool:
    """Whether a store URI names an mlineage server (spoken to over HTTP) rather than a database."""
    return uri.startswith(("http://", "https://"))


def sqlite_path(uri: str) -> str | None:
    """The database file of a ``sqlite:///path`` URI; None for other stores and in-memory databases (here,
    not in ``stores/sqlite_ledger.py``, so that a glance at the ledger such as ``reproduce/stamp.py`` does not
    import the append path)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return path if path and path != ":memory:" else None


def _git_toplevel(start: Path) -> Path | None:
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return None
