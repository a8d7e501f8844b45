"""Data-versioning settings from ``.mlineage/config.toml`` and the environment (no heavy imports).

```toml
[artifacts]
uri = ".mlineage/objects"      # the local cache (the default); an s3:// URI here also becomes the remote

[remote]
uri = "s3://bucket/prefix"     # or a folder path, or a team server; MLINEAGE_REMOTE overrides. Default: the
                                # team server when the store is one (MLINEAGE_URI=https://...)
endpoint_url = "http://127.0.0.1:9000"   # optional; else AWS_ENDPOINT_URL and the usual AWS settings

[data]
link = "reflink,copy"          # the default; "hardlink"/"symlink" share files with the cache (an edit in
place
                                # then changes the stored version); MLINEAGE_LINK overrides
jobs = 4                        # parallel hashing / transfer threads
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..blobs.placement import DEFAULT_LINK_MODES, parse_link_modes
from ..config import CONFIG_FILE, OBJECTS_DIR, PROJECT_DIR, find_project, is_server_uri, read_config
from ..errors import ConfigError
from ..hashing import default_workers


@dataclass(frozen=True)
class DataSettings:
    root: Path
    cache_dir: Path
    remote_uri: str | None
    remote_options: dict[str, Any] = field(default_factory=dict)
    link_modes: tuple[str, ...] = DEFAULT_LINK_MODES
    jobs: int = 2

    @property
    def state_dir(self) -> Path:
        return self.root / PROJECT_DIR


def load_data_settings(start: Path | None = None) -> DataSettings:
    root = find_project(start)
    if root is None:
        raise ConfigError("no mlineage project here or in any parent folder: run `mlineage init` in your "
                          "project folder first")
    config_path = root / PROJECT_DIR / CONFIG_FILE
    config: dict[str, Any] = read_config(root)
    artifacts = os.environ.get("MLINEAGE_ARTIFACTS") or config.get("artifacts", {}).get("uri")
    remote_section = dict(config.get("remote", {}))
    remote = os.environ.get("MLINEAGE_REMOTE") or remote_section.pop("uri", None)
    remote_section.pop("uri", None)
    if artifacts and "://" in artifacts and not artifacts.startswith("file://"):
        cache = root / PROJECT_DIR / OBJECTS_DIR
        remote = remote or artifacts
    elif artifacts:
        path = artifacts.removeprefix("file://")
        cache = Path(path) if os.path.isabs(path) else (root / path)
    else:
        cache = root / PROJECT_DIR / OBJECTS_DIR
    if remote is None:  # a team server is the remote by default, as it is the artifact store
        store = os.environ.get("MLINEAGE_URI") or config.get("store", {}).get("uri")
        remote = store if isinstance(store, str) and is_server_uri(store) else None
    if remote and "://" not in remote and not os.path.isabs(remote):
        remote = str((root / remote).resolve())
    data = config.get("data", {})
    link = os.environ.get("MLINEAGE_LINK") or data.get("link")
    jobs = data.get("jobs", default_workers())
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"{config_path}: [data] jobs must be a positive integer, got {jobs!r}")
    return DataSettings(root, cache.resolve(), remote, remote_section, parse_link_modes(link), jobs)
