"""``mlineage sync`` never reports success for events the server refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from mlineage.events import NewEvent
from mlineage.sdk.remote import RemoteStore, default_spool_dir

from .conftest import ServerProcess, machine, write_token


def test_sync_exits_non_zero_when_the_server_refuses_events(server: ServerProcess, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    one = machine(tmp_path, "one", server.url, write_token(server.store_uri))
    monkeypatch.setenv("HOME", str(one.home))  # the spool the machine's own commands use
    for name in ("XDG_CACHE_HOME", "MLINEAGE_SPOOL"):
        monkeypatch.delenv(name, raising=False)
    store = RemoteStore(server.url, token=one.token, spool_dir=default_spool_dir(server.url), autoship=False)
    store.append([NewEvent("RunEnded", {"run_id": f"never-{uuid.uuid4().hex}", "status": "completed"})])
    store._http.close()
    done = one.cli("sync", "--json", check=False)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["rejected"] == 1
    assert "refused 1 event(s)" in done.stderr and "rejected.jsonl" in done.stderr
    again = one.cli("sync", check=False)  # nothing new refused: the rejected file stays for the user to read
    assert again.returncode == 0, again.stderr
