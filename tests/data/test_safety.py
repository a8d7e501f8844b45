"""No data loss by default, and no writes outside the project: the placement default and symlinked folders."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from mlineage.data import pointer as ptr
from mlineage.errors import ValidationError
from mlineage.hashing import hash_file

from .conftest import cli, workspace, write


def _cache_object_intact(ws: object, pointer: Path) -> bool:
    p = ptr.read(pointer)
    obj = ws.cache.path_for(p.digest)  # type: ignore[attr-defined]
    return hash_file(obj)[0] == p.digest


def test_the_default_placement_keeps_v1_through_an_in_place_edit(sqlite_project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, read-only bits protect nothing: only a default that never shares a file with the cache
    does."""
    monkeypatch.delenv("MLINEAGE_LINK", raising=False)
    f = write(sqlite_project / "data" / "f.txt", "v1\n")
    member = write(sqlite_project / "folder" / "m.txt", "m1\n")
    ws = workspace()
    assert "hardlink" not in ws.settings.link_modes and "symlink" not in ws.settings.link_modes
    ws.add(["data/f.txt", "folder"])
    with open(f, "a") as handle:  # edit in place, as `echo x >> data/f.txt` does
        handle.write("x\n")
    with open(member, "a") as handle:
        handle.write("x\n")
    assert _cache_object_intact(ws, sqlite_project / "data" / "f.txt.lin")
    assert [e.state for e in ws.status()] == ["modified", "modified"]
    ws.checkout(force=True)
    assert f.read_text() == "v1\n" and member.read_text() == "m1\n"
    # a file placed by checkout is the workspace's own too: editing it leaves the cache alone
    with open(f, "a") as handle:
        handle.write("y\n")
    assert _cache_object_intact(ws, sqlite_project / "data" / "f.txt.lin")
    ws.checkout(force=True)
    assert f.read_text() == "v1\n"
    ws.close()


def test_add_warns_when_a_sharing_mode_is_configured(sqlite_project: Path) -> None:
    write(sqlite_project / "a.txt", "a\n")
    shared = cli("add", "a.txt", env={"MLINEAGE_LINK": "hardlink,copy"})
    assert "warning:" in shared.stderr and "in place" in shared.stderr
    write(sqlite_project / "b.txt", "b\n")
    default = cli("add", "b.txt", env={"MLINEAGE_LINK": ""})
    assert "warning" not in default.stderr


@pytest.fixture
def outside(tmp_path: Path, sqlite_project: Path) -> Path:
    """A folder outside the project, reachable from inside it through the symbolic link ``lnk``."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (sqlite_project / "lnk").symlink_to(elsewhere)
    return elsewhere


def test_add_through_a_symlinked_folder_is_refused(sqlite_project: Path, outside: Path) -> None:
    write(outside / "f.txt", "secret\n")
    ws = workspace()
    with pytest.raises(ValidationError, match="outside the project"):
        ws.add(["lnk/f.txt"])
    ws.close()
    assert sorted(os.listdir(outside)) == ["f.txt"]  # no pointer, no .gitignore written there
    result = cli("add", "lnk/f.txt", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "outside the project" in result.stderr
    assert sorted(os.listdir(outside)) == ["f.txt"]


def _pointer_for(sqlite_project: Path, content: str) -> Path:
    """A valid pointer (its content in the cache), as a repository could carry it."""
    write(sqlite_project / "victim", content)
    ws = workspace()
    ws.add(["victim"])
    ws.close()
    return sqlite_project / "victim.lin"


def test_checkout_through_a_symlinked_folder_overwrites_nothing(sqlite_project: Path, outside: Path) -> None:
    pointer = _pointer_for(sqlite_project, "planted\n")
    shutil.copyfile(pointer, outside / "victim.lin")
    write(outside / "victim", "precious\n")
    ws = workspace()
    with pytest.raises(ValidationError, match="outside the project"):
        ws.checkout(["lnk/victim"], force=True)
    with pytest.raises(ValidationError, match="outside the project"):
        ws.status(["lnk/victim"])
    ws.close()
    assert (outside / "victim").read_text() == "precious\n"
    result = cli("checkout", "lnk/victim", "--force", check=False)
    assert result.returncode == 1 and "outside the project" in result.stderr
    assert (outside / "victim").read_text() == "precious\n"


def test_checkout_through_a_symlinked_folder_creates_nothing(sqlite_project: Path, outside: Path) -> None:
    pointer = _pointer_for(sqlite_project, "planted\n")
    ptr.write(outside / "new.lin", dataclasses.replace(ptr.read(pointer), path="new"))
    assert ptr.read(outside / "new.lin").path == "new"  # a valid pointer: only where it lies is wrong
    ws = workspace()
    with pytest.raises(ValidationError, match="outside the project"):
        ws.checkout(["lnk/new"])
    ws.close()
    assert not (outside / "new").exists()
    # a search of the whole project does not follow the link either
    ws = workspace()
    assert [p.name for p in ws.pointers()] == ["victim.lin"]
    ws.checkout()
    ws.close()
    assert not (outside / "new").exists()


def test_a_link_into_mlineage_own_folder_is_refused(sqlite_project: Path) -> None:
    (sqlite_project / "inner").symlink_to(sqlite_project / ".mlineage")
    write(sqlite_project / ".mlineage" / "x.txt", "x\n")
    ws = workspace()
    with pytest.raises(ValidationError, match="inside .mlineage/"):
        ws.add(["inner/x.txt"])
    ws.close()


def test_a_link_that_stays_inside_the_project_still_works(sqlite_project: Path) -> None:
    write(sqlite_project / "real" / "f.txt", "f\n")
    (sqlite_project / "alias").symlink_to(sqlite_project / "real")
    ws = workspace()
    (result,) = ws.add(["alias/f.txt"])
    ws.close()
    assert result.pointer == sqlite_project / "real" / "f.txt.lin"  # written where the data really is
