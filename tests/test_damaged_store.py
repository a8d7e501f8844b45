"""A damaged database file: one line saying what is wrong and what to do, exit status 1, from the CLI and the
SDK. (A file-level fault: SQLite only. PostgreSQL reports its own storage faults as connection errors.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import mlineage
from mlineage.config import load_settings
from mlineage.sdk.client import Client
from mlineage.stores.damage import DamagedStoreError
from tests.cli_process import run_cli


def _damage(database: Path, how: str) -> None:
    with database.open("r+b") as handle:
        if how == "header":  # the first bytes: "file is not a database"
            handle.write(b"this is not SQLite" * 6)
        else:  # pages in the middle, header intact: "database disk image is malformed"
            handle.seek(4096 * 2)
            handle.write(bytes(range(256)) * 16 * 200)


@pytest.mark.parametrize("how, words", [("header", "file is not a database"),
                                        ("pages", "database disk image is malformed")])
def test_a_damaged_file_gives_one_line(project: Path, how: str, words: str) -> None:
    client = Client(load_settings(project))
    for _ in range(150):  # a database of a few hundred pages
        with mlineage.run("train", client=client) as run:
            run.log_metric("loss", 0.5)
    client.close()
    database = project / ".mlineage" / "mlineage.db"
    from mlineage.stores.sqlite_ledger import WalCheckpointer

    checkpointer = WalCheckpointer(str(database))
    checkpointer()
    checkpointer.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    _damage(database, how)
    for command in (["runs"], ["verify"], ["trace", "model"]):
        result = run_cli(*command, cwd=project)
        assert result.returncode == 1, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (command, result.stderr)
        assert f"is damaged ({words})" in lines[0] and "restore it from a backup" in lines[0], lines[0]
    with pytest.raises(DamagedStoreError, match="restore it from a backup"), \
            mlineage.run("train", client=Client(load_settings(project))) as run:
        run.log_metric("loss", 0.1)
