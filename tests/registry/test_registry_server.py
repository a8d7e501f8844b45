"""The registry against a real team server (MLINEAGE_URI): registration, alias moves, ``NAME@production`` in a
run, the compare-and-set conflict raised as the same class, and a teammate's CLI reading the history through
``/api/v1/registry``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.conftest import backend_uri, server  # noqa: F401
from tests.team.conftest import ServerProcess, machine, write_token

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
c.store.flush()
inputs, _ = c.store.io_of_run(r.id)
print(json.dumps({"digests": digests, "used": str(used.digest), "inputs": [str(a.digest) for a, _ in inputs],
                  "conflict": conflict, "refused": refused,
                  "now": str(c.resolve("srv-model@production").digest)}))
"""


def test_registry_through_a_team_server(server: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    token = write_token(server.store_uri)
    one = machine(tmp_path, "one", server.url, token)
    out = json.loads(one.python(SCRIPT).stdout.strip().splitlines()[-1])
    first, second = out["digests"]
    assert out["used"] == first and out["inputs"] == [first]
    assert out["now"] == second
    assert "is @2 now, not @1" in out["conflict"]
    assert "gate 'auditability' fail" in out["refused"]

    two = machine(tmp_path, "two", server.url, token)  # a teammate reads the same history
    moves = json.loads(two.cli("alias", "history", "srv-model", "production", "--json").stdout)
    assert [(m["from"], m["to"], m["reason"]) for m in moves] == [(None, 1, "first"), (1, 2, "")]
    shown = json.loads(two.cli("alias", "show", "srv-model", "production", "--as-of",
                               f"seq:{moves[0]['seq']}", "--json").stdout)
    assert shown["digest"] == first
    bad = two.cli("alias", "set", "srv-model", "2", "@1", check=False)
    assert bad.returncode == 1 and "looks like a version number" in bad.stderr
