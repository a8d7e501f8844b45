"""Every ``console`` block in docs/ and the README runs as shown (see tests/docs_console.py for the rules)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .docs_console import blocks, mask, matches, run_page

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_console_blocks_print_what_they_show(page: Path, tmp_path: Path) -> None:
    if "$ sqlite3 " in page.read_text() and shutil.which("sqlite3") is None:
        pytest.skip(
            f"{page.name} edits the database with the sqlite3 command-line shell, which is not installed"
        )
    problems = run_page(page, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_every_transcript_is_a_console_block() -> None:
    """A block that shows ``$ mlineage ...`` is run by the test above only when it is marked ``console``."""
    for page in PAGES:
        text = page.read_text()
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
            if match.group(1) != "console" and re.search(r"^\$ mlineage ", match.group(2), re.MULTILINE):
                line = text[: match.start()].count("\n") + 1
                raise AssertionError(
                    f"{page.name}:{line}: a transcript in a ```{match.group(1)} block: mark it "
                    "```console so that it is run"
                )


def test_every_skipped_block_says_why() -> None:
    for page in PAGES:
        for block in blocks(page):
            assert block.skip is None or len(block.skip) > 10, f"{page.name}:{block.line}"


def test_masks_and_ellipsis() -> None:
    assert mask(["run  9f86d081884c  at 2026-11-25T13:30:14.650347Z  by alice@box in 0.02s"]) == [
        "run <id> at <time> by alice@<host> in <duration>"]
    assert mask(["model clf sha256:9f86d081884c7d65"]) == mask(["model clf sha256:0123abcd"])
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) and matches(["a", "..."], ["a"])
    assert not matches(["a", "d"], ["a", "b", "d"]) and not matches(["x"], ["y"])
    # ids drawn all digits or all letters, which the mask cannot tell from numbers and words
    assert matches(mask(["train (3f2a9c01) ok"]), mask(["train (64147179) ok"]))
    assert matches(mask(["run 3f2a9c01e5d7"]), mask(["run abcdefabcdef"]))
    assert not matches(mask(["train (3f2a9c01) ok"]), mask(["train (64147179) failed"]))
    assert not matches(["rows 12"], ["rows 64147179"])
