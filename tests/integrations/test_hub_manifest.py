"""Folder digests that see through symlinks (a Hugging Face snapshot is all links into ``blobs/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlineage.errors import ValidationError
from mlineage.hashing import directory_manifest, manifest_digest
from mlineage.sdk.autolog._hub import folder_manifest, looks_like_hub_id, snapshot_of


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"a": 1}')
    (root / "sub" / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    return root


def test_plain_folders_get_the_same_manifest_as_the_sdk(tmp_path: Path) -> None:
    root = _tree(tmp_path / "plain")
    assert folder_manifest(root) == directory_manifest(root)


def test_links_count_as_their_content_under_the_link_name(tmp_path: Path) -> None:
    plain = _tree(tmp_path / "plain")
    blobs = _tree(tmp_path / "blobs")
    linked = tmp_path / "snapshot"
    (linked / "sub").mkdir(parents=True)
    os.symlink(os.path.relpath(blobs / "config.json", linked), linked / "config.json")
    os.symlink(os.path.relpath(blobs / "sub" / "weights.bin", linked / "sub"), linked / "sub" / "weights.bin")
    os.symlink(tmp_path / "gone", linked / "dangling")
    with pytest.raises(ValidationError, match="symbolic link"):  # a plain folder's identity refuses links:
        directory_manifest(linked)  # why the hub's snapshots need their own
    assert snapshot_of(linked).digest == str(manifest_digest(directory_manifest(plain)))
    assert snapshot_of(linked).files == 2 and snapshot_of(linked).size == 2008
    (blobs / "config.json").write_text('{"a": 2}')  # new content behind the same link: a new digest
    assert snapshot_of(linked).digest != str(manifest_digest(directory_manifest(plain)))


def test_hub_ids(tmp_path: Path) -> None:
    assert looks_like_hub_id("org/tiny-bert") and looks_like_hub_id("bert-base-uncased")
    assert (
        not looks_like_hub_id(str(tmp_path))
        and not looks_like_hub_id("a/b/c")
        and not looks_like_hub_id("../x")
    )
