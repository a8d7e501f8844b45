"""Run the ``console`` blocks of the docs: each ``$ command`` line is run in a shell, in one fresh project per
page (the blocks of a page are one session, in order), and its output is compared with the lines shown under
it.

What differs from run to run is masked on both sides before comparing: digests, ids, times, durations, the
session's folder (shown as /tmp, so the project is /tmp/proj) and the host in ``user@host`` (the user is
``alice``); runs of spaces count as one, and blank lines are ignored. A shown line ``...`` stands for any
number of lines.

A page steers its blocks with HTML comments right before a block (invisible on a rendered page):
``<!-- docs-test: setup`` + shell lines + ``-->`` runs those lines first (their output is not compared), and
``<!-- docs-test: skip: REASON -->`` leaves the block out (it needs a service or hardware a test cannot have).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(skip|setup)\s*:?\s*(.*?)-->\s*$", re.DOTALL)
SHOWN_WORK = "/tmp"
MASKS = [
    (re.compile(r"sha256:[0-9a-f]+…?"), "sha256:<digest>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?"), "<time>"),
    # an id mixing digits and letters; one drawn all digits or all letters is matched by ``line_matches``
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,64}\b"), "<id>"),
    (re.compile(r"\balice@[\w.-]+"), "alice@<host>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s)\b"), "<duration>"),
    (re.compile(r"\s+"), " "),
]


@dataclass
class Block:
    page: str
    line: int
    commands: list[tuple[str, list[str]]] = field(default_factory=list)  # (command, shown output lines)
    setup: str = ""
    skip: str | None = None


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        block = Block(path.name, text[: match.start()].count("\n") + 1)
        before = text[: match.start()].rstrip()
        directive = DIRECTIVE.match(before[before.rfind("<!--"):]) if before.endswith("-->") else None
        if directive is not None:
            if directive.group(1) == "skip":
                block.skip = directive.group(2).strip() or "no reason given"
            else:
                block.setup = directive.group(2)
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                block.commands.append((line[2:], []))
            elif block.commands:
                block.commands[-1][1].append(line)
        found.append(block)
    return found


def mask(lines: list[str], work: str | None = None) -> list[str]:
    out = []
    for line in lines:
        if work:  # the session's folder (the project is its proj/) is shown as /tmp
            line = line.replace(work, SHOWN_WORK)
        for pattern, replacement in MASKS:
            line = pattern.sub(replacement, line)
        line = line.strip()
        if line:
            out.append(line)
    return out


def matches(shown: list[str], actual: list[str]) -> bool:
    """Line by line, a shown ``...`` standing for any number of actual lines."""
    if not shown:
        return not actual
    if shown[0] == "...":
        return any(matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and line_matches(shown[0], actual[0]) and matches(shown[1:], actual[1:])


ANY_ID = r"(?:<id>|[0-9a-f]{8,64})"


def line_matches(shown: str, actual: str) -> bool:
    """Equal after masking, or equal where a shown ``<id>`` stands for a printed id that the mask left alone.

    An id drawn all digits (an 8-character short id is, about one time in 43) or all letters cannot be told
    from a number or a word by its look, so it is masked only where the docs show an ``<id>``.
    """
    if shown == actual:
        return True
    if "<id>" not in shown:
        return False
    pattern = ANY_ID.join(re.escape(part) for part in shown.split("<id>"))
    return re.fullmatch(pattern, actual) is not None


def session_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """A shell whose ``mlineage`` and ``python`` are the interpreter running the tests."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, line in (("mlineage", f'exec "{sys.executable}" -m mlineage.cli.entry "$@"'),
                       ("python", f'exec "{sys.executable}" "$@"')):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{line}\n")
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLINEAGE_", "GIT_"))}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "USER": "alice", "LOGNAME": "alice",
                "HOME": str(home), "MLINEAGE_CAPTURE": "basic", "COLUMNS": "160", "TZ": "UTC",
                "GIT_AUTHOR_NAME": "alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
                "GIT_COMMITTER_NAME": "alice", "GIT_COMMITTER_EMAIL": "alice@example.com"})
    if "MLINEAGE_CACHE_DIR" in os.environ:
        env["MLINEAGE_CACHE_DIR"] = os.environ["MLINEAGE_CACHE_DIR"]
    return env


def shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)


def run_page(path: Path, work: Path) -> list[str]:
    """Run every block of a page in one project; returns one message per command whose output differs."""
    project = work / "proj"
    project.mkdir(parents=True)
    env = session_env(work / "bin", work / "home")
    (work / "home").mkdir(exist_ok=True)
    for command in ("git init -q", "mlineage init"):
        shell(command, project, env).check_returncode()
    problems = []
    cwd = project
    for block in blocks(path):
        if block.skip is not None:
            continue
        if block.setup.strip():
            done = shell(block.setup, cwd, env)
            if done.returncode != 0:
                problems.append(f"{path.name}:{block.line}: setup failed:\n{done.stdout}")
                continue
        for command, shown in block.commands:
            done = shell(command, cwd, env)
            actual = mask(done.stdout.splitlines(), str(work.resolve()))
            expected = mask(shown)
            if not matches(expected, actual):
                problems.append(f"{path.name}:{block.line}: $ {command}\n--- shown\n" + "\n".join(expected)
                                + "\n--- printed\n" + "\n".join(actual))
    return problems
