"""R(m) against a real team server: the writer's `reproducible` and `closure`, the server's own routes, and a
teammate all give one verdict and one exit code, judged on the server's artifact store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import ServerProcess, machine, write_token

pytestmark = pytest.mark.full_capture

TRAIN = """
import mlineage
from pathlib import Path
Path("data.csv").write_text("a,b\\n1,2\\n")
with mlineage.run("train", kind="train", params={"seed": 1}) as run:
    run.use("data.csv")
    Path("model.bin").write_bytes(b"weights")
    run.produce("model.bin", kind="model", name="team-model")
"""


def _answers(server: ServerProcess, token: str, who: list[object]) -> list[tuple[int, bool, list[str]]]:
    out = []
    for m in who:
        done = m.cli("reproducible", "team-model", "--json", check=False)  # type: ignore[attr-defined]
        report = json.loads(done.stdout)
        out.append((done.returncode, report["reproducible"], report["reasons"]))
        closure = m.cli("closure", "team-model", "--json", check=False)  # type: ignore[attr-defined]
        body = json.loads(closure.stdout)
        out.append((closure.returncode, body["reproducible"], body["direct_predicate"]["reasons"]))
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as http:
        got = http.get("/reproduce/reproducible", params={"ref": "team-model"}).json()
        out.append((0 if got["reproducible"] else 1, got["reproducible"], got["reasons"]))
        closure = http.get("/closure", params={"ref": "team-model"}).json()
        out.append(
            (
                0 if closure["reproducible"] else 1,
                closure["reproducible"],
                closure["direct_predicate"]["reasons"],
            )
        )
    return out


def test_writer_teammate_and_server_agree(server: ServerProcess, tmp_path: Path) -> None:
    token = write_token(server.store_uri)
    writer = machine(tmp_path, "writer", server.url, token)
    subprocess.run(["git", "init", "-q"], cwd=writer.work, check=True)
    (writer.work / ".gitignore").write_text("*.csv\n*.bin\n")
    subprocess.run(["git", "add", "-A"], cwd=writer.work, check=True)
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"],
        cwd=writer.work,
        check=True,
    )
    writer.python(TRAIN)
    teammate = machine(tmp_path, "teammate", server.url, token)
    good = _answers(server, token, [writer, teammate])
    assert {(code, ok) for code, ok, _ in good} == {(0, True)}

    data = (writer.work / "data.csv").read_bytes()
    import hashlib

    hexdigest = hashlib.sha256(data).hexdigest()
    [blob] = [p for p in Path(server.artifacts).rglob("*") if p.is_file() and p.name == hexdigest[2:]]
    blob.unlink()  # the server's copy of the training data is gone
    bad = _answers(server, token, [writer, teammate])
    assert {(code, ok) for code, ok, _ in bad} == {(1, False)}
    assert len({tuple(reasons) for _, _, reasons in bad}) == 1
    assert f"input sha256:{hexdigest[:12]}… (data.csv) is not in the artifact store" in bad[0][2][0]


REUSE = """
from pathlib import Path
import mlineage
Path("in.txt").write_text("21")
with mlineage.run("double", reuse=True, params={"k": 2}, inputs=["in.txt"], outputs=["out.txt"]) as run:
    print(run.lookup.explain())
    if not run.reused:
        Path("out.txt").write_text(str(int(Path("in.txt").read_text()) * 2))
"""


def test_reuse_asks_the_server_and_restores_from_its_artifact_store(
    server: ServerProcess, tmp_path: Path
) -> None:
    token = write_token(server.store_uri)
    one = machine(tmp_path, "one", server.url, token)
    assert "miss" in one.python(REUSE).stdout
    (one.work / "out.txt").unlink()
    hit = one.python(REUSE).stdout
    assert hit.startswith("hit: run"), hit
    assert (one.work / "out.txt").read_text() == "42"  # restored from the server's artifact store
    # another machine, outside git: its script is another file, so the code term differs (the server says so)
    two = machine(tmp_path, "two", server.url, token)
    assert "of the same job differs in: code" in two.python(REUSE).stdout


SCORE = """
import json, sys
from pathlib import Path
import mlineage
with mlineage.run("score", params={"scale": float(sys.argv[1]), "seed": 0}) as run:
    run.use("data/in.json")
    values = json.loads(Path("data/in.json").read_text())
    Path("out").mkdir(exist_ok=True)
    Path("out/metrics.json").write_text(json.dumps({"total": sum(values) * run.params["scale"]}))
    run.produce("out/metrics.json", kind="metrics")
"""


def test_a_full_reproduce_through_the_server(server: ServerProcess, tmp_path: Path) -> None:
    """``mlineage reproduce`` with nothing but MLINEAGE_URI: the input and the stored manifests come from the
    server's artifact store (the local copy is gone), the re-run is recorded on the server with its verdict,
    and a teammate sees it."""
    token = write_token(server.store_uri)
    m = machine(tmp_path, "repro", server.url, token)
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run(["git", "init", "-q"], cwd=m.work, check=True)
    (m.work / ".gitignore").write_text("data/\nout/\nscript.py\n")
    (m.work / "score.py").write_text(SCORE)
    subprocess.run(["git", "add", "-A"], cwd=m.work, check=True)
    subprocess.run([*git, "commit", "-qm", "score"], cwd=m.work, check=True)
    (m.work / "data").mkdir()
    (m.work / "data" / "in.json").write_text("[1, 2, 3]")
    m._run([sys.executable, "score.py", "2"], True)
    (m.work / "data" / "in.json").unlink()  # only the server has the input now
    done = m.cli("reproduce", "out/metrics.json", "--json", "--workdir", str(tmp_path / "w"), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    [step] = result["steps"]
    assert result["ok"] and step["verdict"] == "identical", result
    teammate = machine(tmp_path, "teammate", server.url, token)
    shown = json.loads(teammate.cli("show", f"run:{step['run']}", "--json").stdout)
    assert shown["reproducibility"]["reproducible"] is True
    trace = json.loads(teammate.cli("trace", f"run:{step['run']}", "--json").stdout)
    assert any(e["type"] == "REPRODUCES" for e in trace["edges"])
