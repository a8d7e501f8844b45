"""`mlineage ui`: the same pages on a project's own store, for the local user (no token), on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server.conftest import free_port


def test_mlineage_ui_serves_the_project_without_a_login(project: Path) -> None:
    port = free_port()
    env = dict(os.environ)
    log = open(project.parent / "ui.log", "wb")  # noqa: SIM115 (closed below, after the process)
    args = [sys.executable, "-m", "mlineage.cli.main", "ui", "--no-open", "--port", str(port)]
    proc = subprocess.Popen(args, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(600):  # bounded polling until the port answers (no timing assertion)
            assert proc.poll() is None, (project.parent / "ui.log").read_text()
            try:
                shell = httpx.get(f"http://127.0.0.1:{port}/lineage/x", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert shell.status_code == 200 and "/ui/static/app.js" in shell.text
        assert "frame-ancestors 'none'" in shell.headers["content-security-policy"]
        who = httpx.get(f"http://127.0.0.1:{port}/api/v1/whoami", timeout=10).json()
        assert who["namespace"] == "*"  # the one local user
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/counts", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
