"""Retention through the Python API and on a team server: ``Client.retention_plan`` on the embedded store
(both backends), and ``POST /api/v1/admin/gc`` removing expired blobs from the server's artifact store while
a registered model's training data stays. The server test runs on SQLite only: a server start is most of
its time, and the plan itself is covered on both backends here and in tests/data/test_workspace.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlineage.errors import ValidationError
from mlineage.sdk.client import Client
from tests.server.conftest import ServerProcess
from tests.team.conftest import machine, write_token


def test_client_retention_plan(client: Client, tmp_path: Path) -> None:
    """keep_last=1: version 1 trained a registered model (protected, with why), version 2 expires, version 3
    is the newest; a plan removes nothing."""
    from mlineage.sdk.run import run

    data = tmp_path / "features.csv"
    digests = []
    for i in range(3):
        data.write_text(f"x\n{i}\n")
        digests.append(str(client.record_artifact(data, name="features.csv").digest))
    with run("train", kind="train", client=client, capture=False) as r:
        r.use(digests[0])
        (tmp_path / "model.bin").write_text("weights\n")
        model = r.produce(str(tmp_path / "model.bin"), kind="model")
    client.register_model(model, "clf")
    client.set_alias("clf", "production", "@1")

    planned = client.retention_plan(keep_last=1)
    assert [e["digest"] for e in planned["expired"]] == [digests[1]]
    assert planned["protected"] == [{"digest": digests[0],
                                     "why": ["ancestor of clf@1 (registered; alias production)"]}]
    assert client.retention_plan(older_than="30d")["expired"] == []  # nothing that old
    assert client.blobs.has(client.artifact(digests[1]).digest)  # a plan deletes nothing
    with pytest.raises(ValidationError, match="at least 1"):
        client.retention_plan(keep_last=0)
    with pytest.raises(ValidationError, match="give a rule"):
        client.retention_plan()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("gc")
    proc = ServerProcess(f"sqlite:///{folder / 'store.db'}", folder / "objects").start()
    yield proc
    proc.stop()


SCRIPT = """
import json
from pathlib import Path
import mlineage
from mlineage.sdk.run import run

c = mlineage.Client()
digests = []
for i in range(3):
    Path("features.csv").write_text(f"x\\n{i}\\n")
    digests.append(str(c.record_artifact("features.csv", name="features.csv").digest))
with run("train", kind="train", client=c, capture=False) as r:
    r.use(digests[0])
    Path("model.bin").write_text("weights\\n")
    model = r.produce("model.bin", kind="model")
c.register_model(model, "gc-model")
c.store.flush()
print(json.dumps(digests))
"""


def test_gc_on_a_team_server(server: ServerProcess, tmp_path: Path) -> None:
    import httpx

    one = machine(tmp_path, "one", server.url, write_token(server.store_uri))
    digests = json.loads(one.python(SCRIPT).stdout.strip().splitlines()[-1])
    admin_token = write_token(server.store_uri, "read,write,admin", "*")
    headers = {"Authorization": f"Bearer {admin_token}"}

    def blob(d: str) -> int:
        return httpx.get(f"{server.url}/api/v1/blobs/{d}", headers=headers).status_code

    # a teammate's token (read, write) is refused; so is an admin of one namespace (the store is shared)
    for scopes, namespace in (("read,write", "default"), ("read,write,admin", "default")):
        token = write_token(server.store_uri, scopes, namespace)
        refused = httpx.post(f"{server.url}/api/v1/admin/gc", json={"keep_last": 1, "dry_run": False},
                             headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403
    planned = one.python("import mlineage, json; print(json.dumps(mlineage.Client().retention_plan(1)))",
                         check=False)
    assert planned.returncode != 0  # Client.retention_plan against a server needs an admin token for '*'
    admin = machine(tmp_path, "admin", server.url, admin_token)
    dry = json.loads(admin.python("import mlineage, json; "
                                  "print(json.dumps(mlineage.Client().retention_plan(keep_last=1)))"
                                  ).stdout.strip().splitlines()[-1])
    assert dry["would_remove"] == [digests[1]] and dry["removed"] == []
    assert dry["unreadable_manifest"] is False
    assert blob(digests[1]) == 200

    done = httpx.post(f"{server.url}/api/v1/admin/gc", json={"keep_last": 1, "dry_run": False},
                      headers=headers).json()
    assert [e["digest"] for e in done["expired"]] == [digests[1]] and done["removed"] == [digests[1]]
    (protected,) = done["protected"]
    assert protected["digest"] == digests[0] and protected["why"] == ["ancestor of gc-model@1 (registered)"]
    assert blob(digests[1]) == 404  # removed from the server's artifact store
    assert blob(digests[0]) == 200 and blob(digests[2]) == 200  # protected; the newest
