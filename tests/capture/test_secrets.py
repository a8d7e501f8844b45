"""Planted secrets never reach the record: not the database files, not the blob store, not the export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlineage
from mlineage.cli.main import cli

from .conftest import git

pytestmark = pytest.mark.full_capture

GITHUB = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HF = "hf_" + "PlantedHuggingFaceTokenValue0123456789"
URL_PASSWORD = "urlPassw0rdPlanted"
ARGV_PASSWORD = "argvPassw0rdPlanted"
PARAM_SECRET = "paramSecretValuePlanted"
OPENAI = "sk-" + "proj-PlantedOpenAIKey0123456789abcdef"
ERROR_PASSWORD = "errorPassw0rdPlanted"
SECRETS = [GITHUB, AWS_SECRET, HF, URL_PASSWORD, ARGV_PASSWORD, PARAM_SECRET, OPENAI, ERROR_PASSWORD]


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_planted_secrets_are_absent_everywhere(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "remote", "add", "origin", f"https://{GITHUB}@github.com/acme/models.git")
    git(project, "remote", "add", "mirror", f"https://deploy:{URL_PASSWORD}@git.example.com/m.git")
    (project / "train.py").write_text("print(1)\n")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("HF_TOKEN", HF)
    monkeypatch.setenv("TRANSFORMERS_CACHE_TOKEN", HF)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", f"0 {OPENAI}")  # a token under an innocent name
    monkeypatch.setenv("MLINEAGE_DB", f"postgresql://svc:{URL_PASSWORD}@db/ml")
    monkeypatch.setattr(sys, "argv", ["train.py", "--db-password", ARGV_PASSWORD, f"--hf={HF}",
                                      f"--remote=https://x:{URL_PASSWORD}@h/r"])

    with mlineage.run("train", params={"api_key": PARAM_SECRET, "note": f"token {GITHUB}", "lr": 0.1}) as run:
        run.log_params({"openai": OPENAI, "db_password": PARAM_SECRET})
        run.log_param("hub_token", HF)
    with pytest.raises(ConnectionError), mlineage.run("fails"):
        raise ConnectionError(f"cannot reach postgresql://svc:{ERROR_PASSWORD}@db/ml")

    stored = run.record()
    assert stored is not None and stored.params["lr"] == 0.1 and stored.params["api_key"] == "[REDACTED]"
    assert stored.context["git"]["remote"] == "https://github.com/acme/models.git"
    from mlineage.interop.openlineage import run_to_events

    client = mlineage.default_client()
    inputs, outputs = client.store.io_of_run(run.id)
    openlineage = json.dumps(run_to_events(stored, [a for a, _ in inputs], [a for a, _ in outputs]))
    assert '"eventType": "START"' in openlineage

    mlineage.default_client().close()  # checkpoint the WAL so the database file holds everything
    store_dir = project / ".mlineage"
    files = _files_under(store_dir)
    assert any(p.suffix == ".db" for p in files) and len(files) > 3  # the database and the blobs
    export = CliRunner().invoke(cli, ["export"])
    assert export.exit_code == 0, export.output
    assert '"RunStarted"' in export.output and "environment" in export.output
    dumped = [json.loads(line) for line in export.output.splitlines() if line.startswith("{")]
    assert len(dumped) >= 8

    for secret in SECRETS:
        needle = secret.encode()
        for path in files:
            assert needle not in path.read_bytes(), f"{secret!r} leaked into {path}"
        assert secret not in export.output, f"{secret!r} leaked into the export"
        assert secret not in openlineage, f"{secret!r} leaked into the OpenLineage export"


def test_sqlite_dump_has_no_secrets(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through SQLite's own view of the data (catches values in pages the byte scan might miss)."""
    monkeypatch.setenv("HF_TOKEN", HF)
    with mlineage.run("t", params={"password": PARAM_SECRET}):
        pass
    mlineage.default_client().close()
    db = next((project / ".mlineage").rglob("*.db"))
    script = "import sqlite3,sys;c=sqlite3.connect(sys.argv[1]);print('\\n'.join(c.iterdump()))"
    dump = subprocess.run([sys.executable, "-c", script, str(db)], capture_output=True, text=True, check=True)
    assert "RunStarted" in dump.stdout or "runs" in dump.stdout
    assert PARAM_SECRET not in dump.stdout and HF not in dump.stdout


SHORT_FLAG_PASSWORD = "shortFlagPassw0rdPlanted"
ATTACHED_PASSWORD = "attachedPassw0rdPlanted"


def test_a_short_password_flag_is_redacted_in_the_recorded_argv(project: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``-p SECRET`` and ``-pSECRET`` (mysql's form) in a script's command line: the value never reaches the
    record, while the flags and the other arguments stay as they were."""
    argv = ["train.py", "-u", "admin", "-p", SHORT_FLAG_PASSWORD, f"-p{ATTACHED_PASSWORD}", "--epochs", "3"]
    monkeypatch.setattr(sys, "argv", argv)
    with mlineage.run("short-flag") as run:
        pass
    stored = run.record()
    assert stored is not None
    assert stored.context["argv"] == ["train.py", "-u", "admin", "-p", "[REDACTED]", "-p[REDACTED]",
                                      "--epochs", "3"]
    mlineage.default_client().close()
    for path in _files_under(project / ".mlineage"):
        data = path.read_bytes()
        assert SHORT_FLAG_PASSWORD.encode() not in data and ATTACHED_PASSWORD.encode() not in data, path
