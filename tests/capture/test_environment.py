"""The environment manifest: packages once per process, lockfiles, container and Kubernetes facts,
hardware."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlineage.capture import environment as env_capture
from mlineage.capture.redact import REDACTED

pytestmark = pytest.mark.full_capture


def test_package_manifest_lists_installed_distributions_once() -> None:
    items, digest = env_capture.packages()
    names = dict(items)
    assert "sqlalchemy" in names and "click" in names and digest.startswith("sha256:")
    assert env_capture.packages() is env_capture.packages()  # cached: computed once per process


def test_lockfiles_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest==8\n")
    (tmp_path / "environment.yml").write_text("name: x\n")
    (tmp_path / "notes.txt").write_text("not a lockfile\n")
    found = dict(env_capture.lockfiles(str(tmp_path)))
    assert sorted(found) == ["environment.yml", "requirements-dev.txt", "uv.lock"]
    assert all(d.startswith("sha256:") for d in found.values())


def test_manifest_contents(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text("# lock\n")
    doc = env_capture.environment_manifest(tmp_path)
    assert doc["python"]["version"] and doc["os"]["system"]
    assert doc["packages_digest"] == env_capture.packages()[1]
    assert doc["lockfiles"][0]["path"] == "poetry.lock"
    hw = doc["hardware"]
    assert hw["cpu_count"] and hw["memory_bytes"] > 0


def test_container_from_the_documented_variables_and_the_runtime(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    info = env_capture.container_info({"MLINEAGE_IMAGE": "registry.example.com/train:1.2",
                                       "MLINEAGE_IMAGE_DIGEST": digest}, fs_root=tmp_path)
    assert info == {"image": "registry.example.com/train:1.2", "image_digest": digest}
    (tmp_path / ".dockerenv").write_text("")
    (tmp_path / "proc/self").mkdir(parents=True)
    container_id = "c" * 64
    (tmp_path / "proc/self/cgroup").write_text(f"0::/system.slice/docker-{container_id}.scope\n")
    info = env_capture.container_info({"MLINEAGE_IMAGE": f"train@{digest}"}, fs_root=tmp_path)
    assert info == {"image": f"train@{digest}", "image_digest": digest, "runtime": "docker",
                    "container_id": container_id}
    podman = tmp_path / "podman"
    (podman / "run").mkdir(parents=True)
    (podman / "run/.containerenv").write_text(
        f'engine="podman-4"\nimage="quay.io/x/y:2"\nimageid="{"d" * 64}"\n'
    )
    info = env_capture.container_info({}, fs_root=podman)
    assert info == {"image": "quay.io/x/y:2", "image_digest": "sha256:" + "d" * 64, "runtime": "podman"}
    assert env_capture.container_info({}, fs_root=tmp_path / "nothing") is None
    fallback = env_capture.container_info({"CONTAINER_IMAGE": "ci/img:3", "IMAGE_DIGEST": digest},
                                          fs_root=tmp_path / "nothing")
    assert fallback == {"image": "ci/img:3", "image_digest": digest}


def test_kubernetes_pod_and_namespace(tmp_path: Path) -> None:
    ns = tmp_path / "namespace"
    ns.write_text("ml-team\n")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "HOSTNAME": "train-7f9c-abcde"}
    assert env_capture.kubernetes_info(env, ns) == {"pod": "train-7f9c-abcde", "namespace": "ml-team"}
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "POD_NAME": "p", "POD_NAMESPACE": "n", "NODE_NAME": "gpu-1"}
    assert env_capture.kubernetes_info(env, ns) == {"pod": "p", "namespace": "n", "node": "gpu-1"}
    assert env_capture.kubernetes_info({}, ns) is None


def test_relevant_environment_variables_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_" + "q" * 34)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("MLINEAGE_URI", "postgresql://svc:pw-in-url@db/ml")
    monkeypatch.setenv("UNRELATED_SECRET", "nope")
    env = env_capture.relevant_environ()
    assert env["HF_TOKEN"] == REDACTED and env["OMP_NUM_THREADS"] == "2"
    assert env["MLINEAGE_URI"] == "postgresql://db/ml" and "UNRELATED_SECRET" not in env
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # a change is seen on the next call
    assert env_capture.relevant_environ()["OMP_NUM_THREADS"] == "4"


def test_accelerators_only_when_torch_is_loaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert "accelerators" not in env_capture.environment_manifest(tmp_path)


def test_package_manifest_is_kept_on_disk_between_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second process (here: the process cache cleared) reads the manifest back instead of listing every
    distribution again; installing into a folder on sys.path, or a damaged entry, makes it list again."""
    import importlib.metadata
    import sys

    from mlineage.capture import package_cache

    monkeypatch.setenv("MLINEAGE_CACHE_DIR", str(tmp_path / "cache"))
    listings: list[int] = []
    real = importlib.metadata.distributions

    def counting(*args: object, **kwargs: object) -> object:
        listings.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.metadata, "distributions", counting)
    env_capture.clear_cache()
    first = env_capture.packages()
    env_capture.clear_cache()
    assert env_capture.packages() == first and len(listings) == 1  # read back, not listed

    site = tmp_path / "site"
    (site / "fresh_pkg-1.0.dist-info").mkdir(parents=True)
    (site / "fresh_pkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fresh-pkg\nVersion: 1.0\n"
    )
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    env_capture.clear_cache()
    with_site = env_capture.packages()
    assert dict(with_site[0])["fresh-pkg"] == "1.0" and len(listings) == 2  # a new folder: listed again
    before = site.stat().st_mtime_ns
    (site / "other_pkg-2.0.dist-info").mkdir()  # "installing" changes the folder's modification time
    (site / "other_pkg-2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: other-pkg\nVersion: 2.0\n"
    )
    if site.stat().st_mtime_ns == before:  # a filesystem whose clock did not tick in between: as if later
        os.utime(site, ns=(before + 10**9, before + 10**9))
    env_capture.clear_cache()
    assert dict(env_capture.packages()[0])["other-pkg"] == "2.0" and len(listings) == 3

    [entry] = [p for p in (tmp_path / "cache").glob("packages-*.json")
               if p.name == f"packages-{package_cache.environment_key()[:40]}.json"]
    entry.write_text(entry.read_text().replace('"2.0"', '"9.9"'))  # edited: its digest no longer matches
    env_capture.clear_cache()
    assert dict(env_capture.packages()[0])["other-pkg"] == "2.0" and len(listings) == 4
    env_capture.clear_cache()
    monkeypatch.setenv("MLINEAGE_CACHE_DIR", "off")
    env_capture.packages()
    assert len(listings) == 5


def test_an_image_tag_is_resolved_to_its_digest_by_the_container_runtime(tmp_path: Path) -> None:
    from mlineage.capture.environment import container_info

    digest = "sha256:" + "c" * 64
    docker = tmp_path / "docker"
    docker.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'image inspect' ] && echo '[\"acme/train@{digest}\"]'\n")
    docker.chmod(0o755)
    info = container_info({"MLINEAGE_IMAGE": "acme/train:latest", "PATH": str(tmp_path)}, fs_root=tmp_path)
    assert info is not None and info["image_digest"] == digest and "pinned" not in info


def test_an_image_tag_no_runtime_can_resolve_is_recorded_unpinned(tmp_path: Path) -> None:
    from mlineage.capture.environment import container_info

    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\necho 'Error: No such image' >&2\nexit 1\n")
    docker.chmod(0o755)
    info = container_info({"MLINEAGE_IMAGE": "acme/train:latest", "PATH": str(tmp_path)}, fs_root=tmp_path)
    assert info is not None and info["pinned"] is False and "image_digest" not in info
