"""Serving traces against a real team server: a thread pool of callers while the server is stopped mid-way
and restarted (every trace recorded once: the spool keeps what the dead server never took, event ids make
retries harmless), a script's traces written at exit, and a non-Python caller's HTTP endpoint with OTel
attributes read back by a teammate's CLI. One backend (PostgreSQL, what a team server runs): the embedded
tests cover both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mlineage.config import Settings
from mlineage.sdk.client import Client
from mlineage.serving.recorder import TraceRecorder
from mlineage.stores.remote import RemoteStore
from tests.server.conftest import ServerProcess, admin_token, backend_store
from tests.team.conftest import machine, write_token


@pytest.fixture(scope="module")
def backend_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PostgreSQL, what a team server runs (the embedded tests cover both backends)."""
    yield from backend_store("postgresql", tmp_path_factory)


@pytest.fixture(scope="module")
def server(backend_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(backend_uri, tmp_path_factory.mktemp("objects") / "objects").start()
    yield proc
    proc.stop()


def _remote_client(url: str, token: str, folder: Path) -> Client:
    store = RemoteStore(url, token=token, spool_dir=folder / "spool")
    return Client(Settings(None, url, str(folder / "objects")), store=store)


@pytest.mark.slow
def test_traces_survive_a_server_stopped_mid_way(
    server: ServerProcess, backend_uri: str, tmp_path: Path
) -> None:
    token = admin_token(backend_uri)
    client = _remote_client(server.url, token, tmp_path)
    try:
        (tmp_path / "m.bin").write_text("weights\n")
        version = client.register_model(str(tmp_path / "m.bin"), "srv-chat")
        client.set_alias("srv-chat", "production", "@1")
        rec = TraceRecorder(client, interval=0.01, batch_size=40)
        total = 800

        def call(i: int) -> str | None:
            return rec.trace("srv-bot", "srv-chat@production", latency_ms=1.5, trace_id=f"s{i:04d}")

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(call, range(total // 2)))
            server.stop()  # mid-way, the writer maybe mid-request: the spool keeps what was not acknowledged
            ids += pool.map(call, range(total // 2, total))  # written while the server is down
        assert ids == [f"s{i:04d}" for i in range(total)]  # never refused, never raised
        rec.flush(timeout=30)
        assert rec.stats()["recorded"] == total
        assert client.store.spool.pending() > 0  # the dead server never took these
        server.start()
        assert client.store.flush()["pending"] == 0
        listed = client.serving_traces(endpoint="srv-bot", limit=10_000)
        assert sorted(t["trace_id"] for t in listed) == ids  # nothing lost, nothing twice
        assert {t["model_digest"] for t in listed} == {version["digest"]}
        summary = client.serving_summary(endpoint="srv-bot")
        assert [(r["model"], r["traces"]) for r in summary["rows"]] == [("srv-chat@1", total)]
        with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get("/verify").json()["ok"]
    finally:
        client.close()
        if server.proc is None:
            server.start()


SCRIPT = """
import mlineage
for i in range(150):
    mlineage.trace_request(endpoint="script-bot", model="nothing-registered@production", latency_ms=2.0,
                           trace_id=f"x{i}")
"""


def test_a_script_exits_and_its_traces_are_written_and_a_service_posts_otel(
    server: ServerProcess, backend_uri: str, tmp_path: Path
) -> None:
    token = write_token(backend_uri)
    one = machine(tmp_path, "one", server.url, token)
    one.python(SCRIPT)  # no flush: the recorder writes at exit
    body = {
        "traces": [
            {
                "trace_id": "otel-1",
                "endpoint": "node-bot",
                "model": "x@1",
                "attributes": {
                    "gen_ai.retrieval.documents": [{"id": "c-1", "score": 0.8, "content": "hi"}],
                    "gen_ai.usage.input_tokens": 12,
                },
            }
        ]
    }
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as c:
        posted = c.post("/serving/traces", json=body)
        assert posted.status_code == 200 and posted.json()["recorded"] == 1
        refused = c.post("/serving/traces", json={"traces": [{"latency_ms": "slow"}]})
        assert refused.status_code == 400 and "facts.latency_ms" in refused.text
    listed = json.loads(one.cli("traces", "--limit", "1000", "--json").stdout)
    assert sorted(t["trace_id"] for t in listed if t["endpoint"] == "script-bot") == sorted(
        f"x{i}" for i in range(150)
    )
    explained = json.loads(one.cli("explain-answer", "otel-1", "--json").stdout)
    assert [c["chunk_id"] for c in explained["chunks"]] == ["c-1"]
    assert explained["trace"]["facts"] == {"input_tokens": 12}
    text = one.cli("traces", "--summary").stdout
    assert "script-bot  nothing-registered@production  -  150 traces" in text
