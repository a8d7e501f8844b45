"""The registry against a real team server (MLINEAGE_URI): registration, alias moves, ``NAME@production`` in a
run, the compare-and-set conflict raised as the same class, and a teammate's CLI reading the history through
``/api/v1/registry``. One backend only (PostgreSQL, what a team server runs; SQLite where it is missing): the
embedded tests cover both, and a server start is most of this test's time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, _pg_available, drop_pg_schema, make_pg_schema_url
from tests.server.conftest import server  # noqa: F401
from tests.team.conftest import ServerProcess, machine, write_token


@pytest.fixture(scope="module")
def backend_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _pg_available() is not None:
        yield f"sqlite:///{tmp_path_factory.mktemp('srv') / 'store.db'}"
        return
    url, schema = make_pg_schema_url(PG_ADMIN_URL)
    yield url
    drop_pg_schema(PG_ADMIN_URL, schema)

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


def test_registry_through_a_team_server(server: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
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
