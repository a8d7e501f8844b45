"""The registry against a real team server (MLINEAGE_URI): registration, alias moves, ``NAME@production`` in a
run, the compare-and-set conflict raised as the same class, and a teammate's CLI reading the history through
``/api/v1/registry``. One backend only (PostgreSQL, what a team server runs): the
embedded tests cover both, and a server start is most of this test's time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import ServerProcess, backend_store
from tests.team.conftest import machine, write_token

from .receiver import Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(statuses=[502]) as rx:
        yield rx


@pytest.fixture(scope="module")
def server(backend_uri: str, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    """A team server whose webhooks (MLINEAGE_WEBHOOKS) post to the loopback receiver."""
    import os

    folder = tmp_path_factory.mktemp("hooks")
    config = folder / "webhooks.toml"
    config.write_text(f'[[webhooks]]\nurl = "{receiver.url}"\nsecret = "team-secret"\nbackoff_s = 0.01\n')
    os.environ["MLINEAGE_WEBHOOKS"] = str(config)
    try:
        proc = ServerProcess(backend_uri, tmp_path_factory.mktemp("objects") / "objects").start()
    finally:
        del os.environ["MLINEAGE_WEBHOOKS"]
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def backend_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PostgreSQL, what a team server runs (the embedded tests cover both backends)."""
    yield from backend_store("postgresql", tmp_path_factory)

SCRIPT = """
import json
from pathlib import Path
import mlineage
from mlineage.errors import AliasConflictError, PromotionRefusedError
from mlineage.gates import parse_policy
from mlineage.registry import service

c = mlineage.Client()
digests = []
for i in range(2):
    Path(f"m{i}.bin").write_text(f"weights {i}\\n")
    digests.append(c.register_model(f"m{i}.bin", "srv-model")["digest"])
c.set_alias("srv-model", "production", "@1", reason="first")
with mlineage.run("score", kind="evaluate", client=c, capture=False) as r:
    used = r.use("srv-model#production", kind="model")
c.set_alias("srv-model", "production", "@2")
try:
    service.set_alias(c, "srv-model", "production", "@1", expected=1)  # a stale read
    conflict = None
except AliasConflictError as exc:
    conflict = str(exc)
policy = parse_policy("gates:\\n  - gate: auditability\\n    for: {kind: model}\\n")
try:
    c.promote("srv-model@1", "staging", policy=policy)
    refused = None
except PromotionRefusedError as exc:
    refused = str(exc)
now = str(c.resolve("srv-model@production").digest)
c.set_approval("srv-model@2", "rejected", reason="drifted")
opened = c.open_incident(digests[1], reason="bad weights")
hit = c.incident_impact(opened["id"])
back = c.rollback_alias("srv-model", "production", opened["id"])
closed = c.close_incident(opened["id"], "rolled back")
c.store.flush()
inputs, _ = c.store.io_of_run(r.id)
print(json.dumps({"digests": digests, "used": str(used.digest), "inputs": [str(a.digest) for a, _ in inputs],
                  "conflict": conflict, "refused": refused,
                  "now": now, "hit": [(v["version"], len(v["path"])) for v in hit["versions"]],
                  "hit_aliases": [(a["alias"], a["now"]) for a in hit["aliases"]],
                  "closed": closed["resolution"],
                  "back": [back["from"], back["to"], [s["version"] for s in back["skipped"]]]}))
"""


def test_registry_through_a_team_server(server: ServerProcess, receiver: Receiver, tmp_path: Path) -> None:
    token = write_token(server.store_uri)
    one = machine(tmp_path, "one", server.url, token)
    out = json.loads(one.python(SCRIPT).stdout.strip().splitlines()[-1])
    first, second = out["digests"]
    assert out["used"] == first and out["inputs"] == [first]
    assert out["now"] == second
    assert out["back"] == [2, 1, [2]]
    assert out["hit"] == [[2, 1]] and out["hit_aliases"] == [["production", True]]
    assert out["closed"] == "rolled back"
    assert "is @2 now, not @1" in out["conflict"]
    assert "gate 'auditability' fail" in out["refused"]

    two = machine(tmp_path, "two", server.url, token)  # a teammate reads the same history
    moves = json.loads(two.cli("alias", "history", "srv-model", "production", "--json").stdout)
    assert [(m["from"], m["to"]) for m in moves] == [(None, 1), (1, 2), (2, 1)]
    assert moves[0]["reason"] == "first" and "skipped @2" in moves[2]["reason"]
    shown = json.loads(two.cli("alias", "show", "srv-model", "production", "--as-of",
                               f"seq:{moves[0]['seq']}", "--json").stdout)
    assert shown["digest"] == first
    two.cli("deploy", "srv-model@production", "--endpoint", "srv-scoring", "--env", "prod")
    served = json.loads(one.cli("endpoint", "history", "srv-scoring", "--json").stdout)
    assert [(d["version"], d["alias"], d["digest"]) for d in served] == [(1, "production", first)]
    bad = two.cli("alias", "set", "srv-model", "2", "@1", check=False)
    assert bad.returncode == 1 and "looks like a version number" in bad.stderr

    listed = json.loads(two.cli("models", "srv-model", "--json").stdout)
    assert [(v["version"], v["approval"]) for v in listed["versions"]] == [(1, "pending"), (2, "rejected")]
    assert listed["versions"][1]["approval_reason"] == "drifted"

    # the server delivered its appends to the webhook (after one 502, retried), signed with its secret
    from mlineage.webhooks import SIGNATURE_HEADER, verify_signature

    for _ in range(500):  # bounded wait for the server's background delivery
        if sum(1 for e in receiver.events() if e["type"] == "IncidentClosed"):
            break
        import time
        time.sleep(0.02)
    types = [e["type"] for e in receiver.events()]
    assert types.count("AliasSet") == 4  # three moves, the first one twice (a 502, then delivered)
    assert {"ModelApprovalChanged", "IncidentOpened", "IncidentClosed"} <= set(types)
    assert all(verify_signature(b"team-secret", body, h[SIGNATURE_HEADER]) for body, h in receiver.received)

    # an erasure runs on the server, an admin's act; the teammate's verify then lists it
    refused = two.cli("erase", second, "--reason", "GDPR", check=False)
    assert refused.returncode == 1 and "admin" in refused.stderr
    admin = machine(tmp_path, "admin", server.url, write_token(server.store_uri, "read,write,admin", "*"))
    done = json.loads(admin.cli("erase", second, "--reason", "GDPR", "--ticket", "DSR-9", "--json").stdout)
    assert done["affected"] == ["srv-model@2"] and done["blobs"] == [second]  # the erased model itself
    early = admin.cli("erasure", "close", done["id"], "--resolution", "done", check=False)
    assert early.returncode == 1 and "no decision yet for srv-model@2" in early.stderr
    two.cli("erasure", "decide", done["id"], "srv-model@2", "retrain", "--reason", "without the rows")
    closed = json.loads(admin.cli("erasure", "close", done["id"], "--resolution", "retrained",
                                  "--json").stdout)
    assert closed["resolution"] == "retrained" and closed["decisions"][0]["decision"] == "retrain"
    assert json.loads(two.cli("verify", "--json").stdout)["ok"] is True
