"""An installed server validates OpenLineage events with the schemas shipped inside the package: no checkout,
no ``shared/fixtures`` folder, no environment variable, no network."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import mlineage
from tests.server.conftest import OL_FIXTURES, ServerProcess, admin_token

PACKAGE = Path(mlineage.__file__).resolve().parent


def test_the_schemas_are_package_data() -> None:
    spec = PACKAGE / "interop" / "openlineage_spec"
    core = json.loads((spec / "OpenLineage.json").read_text())
    assert core["$id"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json"  # the pinned release
    assert len(list((spec / "facets").glob("*.json"))) >= 30
    assert "Apache License" in (spec / "LICENSE").read_text()
    pyproject = (PACKAGE.parents[1] / "pyproject.toml").read_text()
    assert (
        'packages = ["src/mlineage"]' in pyproject
    )  # hatch ships every file under the package, JSON included


def test_a_copy_of_the_package_alone_accepts_valid_openlineage_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, site / "mlineage", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PYTHONPATH", str(site))  # the server process imports only the copy
    monkeypatch.delenv("MLINEAGE_OPENLINEAGE_SPEC", raising=False)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    server = ServerProcess(store, tmp_path / "objects", log_dir=tmp_path)
    token = admin_token(store)
    event = json.loads(
        (OL_FIXTURES / "client" / "python" / "tests" / "serde_example_run_event.json").read_text()
    )
    try:
        server.start()
        with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as c:
            accepted = c.post("/lineage", json=event)
            assert accepted.status_code == 201, accepted.text
            refused = c.post("/lineage", json=dict(event, run={"runId": "not-a-uuid"}))
            assert refused.status_code == 400 and "runId" in refused.json()["error"]["field"]
    finally:
        server.stop()
    where = subprocess.run(
        [sys.executable, "-c", "from mlineage.interop import openlineage; print(openlineage.spec_dir())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where == str(
        site / "mlineage" / "interop" / "openlineage_spec"
    )  # the copy's own schemas were used
