"""docs/server.md's team workflow, run as written: one server on PostgreSQL with an S3 artifact store (moto's
standalone server on loopback), and two machines -- separate HOME and working folder, nothing but
MLINEAGE_URI and MLINEAGE_TOKEN set. Alice trains; Bob traces, fetches the model and pulls the data, gets
verified bytes, and ``closure`` agrees on both machines."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import free_port

from .conftest import SRC

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"
URL_IN_DOCS = "https://mlineage.example.com"


def _blocks() -> tuple[str, str, str, str]:
    section = DOCS.read_text().split("## Team workflow", 1)[1].split("\n## ", 1)[0]
    bash = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    python = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(bash) == 3 and len(python) == 1, "the team workflow's code blocks changed: update this test"
    return bash[0], python[0], bash[1], bash[2]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_") and k != "XDG_CACHE_HOME"}
    env.update(HOME=str(home), PYTHONPATH=SRC, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    return env


def _bash(script: str, cwd: Path, home: Path) -> str:
    done = subprocess.run(
        ["bash", "-eu", "-c", script],
        cwd=cwd,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


def _folders(root: Path, name: str) -> tuple[Path, Path]:
    home, work = root / name / "home", root / name / "work"
    home.mkdir(parents=True)
    work.mkdir(parents=True)
    return home, work


@pytest.mark.full_capture
def test_the_documented_team_workflow_runs_on_two_machines(pg_url: str, s3_bucket: str, s3_endpoint: str,
                                                            tmp_path: Path) -> None:
    admin_block, train_py, alice_block, bob_block = _blocks()
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def concrete(text: str) -> str:
        return (text.replace("postgresql://db/mlineage", shlex.quote(pg_url))
                .replace("s3://ml-artifacts/team", f"s3://{s3_bucket}/team").replace(URL_IN_DOCS, url)
                .replace("--host 0.0.0.0 --port 8470", f"--host 127.0.0.1 --port {port}"))

    host_home, host = _folders(tmp_path, "server-host")
    *token_lines, serve_line = concrete(admin_block).strip().splitlines()
    _bash("\n".join(token_lines), host, host_home)
    tokens = {who: (host / f"{who}.token").read_text().strip() for who in ("alice", "bob")}
    with open(host / "server.log", "wb") as log:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {serve_line}"],
            cwd=host,
            env=_env(host_home),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(600):  # bounded polling until the server answers (no timing assertion)
            assert server.poll() is None, (host / "server.log").read_text()
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                subprocess.run(["sleep", "0.1"], check=True)

        alice_home, alice = _folders(tmp_path, "alice")
        (alice / "data").mkdir()
        (alice / "data" / "train.csv").write_text("x,y\n1,0\n2,1\n")
        (alice / "train.py").write_text(train_py)
        _bash(concrete(alice_block).replace("mlt_alice...", tokens["alice"]), alice, alice_home)

        bob_home, bob = _folders(tmp_path, "bob")
        (bob / "data.lin").write_text((alice / "data.lin").read_text())  # what git carries between them
        out = _bash(concrete(bob_block).replace("mlt_bob...", tokens["bob"]), bob, bob_home)
        assert "churn-model" in out and "reproducible" in out

        model = (alice / "model.bin").read_bytes()
        assert (bob / "models" / "churn.bin").read_bytes() == model  # verified bytes, fetched by name
        assert (bob / "data" / "train.csv").read_text() == "x,y\n1,0\n2,1\n"  # the pointer, pulled

        def closure(home: Path, work: Path, token: str) -> dict[str, object]:
            text = _bash(
                f"MLINEAGE_URI={url} MLINEAGE_TOKEN={token} mlineage closure churn-model --json", work, home
            )
            return json.loads(text)  # type: ignore[no-any-return]

        on_alice = closure(alice_home, alice, tokens["alice"])
        on_bob = closure(bob_home, bob, tokens["bob"])
        assert on_alice == on_bob and on_alice["reproducible"] is True, on_alice
        categories = {a["category"] for a in on_alice["anchors"]}  # type: ignore[union-attr]
        assert {"data", "code", "environment"} <= categories

        import hashlib

        import boto3

        digest = hashlib.sha256(model).hexdigest()
        keys = {o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
                .list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
        assert f"team/sha256/{digest[:2]}/{digest[2:]}" in keys  # the bytes live in the bucket
        assert not (alice / ".mlineage" / "objects" / "sha256" / digest[:2]).exists()  # not on Alice's disk
    finally:
        server.terminate()
        server.wait(timeout=30)
