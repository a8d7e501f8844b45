"""``mlineage get`` and pointer files (push / pull / checkout) against the team server, bytes verified."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from .conftest import Machine, ServerProcess, machine, write_token

PRODUCE = """
import os, mlineage
os.makedirs("tokenizer/sub", exist_ok=True)
with open("tokenizer/vocab.txt", "w") as f:
    f.write("a b c")
with open("tokenizer/sub/run.sh", "w") as f:
    f.write("echo hi")
os.chmod("tokenizer/sub/run.sh", 0o755)
with mlineage.run("train", kind="train") as run:
    for v in (b"v1", b"v2"):
        with open("model.bin", "wb") as out:
            out.write(v * 500)
        run.produce("model.bin", kind="model", name="model")
    run.produce("tokenizer", kind="model", name="tokenizer")
"""


@pytest.fixture(scope="module")
def trained(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[ServerProcess, str]:
    token = write_token(server.store_uri)
    one = machine(tmp_path_factory.mktemp("team"), "one", server.url, token)
    one.python(PRODUCE)
    return server, token


def _teammate(trained: tuple[ServerProcess, str], tmp_path: Path) -> Machine:
    server, token = trained
    return machine(tmp_path, "two", server.url, token)


def test_get_by_name_version_and_digest(trained: tuple[ServerProcess, str], tmp_path: Path) -> None:
    two = _teammate(trained, tmp_path)
    latest = json.loads(two.cli("get", "model", "--json").stdout)
    assert latest["version"] == 2 and latest["path"] == "model.bin"
    assert (two.work / "model.bin").read_bytes() == b"v2" * 500
    two.cli("get", "model@1", "-o", "old/model.bin")
    assert (two.work / "old" / "model.bin").read_bytes() == b"v1" * 500
    two.cli("get", latest["digest"][:20], "-o", "by-digest.bin")
    assert (two.work / "by-digest.bin").read_bytes() == b"v2" * 500


def test_get_refuses_to_overwrite_without_force(trained: tuple[ServerProcess, str], tmp_path: Path) -> None:
    two = _teammate(trained, tmp_path)
    (two.work / "model.bin").write_bytes(b"mine")
    refused = two.cli("get", "model", check=False)
    assert refused.returncode == 1 and "pass -f" in refused.stderr and "Traceback" not in refused.stderr
    assert (two.work / "model.bin").read_bytes() == b"mine"
    two.cli("get", "model", "-f")
    assert (two.work / "model.bin").read_bytes() == b"v2" * 500


def test_get_a_directory_with_its_files_and_modes(trained: tuple[ServerProcess, str], tmp_path: Path) -> None:
    two = _teammate(trained, tmp_path)
    out = json.loads(two.cli("get", "tokenizer", "-o", "tok", "--json").stdout)
    assert out["files"] == 2
    assert (two.work / "tok" / "vocab.txt").read_text() == "a b c"
    script = two.work / "tok" / "sub" / "run.sh"
    assert script.read_text() == "echo hi" and os.stat(script).st_mode & stat.S_IXUSR


def test_a_corrupted_blob_is_never_placed(trained: tuple[ServerProcess, str], tmp_path: Path) -> None:
    server, _ = trained
    two = _teammate(trained, tmp_path)
    digest = json.loads(two.cli("show", "model@1", "--json").stdout)["digest"].split(":")[1]
    stored = Path(server.artifacts) / "sha256" / digest[:2] / digest[2:]
    original = stored.read_bytes()
    os.chmod(stored, 0o644)
    stored.write_bytes(b"tampered" + original[8:])
    try:
        failed = two.cli("get", "model@1", "-o", "m.bin", check=False)
    finally:
        stored.write_bytes(original)
    assert failed.returncode == 1 and "corrupted" in failed.stderr
    assert not (two.work / "m.bin").exists() and list(two.work.glob(".mlineage-tmp-*")) == []


def test_a_run_id_is_not_an_artifact(trained: tuple[ServerProcess, str], tmp_path: Path) -> None:
    two = _teammate(trained, tmp_path)
    run_id = json.loads(two.cli("runs", "--json").stdout)[0]["id"]
    refused = two.cli("get", run_id, check=False)
    assert refused.returncode == 1 and "is a run" in refused.stderr


def test_pointer_files_push_and_pull_through_the_server(
    trained: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, token = trained
    one = machine(tmp_path, "one", server.url, token)
    (one.work / "data" / "sub").mkdir(parents=True)
    (one.work / "data" / "a.csv").write_text("x\n1\n")
    (one.work / "data" / "sub" / "b.csv").write_text("y\n2\n")
    one.cli("init")
    one.cli("add", "data")
    pushed = json.loads(one.cli("push", "--json").stdout)
    assert pushed["transferred"] == 3 and pushed["remote"] == server.url  # two files and the manifest
    assert json.loads(one.cli("push", "--json").stdout)["transferred"] == 0  # the server has them all
    two = _teammate(trained, tmp_path)
    two.cli("init")
    (two.work / "data.lin").write_text((one.work / "data.lin").read_text())  # what git would carry
    two.cli("pull")
    assert (two.work / "data" / "sub" / "b.csv").read_text() == "y\n2\n"
    (two.work / "data" / "a.csv").unlink()
    two.cli("checkout")
    assert (two.work / "data" / "a.csv").read_text() == "x\n1\n"
