"""``mlineage get REF``: fetch any recorded artifact's bytes to a path, verified (as ``dvc get`` does).

REF is whatever the lineage commands take (a name, name@version, a digest or its prefix). The bytes come
from the client's artifact store -- the team server, an S3 bucket or a local folder -- and every file is
re-hashed before it takes its final name, so a corrupted or substituted blob is never placed. A directory
artifact is fetched through its manifest, each file with its executable bit, and appears all at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..blobs.placement import create_temp, publish, removed_on_failure
from ..errors import IntegrityError, ValidationError
from ..hashing import BUFFER_SIZE, parse_manifest
from ..model import Artifact, Digest

if TYPE_CHECKING:
    from ..blobs.protocol import BlobStore
    from ..sdk.client import Client

MANIFEST_MEDIA_TYPE = "application/vnd.mlineage.manifest+json"


@dataclass(frozen=True)
class Fetched:
    artifact: Artifact
    path: Path
    size: int
    files: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": str(self.artifact.digest),
            "name": self.artifact.name,
            "version": self.artifact.version,
            "kind": self.artifact.kind.value,
            "path": str(self.path),
            "size": self.size,
            "files": self.files,
        }


def default_target(artifact: Artifact) -> Path:
    """Where an artifact lands without ``-o``: the file name it was recorded from, else its name's last
    part."""
    recorded = artifact.metadata.get("path") if isinstance(artifact.metadata, dict) else None
    for candidate in (recorded, artifact.name):
        if isinstance(candidate, str) and Path(candidate).name not in ("", ".", ".."):
            return Path(Path(candidate).name)
    return Path(artifact.digest.hex[:12])


def get(
    client: Client, ref: str, output: str | os.PathLike[str] | None = None, *, force: bool = False
) -> Fetched:
    """Fetch the artifact REF names to ``output`` (see the module docstring); refuses to overwrite unless
    ``force``."""
    node = client.resolve(ref)
    if not isinstance(node, Artifact):
        raise ValidationError(
            "ref",
            f"{ref!r} is a run, not an artifact",
            "name an artifact: name, name@version or a digest (`mlineage show RUN` lists its outputs)",
        )
    target = Path(output) if output is not None else default_target(node)
    if os.path.lexists(target) and not force:
        raise ValidationError(
            "output", f"{target} already exists", "pass -f to overwrite it, or -o another path"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if node.media_type == MANIFEST_MEDIA_TYPE:
        size, files = _get_directory(client.blobs, node.digest, target)
    else:
        size, files = _copy_verified(client.blobs, node.digest, target), 1
    return Fetched(node, target, size, files)


def _copy_verified(blobs: BlobStore, digest: Digest, target: Path, mode: int = 0o644) -> int:
    """Stream a blob into a temp file beside ``target``, re-hashing it; rename into place only if it
    matches."""
    fd, temp = create_temp(target.parent)
    h = hashlib.sha256()
    size = 0
    with removed_on_failure(temp):
        with os.fdopen(fd, "wb") as out, blobs.open(digest) as source:
            while chunk := source.read(BUFFER_SIZE):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if h.hexdigest() != digest.hex:
            raise IntegrityError(
                f"blob {digest} from {blobs.uri} hashes to sha256:{h.hexdigest()}; it was not "
                "placed (the artifact store is corrupted: tell whoever runs it)"
            )
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        publish(temp, target, mode)
    return size


def _get_directory(blobs: BlobStore, digest: Digest, target: Path) -> tuple[int, int]:
    """Fetch a manifest and its files into a fresh folder beside ``target``, then swap it into place."""
    with blobs.open(digest) as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != digest.hex:
        raise IntegrityError(
            f"the manifest {digest} from {blobs.uri} does not match its digest; nothing was placed"
        )
    entries = parse_manifest(data)
    staging = target.parent / f".mlineage-get-{os.getpid()}-{target.name}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        total = 0
        for entry in entries:
            path = staging / entry.path
            path.parent.mkdir(parents=True, exist_ok=True)
            total += _copy_verified(blobs, entry.digest, path, entry.mode)
        if os.path.lexists(target):
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return total, len(entries)
