"""The query cache: an answer is computed once per (namespace, ledger head, query), a new event makes the next
answer fresh, and a large answer goes gzipped to clients that accept it."""

from __future__ import annotations

import hashlib
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from mlineage.server.query_cache import QueryCache

from .conftest import ServerProcess


def test_an_answer_is_computed_once_per_key_and_evicted_by_size() -> None:
    cache = QueryCache(enabled=True, budget=4000)
    calls: list[str] = []

    def compute(text: str, cacheable: bool = True) -> tuple[bytes, bool]:
        calls.append(text)
        return text.encode() * 100, cacheable

    assert cache.get(("ns", 1, "a"), lambda: compute("a")).body == b"a" * 100
    assert cache.get(("ns", 1, "a"), lambda: compute("a")).body == b"a" * 100
    assert calls == ["a"]
    cache.get(("ns", 2, "a"), lambda: compute("a"))  # the head moved: computed again
    cache.get(("ns", 3, "u"), lambda: compute("u", cacheable=False))
    cache.get(("ns", 3, "u"), lambda: compute("u", cacheable=False))
    assert calls == ["a", "a", "u", "u"]
    for i in range(50):  # far over the budget: the oldest entries go
        cache.get(("ns", 4, i), lambda i=i: compute(f"{i:02d}"))
    assert cache._size <= cache.budget
    with pytest.raises(ZeroDivisionError):
        cache.get(("ns", 5, "boom"), lambda: (b"", 1 / 0 > 0))
    assert ("ns", 5, "boom") not in cache._entries


def test_concurrent_misses_compute_once() -> None:
    cache = QueryCache(enabled=True)
    gate = threading.Event()
    calls = []

    def slow() -> tuple[bytes, bool]:
        calls.append(1)
        gate.wait()
        return b"answer", True

    threads = [threading.Thread(target=cache.get, args=(("k",), slow)) for _ in range(8)]
    for t in threads:
        t.start()
    while not calls:
        gate.wait(0.01)
    gate.set()
    for t in threads:
        t.join()
    assert calls == [1] and cache.get(("k",), slow).body == b"answer"


def test_switched_off_every_request_computes() -> None:
    cache = QueryCache(enabled=False)
    calls = []
    for _ in range(3):
        cache.get(("k",), lambda: (calls.append(1) or b"x", True))  # type: ignore[func-returns-value]
    assert len(calls) == 3


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_a_new_event_makes_the_next_answer_fresh(server: ServerProcess, admin: httpx.Client) -> None:
    tag = uuid.uuid4().hex
    events = [{"type": "ArtifactRecorded", "payload": {"digest": _digest(f"{tag}-{i}"), "kind": "dataset",
                                                      "name": f"{tag}-{i}"}} for i in range(40)]
    events += [
        {
            "type": "ArtifactDerived",
            "payload": {"parent": _digest(f"{tag}-{i}"), "child": _digest(f"{tag}-{i + 1}")},
        }
        for i in range(38)
    ]
    assert admin.post("/events/batch", json={"events": events}).status_code == 200
    leaf = _digest(f"{tag}-38")
    first = admin.get("/trace", params={"ref": leaf})
    assert first.json()["count"] == 38
    assert first.headers.get("content-encoding") == "gzip"  # httpx asks for gzip; it decodes transparently
    plain = httpx.get(
        f"{server.url}/api/v1/trace",
        params={"ref": leaf},
        headers={"Authorization": admin.headers["authorization"], "Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers and plain.json() == first.json()
    assert admin.post("/events", json={"type": "ArtifactDerived", "payload": {
        "parent": _digest(f"{tag}-39"), "child": _digest(f"{tag}-0")}}).status_code == 200
    assert admin.get("/trace", params={"ref": leaf}).json()["count"] == 39
    remote = admin.post("/query/lineage", json={"ref": leaf}).json()
    assert remote["count"] == 39 and remote["root"] == leaf


def test_the_setting_turns_it_off_or_sizes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLINEAGE_SERVER_QUERY_CACHE", "0")
    assert not QueryCache().enabled
    monkeypatch.setenv("MLINEAGE_SERVER_QUERY_CACHE", "64")
    assert QueryCache().enabled and QueryCache().budget == 64 * 1024 * 1024
    monkeypatch.delenv("MLINEAGE_SERVER_QUERY_CACHE")
    assert QueryCache().enabled and QueryCache().budget == 256 * 1024 * 1024


def test_a_large_lineage_answer_streams_the_same_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from mlineage.server import answers
    from mlineage.server.app import create_app

    app = create_app(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "objects", auth=False, worker=False)
    events = [{"type": "ArtifactRecorded", "payload": {"digest": _digest(f"s{i}"), "kind": "dataset"}}
              for i in range(30)]
    events += [
        {"type": "ArtifactDerived", "payload": {"parent": _digest(f"s{i}"), "child": _digest(f"s{i + 1}")}}
        for i in range(29)
    ]
    with TestClient(app) as c:
        assert c.post("/api/v1/events/batch", json={"events": events}).status_code == 200
        whole = c.get("/api/v1/trace", params={"ref": _digest("s29")})
        monkeypatch.setattr(answers, "STREAM_MIN_NODES", 10)
        streamed = c.get("/api/v1/trace", params={"ref": _digest("s29")})  # cached whole under this head
        assert streamed.json() == whole.json()
        assert c.post("/api/v1/events", json={"type": "ArtifactRecorded", "payload": {
            "digest": _digest("other"), "kind": "file"}}).status_code == 200
        streamed = c.get("/api/v1/trace", params={"ref": _digest("s29")})
        assert "content-length" not in streamed.headers and "content-encoding" not in streamed.headers
        assert streamed.json() == whole.json() and streamed.json()["count"] == 29
        posted = c.post("/api/v1/query/lineage", json={"ref": _digest("s29")})
        assert posted.json() == whole.json()


def test_a_cached_answer_is_served_before_fastapi_with_the_same_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from mlineage.server.app import create_app
    from mlineage.server.routers import lineage

    app = create_app(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "objects", worker=False)
    tokens = app.fastapi.state.server.tokens
    admin = {"Authorization": f"Bearer {tokens.create('admin', 'admin', '*')[0]}"}
    team = {"Authorization": f"Bearer {tokens.create('team', 'read', 'team-b')[0]}"}
    events = [{"type": "ArtifactRecorded", "payload": {"digest": _digest(f"f{i}"), "kind": "dataset"}}
              for i in range(5)]
    events += [
        {"type": "ArtifactDerived", "payload": {"parent": _digest(f"f{i}"), "child": _digest(f"f{i + 1}")}}
        for i in range(4)
    ]
    leaf = {"ref": _digest("f4")}
    with TestClient(app) as c:
        assert c.post("/api/v1/events/batch", json={"events": events}, headers=admin).status_code == 200
        computed = c.get("/api/v1/trace", params=leaf, headers=admin)  # through FastAPI: computed and kept
        assert computed.json()["count"] == 4

        def not_called(*_args: object, **_kw: object) -> None:
            raise AssertionError("FastAPI's route answered a cached query")

        monkeypatch.setattr(lineage, "answer", not_called)
        served = c.get("/api/v1/trace", params=leaf, headers=admin)
        assert served.status_code == 200 and served.content == computed.content
        assert served.headers["content-encoding"] == computed.headers["content-encoding"] == "gzip"
        plain = c.get("/api/v1/trace", params=leaf, headers={**admin, "Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.json() == computed.json()
        with pytest.raises(AssertionError, match="FastAPI's route"):  # kept per namespace: not served
            c.get("/api/v1/trace", params=leaf, headers=team)
        # what FastAPI refuses is still refused, cached or not
        assert c.get("/api/v1/trace", params=leaf).status_code == 401
        nope = {"Authorization": "Bearer nope"}
        assert c.get("/api/v1/trace", params=leaf, headers=nope).status_code == 401
        assert c.get("/api/v1/trace", params={**leaf, "depth": "-1"}, headers=admin).status_code == 422
        monkeypatch.undo()
        # a new event moves the head: the next answer is computed again
        assert c.post("/api/v1/events/batch", json={"events": [
            {"type": "ArtifactRecorded", "payload": {"digest": _digest("g"), "kind": "dataset"}},
            {"type": "ArtifactDerived", "payload": {"parent": _digest("g"), "child": _digest("f0")}},
        ]}, headers=admin).status_code == 200
        assert c.get("/api/v1/trace", params=leaf, headers=admin).json()["count"] == 5


def test_lineage_params_are_read_like_the_routes_read_them() -> None:
    from mlineage.server.fast_answers import lineage_params

    assert lineage_params(b"ref=sha256%3Aab") == ("sha256:ab", None, 100_000)
    assert lineage_params(b"ref=x&depth=3&limit=7") == ("x", 3, 7)
    for refused in (b"", b"ref=", b"ref=x&ref=y", b"ref=x&other=1", b"ref=x&depth=-1", b"ref=x&depth=+1",
                    b"ref=x&limit=0", b"ref=x&depth=%201", b"ref=" + b"x" * 401, b"ref=%ff"):
        assert lineage_params(refused) is None, refused


def test_the_ledger_head_is_asked_again_when_any_process_appended(tmp_path: Path) -> None:
    from mlineage.server.head import HeadSignal, LedgerHead

    database = {"head": 1}
    asked: list[str] = []

    def ask(who: str) -> int:
        asked.append(who)
        return database["head"]

    path = str(tmp_path / "head")  # what two server processes share
    a = LedgerHead(lambda: ask("a"), HeadSignal(path), recheck_s=10**9)
    b = LedgerHead(lambda: ask("b"), HeadSignal(path), recheck_s=10**9)
    assert (a.current(), b.current(), a.current(), b.current()) == (1, 1, 1, 1)
    assert asked == ["a", "b"]  # nothing appended: no more round trips
    database["head"] = 2
    a.moved()  # a appended (committed), then told the others
    assert b.current() == 2 and a.current() == 2
    assert asked == ["a", "b", "b", "a"]
    database["head"] = 3  # written straight into the database: seen when the recheck interval is up
    assert b.current() == 2
    always = LedgerHead(lambda: ask("c"), HeadSignal(), recheck_s=0)
    assert always.current() == 3 and always.current() == 3 and asked[-2:] == ["c", "c"]
