"""The directory records that make status and re-add cheap: walk order, reuse, damage, the stored mark."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import cli, tree, workspace, write


def _files(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


def test_walk_is_in_manifest_order(tmp_path: Path) -> None:
    from mlineage.blobs.statcache import walk_tree

    # a folder named like a prefix of its siblings: "a/x" sorts after "a-b" and "a.c" but before "a0"
    for rel in ("a/x", "a/y/z", "a-b", "a.c", "a0", "b", "A", "é", "a/y.txt", "a/y-", ".hidden/f"):
        write(tmp_path / "d" / rel, rel)
    walked = walk_tree(str(tmp_path / "d"))
    assert walked.names == sorted(_files(tmp_path / "d"))
    assert len(walked.stats) == 5 * len(walked.names)
    assert list(walked.sizes()) == [len(n.encode()) for n in walked.names]


def test_a_walk_in_a_child_process_gives_the_same_rows(tmp_path: Path) -> None:
    from functools import partial

    from mlineage.background import Background
    from mlineage.blobs.statcache import walk_tree
    from mlineage.blobs.walk import ChildWalk, walk_rows

    for i in range(300):
        write(tmp_path / "d" / f"s{i % 7}" / f"f{i}.txt", "x" * i)
    write(tmp_path / "d" / "ünï cødé", "name")
    (tmp_path / "empty").mkdir()
    for folder in ("d", "empty"):
        here = walk_tree(str(tmp_path / folder))
        rows = ChildWalk(str(tmp_path / folder)).received()
        assert rows is not None and rows[0] == here.names and rows[1] == here.stats
        assert Background(partial(walk_rows, str(tmp_path / folder))).result() == rows


def test_a_failed_child_walk_is_walked_again_to_raise_its_error(tmp_path: Path) -> None:
    from functools import partial

    from mlineage.background import Background
    from mlineage.blobs.walk import ChildWalk, UnsupportedEntry, walk_rows

    write(tmp_path / "d" / "a.txt", "a")
    (tmp_path / "d" / "link").symlink_to(tmp_path / "d" / "a.txt")
    assert ChildWalk(str(tmp_path / "d")).received() is None  # the child exits non-zero, nothing half-read
    for walk in (ChildWalk, lambda root: Background(partial(walk_rows, root))):
        with pytest.raises(UnsupportedEntry):
            walk(str(tmp_path / "d")).result()
        with pytest.raises(FileNotFoundError):
            walk(str(tmp_path / "missing")).result()


def test_no_fork_beside_other_threads() -> None:
    import threading

    from mlineage.background import Background
    from mlineage.blobs.walk import can_fork_walk, start_walk

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not can_fork_walk()
        assert isinstance(start_walk("."), Background)
    finally:
        release.set()
        other.join()


@settings(max_examples=25, deadline=None)
@given(st.sets(st.lists(st.sampled_from(["a", "b", "a-", "a.", "a0", "_", "Z"]), min_size=1, max_size=3)
               .map("/".join), min_size=1, max_size=12))
def test_walk_order_property(tmp_path_factory: pytest.TempPathFactory, rels: set[str]) -> None:
    from mlineage.blobs.statcache import walk_tree

    root = tmp_path_factory.mktemp("w")
    made = []
    for rel in sorted(rels, key=len, reverse=True):  # deepest first: a file cannot be where a folder is
        path = root / rel
        if path.exists() or any((root / p).is_file() for p in Path(rel).parents if str(p) != "."):
            continue
        write(path, rel)
        made.append(rel)
    assert walk_tree(str(root)).names == sorted(_files(root))


def test_readd_reuses_digests_and_checks_only_new_objects(sqlite_project: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage.blobs.local import LocalBlobStore
    from mlineage.hashing import directory_manifest, manifest_bytes, manifest_digest

    data = sqlite_project / "data"
    for i in range(30):
        write(data / f"{i % 3}" / f"f{i}.txt", f"content {i}\n")
    ws = workspace()
    ws.add([data])
    looked_up: list[list[str]] = []
    real = LocalBlobStore.present_hex

    def counting(self: LocalBlobStore, hexes: list[str]) -> set[str]:
        looked_up.append(list(hexes))
        return real(self, hexes)

    monkeypatch.setattr(LocalBlobStore, "present_hex", counting)
    write(data / "1" / "f4.txt", "changed\n")
    (result,) = ws.add([data])
    assert result.changed and result.version == 2
    assert looked_up == [[hashlib.sha256(b"changed\n").hexdigest()]]  # not the 29 others
    assert result.digest == manifest_digest(directory_manifest(data))  # what the SDK computes from scratch
    # the manifest is patched row by row from the previous one: rows that need escaping, and modes, too
    write(data / 'q"uo\\te é.txt', "odd name\n")
    ws.add([data])
    write(data / 'q"uo\\te é.txt', "odd name, changed\n")
    os.chmod(data / "2" / "f5.txt", 0o755)
    (result,) = ws.add([data])
    assert result.digest == manifest_digest(directory_manifest(data))
    assert ws.cache.path_for(result.digest).read_bytes() == manifest_bytes(directory_manifest(data))
    ws.close()


def test_damaged_or_stale_records_only_cost_a_rehash(sqlite_project: Path) -> None:
    from mlineage.blobs.statcache import TREES_DIR
    from mlineage.hashing import directory_manifest, manifest_digest

    data = sqlite_project / "data"
    for i in range(5):
        write(data / f"f{i}.txt", f"{i}\n")
    ws = workspace()
    first = ws.add([data])[0].digest
    for record in (sqlite_project / ".mlineage" / TREES_DIR).glob("[0-9a-f]*"):
        content = record.read_bytes()
        record.write_bytes(content[: len(content) // 2])  # truncated, as after a crash mid-write
    assert [e.state for e in ws.status()] == ["unchanged"]
    os.chmod(data / "f2.txt", 0o755)  # the executable bit is part of the manifest
    (again,) = ws.add([data])
    assert again.changed and again.digest != first
    assert again.digest == manifest_digest(directory_manifest(data))
    ws.close()


def test_objects_removed_from_the_cache_are_stored_again(sqlite_project: Path) -> None:
    from mlineage.data.maintenance import fsck

    data = sqlite_project / "data"
    for i in range(4):
        write(data / f"f{i}.txt", f"{i}\n")
    ws = workspace()
    ws.add([data])
    member = ws.cache.path_for(ws.scan(data).entries[0].digest)  # type: ignore[index]
    os.chmod(member, 0o644)
    os.unlink(data / "f0.txt")  # the workspace copy is a hardlink to the cache object: corrupt a copy
    member.write_bytes(b"bit rot")
    assert fsck(ws, repair=True).corrupted
    assert not member.exists()
    write(data / "f0.txt", "0\n")  # the user restores the file
    ws.add([data])
    assert member.read_bytes() == b"0\n"  # stored again: the record no longer vouches for the cache
    ws.close()


def test_an_emptied_cache_is_noticed(sqlite_project: Path) -> None:
    import shutil

    data = sqlite_project / "data"
    for i in range(4):
        write(data / f"f{i}.txt", f"{i}\n")
    expected = tree(data)
    ws = workspace()
    ws.add([data])
    for path in (sqlite_project / ".mlineage" / "objects").rglob("*"):
        if path.is_file():
            os.chmod(path, 0o644)
    ws.close()
    shutil.rmtree(sqlite_project / ".mlineage" / "objects")  # by hand
    assert cli("add", "data").stdout.startswith("unchanged data@1")
    shutil.rmtree(data)
    assert cli("checkout").stdout == "restored: data\n"
    assert tree(data) == expected


def test_a_damaged_stat_cache_row_is_a_miss(sqlite_project: Path) -> None:
    import sqlite3

    f = write(sqlite_project / "m.bin", "model")
    ws = workspace()
    ws.add(["m.bin"])
    ws.close()
    db = sqlite3.connect(sqlite_project / ".mlineage" / "statcache.db")
    db.execute("UPDATE files SET digest = ?", ("sha256:" + "0" * 64,))  # a wrong digest, as a torn page might
    db.commit()
    db.close()
    ws = workspace()
    assert [e.state for e in ws.status()] == ["unchanged"]  # re-hashed, not believed
    assert ws.scan(f).digest.hex == hashlib.sha256(b"model").hexdigest()
    ws.close()


def test_large_files_are_hashed_with_read_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage import filedigest, hashing

    monkeypatch.setattr(filedigest, "READ_AHEAD_MIN", 1000)
    monkeypatch.setattr(filedigest, "READ_AHEAD", 8192)
    monkeypatch.setattr(filedigest, "BUFFER_SIZE", 4096)
    advised: list[tuple[int, int]] = []
    real_advise = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        if advice == os.POSIX_FADV_WILLNEED:
            advised.append((offset, length))
        real_advise(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", spy)
    data = os.urandom(100_003)
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    seen: list[bytes] = []
    digest, size = hashing.hash_file(f, on_chunk=seen.append)
    assert digest.hex == hashlib.sha256(data).hexdigest() and size == len(data) and b"".join(seen) == data
    # the windows asked for cover the file, each asked for before the loop reaches it
    assert [o for o, _ in advised] == list(range(0, 8192 * len(advised), 8192)) and 8192 * len(
        advised
    ) >= len(data)

    def fail(_chunk: bytes) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        hashing.hash_file(f, on_chunk=fail)


def test_pointer_fast_reader_agrees_with_yaml() -> None:
    import yaml

    from mlineage.data import pointer as ptr
    from mlineage.model import Digest

    for p in (ptr.Pointer("a b.csv", Digest.sha256("ab" * 32), 10, "file", None, "x/y", 3),
              ptr.Pointer("dir", Digest.sha256("cd" * 32), 0, "directory", 5),
              ptr.Pointer("qu\"ote", Digest.sha256("cd" * 32), 1, "file", name="ñ\u2028"),
              ptr.Pointer("tab\there", Digest.sha256("ef" * 32), 1, "file", name="n", version=1)):
        text = ptr.dumps(p)
        fast = ptr._canonical(text)
        assert fast is None or fast == yaml.safe_load(text)
        assert ptr.loads(text, Path(p.path + ptr.SUFFIX)) == p
    assert ptr._canonical("size: 010\n") is None  # YAML 1.1 reads a leading zero as octal: let YAML decide
    assert ptr._canonical('path: "a"\npath: "b"\n') is None


def test_quick_status_leaves_odd_pointers_to_the_full_command(sqlite_project: Path) -> None:
    from mlineage.data.quick import quick_status

    write(sqlite_project / "m.bin", "model")
    ws = workspace()
    ws.add(["m.bin"])
    ws.close()
    pointer = sqlite_project / "m.bin.lin"
    text = pointer.read_text()
    assert quick_status([]) is True
    for edit in (text.replace("version: 1", "version: 01"), text.replace('name: "m.bin"', "name: [m.bin"),
                 text.replace("size: 5", "size: \u00b2"), text + "extra: 1\n"):
        pointer.write_text(edit)
        assert quick_status([]) is False
