"""Exits and one-line errors of the data and project commands, through the console script in a real
project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlineage


def ml(*args: str, cwd: Path, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    """``mlineage ARGS`` as a user runs it (the console script's entry, quick paths included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["MLINEAGE_CAPTURE"] = "basic"
    result = subprocess.run([sys.executable, "-m", "mlineage.cli.entry", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    if code is not None:
        assert result.returncode == code, (result.stdout, result.stderr)
    return result


def test_status_exit_code_follows_git_diff(project: Path) -> None:
    (project / "a.txt").write_text("one\n")
    ml("add", "a.txt", cwd=project)
    ml("status", "--exit-code", cwd=project)  # clean: 0 (answered by the quick path)
    (project / "a.txt").write_text("two\n")
    assert "modified:" in ml("status", cwd=project).stdout  # without the flag, a change still exits 0
    ml("status", "--exit-code", cwd=project, code=1)
    ml("status", "--exit-code", "--json", cwd=project, code=1)
    (project / "a.txt").unlink()
    assert "missing:" in ml("status", "--exit-code", cwd=project, code=1).stdout


def test_checkout_error_for_a_broken_pointer_says_it_once(project: Path) -> None:
    (project / "a.txt").write_text("one\n")
    ml("add", "a.txt", cwd=project)
    (project / "a.txt.lin").write_text("garbage: [\n")
    err = ml("checkout", cwd=project, code=1).stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.count("a.txt.lin") == 1 and err.count("restore") == 1, err


def test_init_inside_a_project_needs_nested(project: Path) -> None:
    sub = project / "sub" / "deeper"
    sub.mkdir(parents=True)
    err = ml("init", cwd=sub, code=1).stderr
    assert f"inside the project {project}" in err and "--nested" in err and len(err.strip().splitlines()) == 1
    assert not (sub / ".mlineage").exists()
    assert "inside the project" in ml("init", "newdir", cwd=sub, code=1).stderr
    ml("init", cwd=project)  # the project's own folder: safe to run twice
    out = json.loads(ml("init", "--nested", "--json", cwd=sub).stdout)
    assert Path(out["project"]) == sub / ".mlineage"


def test_redaction_keeps_the_closing_bracket(project: Path) -> None:
    with mlineage.run("connect", params={"query": "connect(password=hunter2)", "uri": "[token=abc]"}) as run:
        pass
    shown = json.loads(ml("show", f"run:{run.id}", "--json", cwd=project).stdout)
    assert shown["params"] == {"query": "connect(password=[REDACTED])", "uri": "[token=[REDACTED]]"}


def test_an_error_of_a_command_asked_for_json_is_json_on_stdout(project: Path) -> None:
    for args in (["show", "nope", "--json"], ["trace", "nope", "--format", "json"]):
        done = ml(*args, cwd=project, code=1)
        assert done.stderr.startswith("error: nothing matches 'nope'"), done.stderr
        answer = json.loads(done.stdout)
        assert answer["error"]["type"] == "NotFoundError"
        assert answer["error"]["message"].startswith("nothing matches 'nope'")
    text = ml("show", "nope", cwd=project, code=1)
    assert text.stdout == "" and text.stderr.startswith("error: ")  # without --json, as before
