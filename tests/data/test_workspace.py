"""add → change → status → checkout on real files, on both metadata backends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlineage.data import pointer as ptr
from mlineage.errors import IntegrityError, NotFoundError, ValidationError

from .conftest import tree, workspace, write


def _dataset(root: Path) -> Path:
    data = root / "data" / "images"
    write(data / "a.txt", "alpha\n")
    write(data / "nested" / "deeper" / "b.bin", os.urandom(5000))
    write(data / "nested" / "c.txt", "gamma\n")
    write(data / "empty.txt", b"")
    return data


def test_file_round_trip_records_the_artifact(data_project: Path) -> None:
    model = write(data_project / "models" / "model.bin", os.urandom(200_000))
    original = model.read_bytes()
    ws = workspace()
    (result,) = ws.add(["models/model.bin"], kind="model")
    assert result.changed and result.version == 1 and result.name == "models/model.bin"
    pointer = ptr.read(data_project / "models" / "model.bin.lin")
    assert (pointer.digest, pointer.size, pointer.kind, pointer.version) == (
        result.digest,
        200_000,
        "file",
        1,
    )
    assert "/model.bin" in (data_project / "models" / ".gitignore").read_text().splitlines()
    recorded = ws.client.store.get_artifact(str(result.digest))
    assert recorded is not None and recorded.name == "models/model.bin" and recorded.version == 1
    assert recorded.size == 200_000 and recorded.metadata["path"] == "models/model.bin"
    assert recorded.kind.value == "model"

    model.unlink()
    assert [e.state for e in ws.status()] == ["missing"]
    assert [a for _, a in ws.checkout()] == ["restored"]
    assert model.read_bytes() == original
    assert [e.state for e in ws.status()] == ["unchanged"]
    ws.close()


def test_nested_directory_round_trip_and_changes(data_project: Path) -> None:
    data = _dataset(data_project)
    before = tree(data)
    ws = workspace()
    (result,) = ws.add([data])
    assert result.kind == "directory" and result.files == 4
    assert ptr.read(ptr.pointer_path(data)).files == 4

    write(data / "a.txt", "changed\n")
    (data / "nested" / "c.txt").unlink()
    write(data / "new" / "d.txt", "delta\n")
    (entry,) = ws.status()
    assert entry.state == "modified"
    assert (entry.added, entry.removed, entry.changed) == (["new/d.txt"], ["nested/c.txt"], ["a.txt"])

    # the new and changed files are not in the cache: checkout refuses to lose them, changing nothing
    with pytest.raises(ValidationError, match="not in the cache"):
        ws.checkout()
    assert (data / "new" / "d.txt").exists()
    ws.checkout(force=True)
    assert tree(data) == before
    assert not (data / "new").exists()

    import shutil

    shutil.rmtree(data)
    assert [e.state for e in ws.status()] == ["missing"]
    ws.checkout(["data/images"])
    assert tree(data) == before
    ws.close()


def test_readd_makes_a_new_version_and_unchanged_adds_nothing(data_project: Path) -> None:
    f = write(data_project / "train.csv", "a,b\n1,2\n")
    ws = workspace()
    assert ws.add(["train.csv"])[0].version == 1
    head = ws.client.store.head()[0]
    again = ws.add(["train.csv"])[0]
    assert not again.changed and again.version == 1
    assert ws.client.store.head()[0] == head  # no event for unchanged content
    write(f, "a,b\n1,2\n3,4\n")
    second = ws.add(["train.csv"])[0]
    assert second.changed and second.version == 2
    assert ptr.read(data_project / "train.csv.lin").version == 2
    ws.close()


def test_shared_files_are_stored_once(sqlite_project: Path) -> None:
    data = _dataset(sqlite_project)
    ws = workspace()
    ws.add([data])
    count = len(list(ws.cache.iter_digests()))
    write(data / "extra.txt", "one more\n")
    ws.add([data])
    # one new file and one new manifest; the four unchanged files are not stored again
    assert len(list(ws.cache.iter_digests())) == count + 2
    ws.close()


def test_unchanged_files_are_not_rehashed(sqlite_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlineage.data.scan as wsmod

    data = _dataset(sqlite_project)
    hashed: list[str] = []
    real = wsmod.hash_many

    def counting(paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        hashed.extend(str(p) for p in paths)
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(wsmod, "hash_many", counting)
    ws = workspace()
    ws.add([data])
    assert len(hashed) == 4
    hashed.clear()
    assert [e.state for e in ws.status()] == ["unchanged"]
    write(data / "a.txt", "new content\n")
    ws.add([data])
    assert hashed == [str(data / "a.txt")]
    ws.close()


def test_link_modes(sqlite_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = write(sqlite_project / "big.bin", os.urandom(10_000))
    ws = workspace()
    ws.add(["big.bin"])
    obj = ws.cache.path_for(ptr.read(sqlite_project / "big.bin.lin").digest)
    if os.stat(obj).st_ino == os.stat(f).st_ino:  # hardlinked (no reflink on this filesystem)
        assert not os.stat(obj).st_mode & 0o222, "cache objects are read-only"
    f.unlink()
    ws.close()
    monkeypatch.setenv("MLINEAGE_LINK", "copy")
    ws = workspace()
    ws.checkout()
    assert os.stat(f).st_ino != os.stat(obj).st_ino
    assert os.stat(f).st_mode & 0o200  # a private, writable copy
    assert [e.state for e in ws.status()] == ["unchanged"]
    ws.close()
    monkeypatch.setenv("MLINEAGE_LINK", "teleport")
    with pytest.raises(ValidationError, match="link"):
        workspace()


def test_bad_input_changes_nothing(sqlite_project: Path, tmp_path: Path) -> None:
    ws = workspace()
    with pytest.raises(ValidationError, match="does not exist"):
        ws.add(["nope.csv"])
    outside = write(tmp_path / "outside.csv", "x")
    with pytest.raises(ValidationError, match="outside the project"):
        ws.add([outside])
    with pytest.raises(ValidationError, match="manages itself"):
        ws.add([".mlineage/config.toml"])
    data = _dataset(sqlite_project)
    ws.add([data])
    with pytest.raises(ValidationError, match="inside the tracked directory"):
        ws.add([data / "a.txt"])
    with pytest.raises(ValidationError, match="contains the tracked path data/images"):
        ws.add(["data"])
    os.symlink(data / "a.txt", sqlite_project / "link.txt")
    with pytest.raises(ValidationError, match="symbolic link"):
        ws.add(["link.txt"])
    assert not (sqlite_project / "nope.csv.lin").exists() and not (sqlite_project / "link.txt.lin").exists()
    ws.close()


def _without_dac_override() -> list[str] | None:
    """A command prefix under which permission bits apply (root reads anything through CAP_DAC_OVERRIDE):
    none needed for other users; for root, util-linux setpriv dropping the two capabilities that bypass
    them."""
    if os.geteuid() != 0:
        return []
    import shutil
    import subprocess

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    except OSError:
        return None
    return prefix if probe.returncode == 0 else None


@pytest.mark.skipif(_without_dac_override() is None,
                    reason="running as root without util-linux setpriv to drop CAP_DAC_OVERRIDE")
def test_unreadable_file_is_refused(sqlite_project: Path) -> None:
    import subprocess
    import sys

    from .conftest import SRC

    f = write(sqlite_project / "secret.csv", "x")
    f.chmod(0)
    write(sqlite_project / "data" / "ok.txt", "fine")
    write(sqlite_project / "data" / "deep" / "secret.txt", "x").chmod(0)
    shut = sqlite_project / "data2" / "shut"
    write(shut / "inside.txt", "x")
    shut.chmod(0)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH", "")])))
    for target, culprit in (("secret.csv", "secret.csv"), ("data", "secret.txt"), ("data2", "shut")):
        out = subprocess.run(
            [*(_without_dac_override() or []), sys.executable, "-m", "mlineage.cli.entry", "add", target],
            cwd=sqlite_project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 1 and out.stdout == "", out.stderr
        assert out.stderr.startswith("error: path: ") and culprit in out.stderr
        assert "permission denied" in out.stderr and "Traceback" not in out.stderr
        assert not (sqlite_project / f"{target}.lin").exists()
    shut.chmod(0o755)
    assert not [p for p in (sqlite_project / ".mlineage" / "objects").rglob("*") if p.is_file()]  # nor stored


def test_hand_edited_pointers(sqlite_project: Path) -> None:
    f = write(sqlite_project / "t.csv", "1\n")
    ws = workspace()
    ws.add(["t.csv"])
    pointer = sqlite_project / "t.csv.lin"
    good = ptr.read(pointer)
    # a reformatted but valid pointer still reads
    pointer.write_text(f"size: {good.size}\ndigest: '{good.digest}'\nkind: file\npath: t.csv\n")
    assert ptr.read(pointer).digest == good.digest
    assert [e.state for e in ws.status()] == ["unchanged"]

    pointer.write_text("digest: [unclosed\n")
    (entry,) = ws.status()
    assert entry.state == "invalid" and "not valid YAML" in entry.detail
    f.unlink()
    with pytest.raises(ValidationError, match="not valid YAML"):
        ws.checkout()
    assert not f.exists()

    pointer.write_text(f"path: t.csv\nkind: file\ndigest: sha256:{'0' * 64}\nsize: 2\n")
    with pytest.raises(NotFoundError, match="not in the local cache"):
        ws.checkout()
    pointer.write_text("path: t.csv\nkind: file\ndigest: md5:abc\nsize: 2\n")
    with pytest.raises(ValidationError, match="digest"):
        ptr.read(pointer)
    pointer.write_text("path: other.csv\nkind: file\ndigest: sha256:" + "0" * 64 + "\nsize: 2\n")
    with pytest.raises(ValidationError, match="sits beside"):
        ptr.read(pointer)
    pointer.write_text(f"path: t.csv\nkind: file\ndigest: {good.digest}\nsize: -1\n")
    with pytest.raises(ValidationError, match="negative"):
        ptr.read(pointer)
    assert not f.exists()
    ws.close()


def test_corrupted_cache_object_is_detected_by_fsck_and_checkout(sqlite_project: Path) -> None:
    from mlineage.data.maintenance import fsck

    f = write(sqlite_project / "w.bin", os.urandom(50_000))
    ws = workspace()
    ws.add(["w.bin"])
    digest = ptr.read(sqlite_project / "w.bin.lin").digest
    f.unlink()
    obj = ws.cache.path_for(digest)
    obj.chmod(0o644)
    with obj.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    report = fsck(ws, quiet=True)
    assert [d for d, _ in report.corrupted] == [digest] and not report.ok
    with pytest.raises(IntegrityError, match="corrupted"):
        ws.checkout()
    assert not f.exists()  # never served
    fixed = fsck(ws, repair=True, quiet=True)
    assert fixed.repaired and not ws.cache.has(digest)
    assert fsck(ws, quiet=True).missing == [digest]
    ws.close()


def test_gc_dry_run_then_force(data_project: Path) -> None:
    from mlineage.data.maintenance import gc

    f = write(data_project / "keep.txt", "keep\n")
    ws = workspace()
    ws.add(["keep.txt"])
    orphan = ws.cache.put_bytes(b"nobody points at me")
    report = gc(ws)
    assert report.unreachable == [orphan] and not report.removed and ws.cache.has(orphan)
    gc(ws, dry_run=False)
    assert not ws.cache.has(orphan)
    assert ws.cache.has(ptr.read(data_project / "keep.txt.lin").digest)
    # an older version stays while the ledger records it, unless --workspace
    old = ptr.read(data_project / "keep.txt.lin").digest
    write(f, "newer\n")
    ws.add(["keep.txt"])
    assert gc(ws).unreachable == []
    assert gc(ws, workspace_only=True).unreachable == [old]
    ws.close()


def test_quick_status_agrees_with_the_full_one(
    sqlite_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlineage.data.quick import quick_status

    data = _dataset(sqlite_project)
    write(sqlite_project / "m.bin", "model")
    ws = workspace()
    ws.add([data, "m.bin"])
    assert quick_status([]) is True
    assert "up to date: 2 tracked paths" in capsys.readouterr().out
    write(data / "nested" / "c.txt", "changed")
    assert quick_status([]) is False  # the full command explains the change
    assert quick_status(["data"]) is False  # arguments go to the full command
    ws.close()


def test_manifest_bytes_match_rfc8785() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlineage.hashing import ManifestEntry, canonical_manifest_bytes, manifest_bytes
    from mlineage.model import Digest

    entry = st.builds(ManifestEntry, st.text(min_size=1, max_size=20),
                      st.sampled_from([Digest.sha256("a" * 64), Digest.sha256("0" * 64)]),
                      st.integers(min_value=0, max_value=2**53 - 1), st.sampled_from([0o644, 0o755]))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(entry, max_size=8, unique_by=lambda e: e.path))
    def check(entries: list[ManifestEntry]) -> None:
        surrogate = any(0xD800 <= ord(c) <= 0xDFFF for e in entries for c in e.path)
        if not surrogate:
            assert manifest_bytes(entries) == canonical_manifest_bytes(entries)

    check()


def test_cli_and_sdk_name_a_directory_alike(sqlite_project: Path) -> None:
    """Identity is content: `mlineage add DIR` and `Client.record_artifact(DIR)` give the same digest."""
    from mlineage.hashing import directory_manifest, manifest_digest

    data = _dataset(sqlite_project)
    (data / "a.txt").chmod(0o755)
    sdk_digest = manifest_digest(directory_manifest(data))
    ws = workspace()
    (result,) = ws.add([data])
    assert result.digest == sdk_digest
    assert manifest_digest(directory_manifest(data)) == sdk_digest  # read-only cache links change nothing
    ws.close()


def test_gc_retention_keeps_the_ancestors_of_registered_models(data_project: Path) -> None:
    """--keep-last 1: the middle version of data.csv goes; the first stays because a registered model was
    trained on it (protected, with why); the newest stays (the pointer names it)."""
    from datetime import UTC, datetime, timedelta

    from mlineage.data.maintenance import gc
    from mlineage.model import Digest
    from mlineage.sdk.run import run

    ws = workspace()
    digests = []
    for i in range(3):
        write(data_project / "data.csv", f"x\n{i}\n")
        ws.add(["data.csv"])
        digests.append(ptr.read(data_project / "data.csv.lin").digest)
    with run("train", kind="train", client=ws.client, capture=False) as r:
        r.use(str(digests[0]))
        write(data_project / "model.bin", "weights\n")
        model = r.produce(str(data_project / "model.bin"), kind="model")
    ws.client.register_model(model, "clf")
    ws.client.set_alias("clf", "production", "@1")

    assert gc(ws).unreachable == []  # plain gc keeps every recorded version and the profiles beside them
    profiles = {e.payload["digest"]: e.payload["profile"] for e in ws.client.store.iter_events()
                if e.type == "DatasetProfiled" and e.payload is not None}
    goes = sorted([digests[1], Digest.parse(profiles[str(digests[1])])])  # the expired version's profile too
    report = gc(ws, keep_last=1)
    assert report.unreachable == goes and not report.removed
    assert report.expired == {str(digests[1]): "data.csv@2",
                              profiles[str(digests[1])]: "profile of data.csv@2"}
    (why,) = report.protected[str(digests[0])]
    assert report.labels[str(digests[0])] == "data.csv@1"
    assert why == "ancestor of clf@1 (registered; alias production)"
    assert gc(ws, keep_last=3).unreachable == []
    assert gc(ws, older_than=datetime.now(UTC) - timedelta(days=1)).unreachable == []  # nothing that old
    soon = datetime.now(UTC) + timedelta(seconds=1)
    assert gc(ws, keep_last=1, older_than=soon).unreachable == goes
    with pytest.raises(ValidationError, match="at least 1"):
        gc(ws, keep_last=0)
    gc(ws, keep_last=1, dry_run=False)
    assert not ws.cache.has(digests[1])
    assert ws.cache.has(digests[0]) and ws.cache.has(digests[2])
    ws.close()
