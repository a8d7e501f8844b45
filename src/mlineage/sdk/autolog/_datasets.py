"""What a PyTorch ``Dataset`` holds, found without iterating it: a digest of its tensors, or the file it reads.

Only what can be digested cheaply and deterministically is: ``TensorDataset`` tensors; a dataset with a ``.data``
array or tensor (and ``.targets``), as torchvision's in-memory datasets have; a dataset naming one file
(``.path``, ``.file``, ``.filename``...); ``Subset`` and ``ConcatDataset`` of those. Anything else (a dataset that
reads files in ``__getitem__``, an ``IterableDataset``, a Hugging Face ``datasets.Dataset``) is described by its
class and length only: iterating it would cost a pass over the data and need not give the same bytes twice.
Transforms applied in ``__getitem__`` are not part of the digest; their ``repr`` is kept in the metadata.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._common import data_digest

PATH_ATTRIBUTES = ("path", "file", "filepath", "file_path", "filename", "data_path", "data_file", "csv_path")
COMBINED_SCHEMA = b"mlineage.dataset-combined/1\0"
MAX_PARTS = 1000  # a ConcatDataset of more parts is described, not digested


@dataclass
class DatasetDigest:
    """A dataset as recorded: its digest (None when not digestible), the file it is (when it is one), metadata."""

    digest: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    parents: list[DatasetDigest] = field(default_factory=list)  # what a Subset/ConcatDataset is made from


def class_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def length(obj: Any) -> int | None:
    try:
        return len(obj)
    except Exception:  # noqa: BLE001 - an IterableDataset, or a __len__ that raises
        return None


def _array_like(value: Any) -> bool:
    """An array, tensor, sparse matrix, Series or DataFrame (what ``data_digest`` reads)."""
    return hasattr(value, "shape") and (hasattr(value, "dtype") or hasattr(value, "dtypes"))


def _file_of(dataset: Any) -> Path | None:
    for attribute in PATH_ATTRIBUTES:
        value = getattr(dataset, attribute, None)
        if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
            return Path(value)
    return None


def _combine(parts: list[DatasetDigest], extra: bytes = b"") -> str:
    h = hashlib.sha256(COMBINED_SCHEMA)
    for part in parts:
        h.update(str(part.digest).encode() + b"\0")
    h.update(extra)
    return "sha256:" + h.hexdigest()


def _transform(dataset: Any, metadata: dict[str, Any]) -> None:
    for attribute in ("transform", "target_transform", "transforms"):
        value = getattr(dataset, attribute, None)
        if value is not None:
            text = repr(value)
            metadata[attribute] = text if len(text) <= 250 else text[:247] + "..."


def digest_dataset(dataset: Any, _depth: int = 0) -> DatasetDigest:
    """The dataset's digest and a summary, or ``DatasetDigest(None, ...)`` when it cannot be digested cheaply."""
    from ...hashing import hash_file

    metadata: dict[str, Any] = {"dataset_class": class_name(dataset)}
    size = length(dataset)
    if size is not None:
        metadata["length"] = size
    if _depth > 8:
        return DatasetDigest(None, metadata)
    tensors = getattr(dataset, "tensors", None)
    if isinstance(tensors, (tuple, list)) and tensors and all(_array_like(t) for t in tensors):  # TensorDataset
        digest, summary = data_digest(*tensors)
        return DatasetDigest(digest, {**summary, **metadata})
    data = getattr(dataset, "data", None)
    if _array_like(data):  # torchvision MNIST/CIFAR style: .data (+ .targets)
        targets = getattr(dataset, "targets", None)
        if targets is not None and not _array_like(targets):
            try:
                import numpy as np

                targets = np.asarray(targets)
            except Exception:  # noqa: BLE001 - ragged targets: the dataset is described, not digested
                return DatasetDigest(None, metadata)
        digest, summary = data_digest(data, targets)
        _transform(dataset, metadata)
        return DatasetDigest(digest, {**summary, **metadata})
    inner = getattr(dataset, "dataset", None)
    indices = getattr(dataset, "indices", None)
    if inner is not None and indices is not None:  # torch.utils.data.Subset (random_split)
        parent = digest_dataset(inner, _depth + 1)
        if parent.digest is None:
            return DatasetDigest(None, metadata)
        index_digest, _ = data_digest(list(indices))
        metadata.update({"source": "subset", "subset_of": parent.digest, "indices": len(indices)})
        return DatasetDigest(_combine([parent], index_digest.encode()), metadata, parents=[parent])
    parts = getattr(dataset, "datasets", None)
    if isinstance(parts, (list, tuple)) and 0 < len(parts) <= MAX_PARTS:  # ConcatDataset
        found = [digest_dataset(p, _depth + 1) for p in parts]
        if any(f.digest is None for f in found):
            return DatasetDigest(None, metadata)
        metadata.update({"source": "concat", "parts": [f.digest for f in found][:20]})
        return DatasetDigest(_combine(found), metadata, parents=found)
    path = _file_of(dataset)
    if path is not None:
        file_digest, file_size = hash_file(path)
        _transform(dataset, metadata)
        metadata.update({"source": "file", "path": str(path), "bytes": file_size})
        return DatasetDigest(str(file_digest), metadata, path)
    return DatasetDigest(None, metadata)
