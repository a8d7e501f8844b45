"""push → fresh clone → pull → checkout, against a local folder and a real S3-protocol server (moto)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlineage.data import pointer as ptr
from mlineage.errors import IntegrityError, StoreUnavailableError

from .conftest import clone_project, tree, workspace, write


def _make_data(root: Path) -> tuple[Path, Path]:
    data = root / "data"
    for i in range(30):
        write(data / f"part-{i % 3}" / f"f{i}.csv", f"row {i}\n" * (i + 1))
    write(data / "shared-a.txt", "same bytes\n")
    write(data / "shared-b.txt", "same bytes\n")
    model = write(root / "model.bin", os.urandom(300_000))
    return data, model


def _round_trip(project: Path, remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, model = _make_data(project)
    expected_tree, expected_model = tree(data), model.read_bytes()
    ws = workspace()
    ws.add([data, model])
    from mlineage.data.transfer import pull, push

    first = push(ws, ws.remote(remote), quiet=True)
    assert first.transferred == 30 + 1 + 1 + 1  # 30 csv, one shared text, the manifest, the model
    again = push(ws, ws.remote(remote), quiet=True)
    assert again.transferred == 0 and again.already == first.transferred
    ws.close()

    clone = clone_project(project, tmp_path / "clone")
    monkeypatch.chdir(clone)
    fresh = workspace()
    assert sorted(e.state for e in fresh.status()) == ["missing", "missing"]
    report = pull(fresh, fresh.remote(remote), quiet=True)
    assert report.transferred == first.transferred
    fresh.checkout(fetch=False)
    assert tree(clone / "data") == expected_tree
    assert (clone / "model.bin").read_bytes() == expected_model
    assert [e.state for e in fresh.status()] == ["unchanged", "unchanged"]
    fresh.close()


def test_local_folder_remote_round_trip(
    sqlite_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _round_trip(sqlite_project, str(tmp_path / "remote"), tmp_path, monkeypatch)


def test_s3_remote_round_trip(data_project: Path, s3_remote: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    _round_trip(data_project, s3_remote, tmp_path, monkeypatch)


def test_checkout_fetches_missing_objects_from_the_configured_remote(
        sqlite_project: Path, s3_remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage.data.transfer import push

    (sqlite_project / ".mlineage" / "config.toml").write_text(f'[remote]\nuri = "{s3_remote}"\n')
    data, _ = _make_data(sqlite_project)
    expected = tree(data)
    ws = workspace()
    ws.add([data])
    push(ws, ws.remote(), quiet=True)
    ws.close()
    clone = clone_project(sqlite_project, tmp_path / "clone")
    monkeypatch.chdir(clone)
    fresh = workspace()
    fresh.checkout(["data"])  # no explicit pull: checkout fetches from [remote] uri
    assert tree(clone / "data") == expected
    fresh.close()


def test_large_file_goes_up_in_multipart_chunks(sqlite_project: Path, s3_remote: str) -> None:
    from mlineage.blobs.s3 import S3BlobStore

    big = write(sqlite_project / "big.bin", os.urandom(12 << 20))
    ws = workspace()
    ws.add(["big.bin"])
    remote = ws.remote(s3_remote)
    assert isinstance(remote, S3BlobStore)
    from boto3.s3.transfer import TransferConfig

    remote.transfer = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
    from mlineage.data.transfer import push

    push(ws, remote, quiet=True)
    digest = ptr.read(sqlite_project / "big.bin.lin").digest
    head = remote.client.head_object(Bucket=remote.bucket, Key=remote.key_for(digest))
    assert head["ContentLength"] == 12 << 20
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    target = sqlite_project / "downloaded.bin"
    remote.download_to(digest, target)
    assert target.read_bytes() == big.read_bytes()
    ws.close()


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_interrupted_push_resumes(
    sqlite_project: Path,
    tmp_path: Path,
    kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlineage.data.transfer import push

    uri = str(tmp_path / "remote") if kind == "folder" else request.getfixturevalue("s3_remote")
    data, _ = _make_data(sqlite_project)
    ws = workspace()
    ws.add([data])
    remote = ws.remote(uri)
    real_upload = remote.upload
    calls = {"n": 0}

    def flaky(path: Path, digest: object, on_bytes: object = None) -> None:
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a push
        real_upload(path, digest, on_bytes=on_bytes)

    monkeypatch.setattr(remote, "upload", flaky)
    with pytest.raises(KeyboardInterrupt):
        push(ws, remote, quiet=True, jobs=1)
    done = set(remote.iter_digests())
    assert 0 < len(done) <= 5
    manifest = ptr.read(sqlite_project / "data.lin").digest
    assert manifest not in done  # the manifest goes last, so a partial push never advertises the directory
    monkeypatch.setattr(remote, "upload", real_upload)
    resumed = push(ws, remote, quiet=True)
    assert resumed.already == len(done)
    assert resumed.transferred == 31 + 1 - len(done)
    assert manifest in set(remote.iter_digests())
    ws.close()


def test_unreachable_remote_names_the_endpoint(sqlite_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    pytest.importorskip("boto3")
    ws = workspace()
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{port}.*unreachable"):
        ws.remote("s3://bucket/prefix")
    ws.close()


def test_missing_bucket_is_reported(sqlite_project: Path, s3_remote: str) -> None:
    ws = workspace()
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        ws.remote("s3://no-such-bucket-here/x")
    ws.close()


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_corrupted_remote_object_is_never_placed(
    sqlite_project: Path,
    tmp_path: Path,
    kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlineage.data.transfer import pull, push

    uri = str(tmp_path / "remote") if kind == "folder" else request.getfixturevalue("s3_remote")
    write(sqlite_project / "m.bin", os.urandom(1000))
    ws = workspace()
    ws.add(["m.bin"])
    remote = ws.remote(uri)
    push(ws, remote, quiet=True)
    digest = ptr.read(sqlite_project / "m.bin.lin").digest
    if kind == "folder":
        obj = Path(uri) / "sha256" / digest.hex[:2] / digest.hex[2:]
        obj.chmod(0o644)
        obj.write_bytes(b"tampered")
    else:
        remote.client.put_object(Bucket=remote.bucket, Key=remote.key_for(digest), Body=b"tampered")
    ws.close()
    clone = clone_project(sqlite_project, tmp_path / "clone")
    monkeypatch.chdir(clone)
    fresh = workspace()
    with pytest.raises(IntegrityError, match="corrupted"):
        pull(fresh, fresh.remote(uri), quiet=True)
    assert not fresh.cache.has(digest)
    assert not (clone / "m.bin").exists()
    fresh.close()


def test_registry_picks_the_store_by_scheme(tmp_path: Path) -> None:
    from mlineage.blobs.local import LocalBlobStore
    from mlineage.blobs.registry import open_blob_store
    from mlineage.errors import ConfigError

    assert isinstance(open_blob_store(str(tmp_path / "objects")), LocalBlobStore)
    assert open_blob_store((tmp_path / "x").as_uri()).root == tmp_path / "x"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unsupported artifact store URI"):
        open_blob_store("gopher://example/objects")


def test_client_stores_artifacts_in_s3(store_uri: str, s3_remote: str, tmp_path: Path) -> None:
    """MLINEAGE_ARTIFACTS=s3://... makes the SDK's artifact store the bucket, with no other change."""
    from mlineage.blobs.s3 import S3BlobStore
    from mlineage.sdk.client import Client

    client = Client.for_uri(store_uri, s3_remote)
    assert isinstance(client.blobs, S3BlobStore)
    f = write(tmp_path / "weights.bin", os.urandom(4000))
    artifact = client.record_artifact(f, kind="model", name="weights")
    assert client.blobs.has(artifact.digest)
    with client.blobs.open(artifact.digest) as handle:
        assert handle.read() == f.read_bytes()
    client.close()


def test_interrupted_pull_resumes(
    sqlite_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlineage.data.transfer import pull, push

    uri = str(tmp_path / "remote")
    data, _ = _make_data(sqlite_project)
    expected = tree(data)
    ws = workspace()
    ws.add([data])
    push(ws, ws.remote(uri), quiet=True)
    ws.close()
    clone = clone_project(sqlite_project, tmp_path / "clone")
    monkeypatch.chdir(clone)
    fresh = workspace()
    remote = fresh.remote(uri)
    real = remote.download_to
    calls = {"n": 0}

    def flaky(digest: object, target: Path, on_bytes: object = None) -> None:
        calls["n"] += 1
        if calls["n"] > 6:
            raise KeyboardInterrupt
        real(digest, target, on_bytes=on_bytes)

    monkeypatch.setattr(remote, "download_to", flaky)
    with pytest.raises(KeyboardInterrupt):
        pull(fresh, remote, quiet=True, jobs=1)
    have = len(list(fresh.cache.iter_digests()))
    assert 0 < have <= 6
    assert not list((fresh.cache.root / "sha256").rglob(".mlineage-tmp-*"))  # nothing half-written
    monkeypatch.setattr(remote, "download_to", real)
    report = pull(fresh, remote, quiet=True)
    assert report.transferred == 32 - have
    fresh.checkout(fetch=False)
    assert tree(clone / "data") == expected
    fresh.close()
