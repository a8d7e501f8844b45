"""Dataset versions against a real team server (MLINEAGE_URI): the same semantic versions, profiles, diffs
and rollbacks as on the embedded store, read through ``/api/v1/datasets``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server.conftest import backend_uri, server  # noqa: F401
from tests.team.conftest import ServerProcess, machine, write_token

SCRIPT = """
import json, mlineage
import pyarrow as pa, pyarrow.parquet as pq
from mlineage import Client, Dataset

client = mlineage.default_client()
digests = []
for x in ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], [1.0, 2.5, 3.0, 4.0]):
    pq.write_table(pa.table({"id": list(range(len(x))), "x": x}), "t.parquet")
    a = client.record_artifact("t.parquet", kind="dataset", name="remote-t")
    p = client.give_semver("remote-t", str(a.digest), a.version, key=["id"])
    digests.append((a.version, p.semver, p.level))
d = mlineage.diff("remote-t@1.0.0", "remote-t@1.1.0", key="id")
ds = Dataset("remote-t")
versions = ds.versions()
profile = ds.profile("1.1.0")
print(json.dumps({"given": digests, "diff": d.to_dict(), "rows": [(v["semver"], v["rows"]) for v in versions],
                  "profile_rows": profile.rows}))
"""


@pytest.fixture(scope="module")
def team(server: ServerProcess) -> tuple[ServerProcess, str]:  # noqa: F811
    return server, write_token(server.store_uri)


def test_semver_diff_and_profile_through_the_server(team: tuple[ServerProcess, str], tmp_path: Path) -> None:
    srv, token = team
    one = machine(tmp_path, "one", srv.url, token)
    out = json.loads(one.python(SCRIPT).stdout.strip().splitlines()[-1])
    assert [tuple(g) for g in out["given"]] == [
        (1, "1.0.0", "initial"),
        (2, "1.0.1", "patch"),
        (3, "1.1.0", "minor"),
    ]
    assert out["diff"]["table"]["rows"]["added"] == 1 and out["diff"]["table"]["rows"]["changed"] == 1
    assert out["diff"]["a"]["semver"] == "1.0.0"
    assert [tuple(r) for r in out["rows"]] == [("1.0.0", 3), ("1.0.1", 3), ("1.1.0", 4)]
    assert out["profile_rows"] == 4

    two = machine(tmp_path, "two", srv.url, token)  # a teammate sees the same from another machine
    listed = json.loads(two.cli("versions", "remote-t", "--json").stdout)
    assert [(r["semver"], r["level"]) for r in listed] == [
        ("1.0.0", "initial"),
        ("1.0.1", "patch"),
        ("1.1.0", "minor"),
    ]
    d = json.loads(two.cli("diff", "remote-t@1.0.1", "remote-t@1.1.0", "--key", "id", "--json").stdout)
    assert d["verdict"] == {"level": "minor", "reasons": ["minor: 1 row added"]}
    drift = two.cli("drift", "remote-t@1", "remote-t@1.0.1", check=False)
    assert drift.returncode in (0, 1) and "column(s) drifted" in drift.stdout
    missing = two.cli("diff", "remote-t@9.9.9", "remote-t@1", check=False)
    assert missing.returncode == 1 and "remote-t has no version 9.9.9" in missing.stderr
