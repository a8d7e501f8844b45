"""Events from the command line (`mlineage emit`), the SDK's emit errors, and file names that are not
UTF-8."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mlineage
from mlineage.errors import ValidationError
from mlineage.pathtext import path_text

from .test_cli_exits import ml

DATA = "sha256:" + "1" * 64


def _events() -> list[dict[str, Any]]:
    return [{"event": "DataIngested", "digest": DATA, "name": "orders"},
            {"event": "TrainingStarted", "run_id": "r42", "params": {"lr": 0.1}, "inputs": [DATA]},
            {"event": "TrainingCompleted", "run_id": "r42", "metrics": {"auc": 0.9}}]


def _stdin(project: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    return subprocess.run([sys.executable, "-m", "mlineage.cli.main", "emit", *args], cwd=project, env=env,
                          input=text, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("layout", ["lines", "list", "file"])
def test_emit_reads_json_lines_a_list_or_a_file(project: Path, layout: str) -> None:
    events = _events()
    if layout == "file":
        (project / "events.json").write_text(json.dumps(events))
        out = json.loads(ml("emit", "events.json", "--json", cwd=project).stdout)
    else:
        text = "\n".join(json.dumps(e) for e in events) if layout == "lines" else json.dumps(events)
        result = _stdin(project, text, "--json")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
    assert out["emitted"] == 3 and out["ledger_events"] >= 4
    run = json.loads(ml("show", "run:r42", "--json", cwd=project).stdout)
    assert (
        run["status"] == "completed"
        and run["metrics"] == {"auc": 0.9}
        and run["inputs"][0]["name"] == "orders"
    )


def test_emit_errors_are_one_line_and_name_the_problem(project: Path) -> None:
    cases = {
        '{"event": '
        '"TrainingStarted"}': "error: TrainingStarted.run_id: is missing (pass run_id=... with the event)",
        "42": "error: event 1: is 42, not a JSON object",
        '{"run_id": "x"}': 'error: event 1: has no "event" name and is not an OpenLineage RunEvent',
        '{"event": "Nope"}': "error: event: unknown event 'Nope'",
        "{}\nnot json": "error: stdin line 2: is not JSON",
    }
    for text, expected in cases.items():
        result = _stdin(project, text)
        assert result.returncode == 1 and result.stderr.startswith(expected), (text, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_sdk_emit_errors_name_the_missing_field(project: Path) -> None:
    with pytest.raises(ValidationError, match=r"TrainingStarted\.run_id: is missing"):
        mlineage.emit("TrainingStarted")
    with pytest.raises(ValidationError, match=r"event: 42 \(int\) is not an event"):
        mlineage.emit(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"ArtifactDerived\.child: is missing"):
        mlineage.emit("ArtifactDerived", parent=DATA)
    with pytest.raises(ValidationError, match=r"TrainingStarted\.params: must be a dict"):
        mlineage.emit("TrainingStarted", run_id="r1", params=[1])


def test_path_text_escapes_as_git_does() -> None:
    assert path_text("plain/ü.csv") == "plain/ü.csv"
    assert path_text(os.fsdecode(b"caf\xe9.csv")) == '"caf\\351.csv"'
    assert path_text(os.fsdecode(b'a"\\\xff')) == '"a\\"\\\\\\377"'


def test_non_utf8_names_are_recorded_escaped(project: Path) -> None:
    name = os.fsdecode(b"caf\xe9.csv")
    (project / name).write_bytes(b"x,y\n")
    folder = project / "raw"
    folder.mkdir()
    (folder / os.fsdecode(b"na\xefve.txt")).write_bytes(b"n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    added = subprocess.run(
        [sys.executable, "-m", "mlineage.cli.entry", "add", os.fsencode(name), "raw", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    rows = json.loads(added.stdout)
    assert rows[0]["name"] == '"caf\\351.csv"' and rows[0]["pointer"] == '"caf\\351.csv.lin"'
    ml("status", "--exit-code", cwd=project)
    (project / name).write_bytes(b"changed\n")
    status = json.loads(ml("status", "--json", cwd=project).stdout)
    assert {"path": '"caf\\351.csv"', "pointer": '"caf\\351.csv.lin"', "state": "modified"} in status
    ml("checkout", "--force", cwd=project)
    assert (project / name).read_bytes() == b"x,y\n"
    assert os.fsencode(name) in (project / ".gitignore").read_bytes()  # git matches the bytes on disk
    assert json.loads(ml("versions", '"caf\\351.csv"', "--json", cwd=project).stdout)[0]["version"] == 1

    with mlineage.run("read") as run:
        run.use(name)
        run.use(folder)
    shown = json.loads(ml("show", f"run:{run.id}", "--json", cwd=project).stdout)
    assert shown["status"] == "completed"
    assert {i["metadata"]["path"] for i in shown["inputs"]} == {
        '"caf\\351.csv"',
        "raw",
    }  # as first recorded, by add
    assert ml("verify", cwd=project).stdout.startswith("OK")


def test_a_missing_non_utf8_input_fails_the_run_and_records_it(project: Path) -> None:
    with pytest.raises(ValidationError), mlineage.run("read") as run:
        run.use(os.fsdecode(b"gone\xff.csv"))
    shown = json.loads(ml("show", f"run:{run.id}", "--json", cwd=project).stdout)
    assert shown["status"] == "failed" and "gone" in shown["error"]["message"]
