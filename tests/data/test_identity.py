"""One definition of directory identity: the SDK and `mlineage add` name a folder alike, and refuse alike."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlineage.errors import ValidationError

from .conftest import cli, write


def _sdk_digest(root: Path, folder: Path) -> str:
    """The digest the SDK records for a folder (``Client.artifact_event``, as ``run.use``/``run.produce``
    do)."""
    from mlineage.config import load_settings
    from mlineage.sdk.client import Client

    client = Client(load_settings(root))
    try:
        return str(client.artifact_event(folder, store_blob=False).payload["digest"])
    finally:
        client.close()


def _folder(root: Path) -> Path:
    data = root / "data"
    write(data / "a.txt", "alpha\n")
    write(data / "nested" / "deeper" / "b.bin", os.urandom(5000))
    write(data / ".hidden", "dotfiles are content\n")
    write(data / "caf\u00e9 \"quoted\".txt", "unicode and quotes\n")
    write(data / "empty.txt", b"")
    (data / "a.txt").chmod(0o755)
    write(data / ".mlineage-tmp-1-2-3", "an interrupted write's leftover, not content")
    return data


def test_the_sdk_and_add_give_one_folder_one_digest(sqlite_project: Path) -> None:
    data = _folder(sqlite_project)
    sdk = _sdk_digest(sqlite_project, data)
    (added,) = json.loads(cli("add", "data", "--json").stdout)
    assert added["digest"] == sdk and added["files"] == 5
    assert _sdk_digest(sqlite_project, data) == sdk  # still, with the folder now tracked and cached


@pytest.mark.parametrize("entry", ["link to a file inside", "dangling link", "link to a folder", "fifo"])
def test_the_sdk_and_add_refuse_the_same_entries(sqlite_project: Path, entry: str) -> None:
    data = _folder(sqlite_project)
    odd = data / "nested" / "odd"
    if entry == "link to a file inside":
        odd.symlink_to(data / "a.txt")
    elif entry == "dangling link":
        odd.symlink_to(sqlite_project / "gone")
    elif entry == "link to a folder":
        odd.symlink_to(data / "nested" / "deeper")
    else:
        os.mkfifo(odd)
    with pytest.raises(ValidationError, match="symbolic link or special file") as sdk_error:
        _sdk_digest(sqlite_project, data)
    result = cli("add", "data", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {sdk_error.value}"  # the same message, word for word
    assert not (sqlite_project / "data.lin").exists()
