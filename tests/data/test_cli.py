"""The data commands through the real console entry point (subprocesses, output piped)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import cli, tree, write


def test_cli_add_status_checkout_gc_fsck(sqlite_project: Path, tmp_path: Path) -> None:
    data = sqlite_project / "data"
    for i in range(5):
        write(data / "sub" / f"{i}.txt", f"{i}\n")
    expected = tree(data)
    added = json.loads(cli("add", "data", "--json").stdout)
    assert added[0]["files"] == 5 and added[0]["version"] == 1 and added[0]["changed"]
    text = (sqlite_project / "data.lin").read_text()
    assert f"digest: {added[0]['digest']}" in text and "files: 5" in text

    status = cli("status")  # the quick path
    assert status.stdout == "up to date: 1 tracked path matches its pointer\n" and status.stderr == ""
    assert json.loads(cli("status", "--json").stdout) == [
        {"path": "data", "pointer": "data.lin", "state": "unchanged"}]

    write(data / "sub" / "0.txt", "changed\n")
    status = cli("status")
    assert "modified:  data" in status.stdout and "modified: sub/0.txt" in status.stdout
    refused = cli("checkout", check=False)
    assert refused.returncode == 1 and "not in the cache" in refused.stderr
    cli("checkout", "--force")
    assert tree(data) == expected

    import shutil

    shutil.rmtree(data)
    out = cli("checkout", "data")
    assert out.stdout == "restored: data\n" and out.stderr == ""  # piped: no progress bar
    assert tree(data) == expected

    fsck = json.loads(cli("fsck", "--json").stdout)
    assert fsck["ok"] and fsck["checked"] == 6
    gc = cli("gc")
    assert "would remove 0 object(s)" in gc.stdout

    remote = tmp_path / "remote"
    pushed = json.loads(cli("push", "-r", str(remote), "--json").stdout)
    assert pushed["transferred"] == 6
    assert "pushed 0 object(s)" in cli("push", "-r", str(remote)).stdout


def test_cli_errors_are_one_clear_line(sqlite_project: Path, tmp_path: Path) -> None:
    missing = cli("add", "nothing-here.csv", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: path: nothing-here.csv does not exist (check the path)"
    write(tmp_path / "elsewhere.csv", "x")
    outside = cli("add", str(tmp_path / "elsewhere.csv"), check=False)
    assert outside.returncode == 1 and "is outside the project" in outside.stderr
    write(sqlite_project / "t.csv", "x")
    cli("add", "t.csv")
    (sqlite_project / "t.csv.lin").write_text("digest: {broken\n")
    bad = cli("status", check=False)
    assert bad.returncode == 1 and "invalid:" in bad.stdout and "not valid YAML" in bad.stdout
    no_remote = cli("push", check=False)
    assert no_remote.returncode == 1 and "no remote is configured" in no_remote.stderr
    no_project = cli("status", cwd=tmp_path, check=False)
    assert no_project.returncode == 1 and "mlineage init" in no_project.stderr


def test_concurrent_add_of_the_same_content(sqlite_project: Path) -> None:
    """Two processes add identical content at once: one copy of each object, both pointers right, fsck
    clean."""
    payload = {f"f{i}.bin": os.urandom(2000 + i) for i in range(40)}
    for name in ("copy1", "copy2"):
        for rel, data in payload.items():
            write(sqlite_project / name / rel, data)
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlineage.cli.entry", "add", name, "--json"],
            cwd=sqlite_project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("copy1", "copy2", "copy1")
    ]
    outs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [(p.returncode, err) for p, (_, err) in zip(procs, outs)]
    digests = {json.loads(out)[0]["digest"] for out, _ in outs}
    assert len(digests) == 1
    objects = list((sqlite_project / ".mlineage" / "objects" / "sha256").rglob("*"))
    assert len([o for o in objects if o.is_file()]) == 41  # 40 files + 1 manifest, each once
    assert not list((sqlite_project / ".mlineage" / "objects" / "tmp").iterdir())
    fsck = json.loads(cli("fsck", "--json").stdout)
    assert fsck["ok"]
    status = json.loads(cli("status", "--json").stdout)
    assert [s["state"] for s in status] == ["unchanged", "unchanged"]


@pytest.mark.parametrize("command", ["add", "status", "checkout", "push", "pull", "gc", "fsck"])
def test_every_data_command_has_help_and_docs(command: str) -> None:
    out = cli(command, "--help").stdout
    assert "Usage:" in out and len(out.splitlines()) > 3
    docs = (Path(__file__).resolve().parents[2] / "docs" / "data-versioning.md").read_text()
    assert f"mlineage {command}" in docs


def test_quick_add_prints_what_the_full_command_prints(sqlite_project: Path) -> None:
    for folder in ("a", "b"):
        write(sqlite_project / folder / "x.txt", f"{folder}\n")
    quick = cli("add", "a")  # a plain add skips click
    full = cli("add", "b", "--kind", "dataset")  # an option: the click command
    assert quick.stdout == full.stdout.replace("b@1", "a@1").replace("b.lin", "a.lin").replace(
        full.stdout.split()[2], quick.stdout.split()[2])
    assert (
        quick.stdout.startswith("added a@1  sha256:")
        and "commit the pointer(s): git add a.lin .gitignore" in quick.stdout
    )
    missing = cli("add", "nope", check=False)
    clicked = cli("add", "nope", "--kind", "dataset", check=False)
    assert (missing.returncode, missing.stderr) == (clicked.returncode, clicked.stderr) == (
        1, "error: path: nope does not exist (check the path)\n")
