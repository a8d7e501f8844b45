"""What a PyTorch ``Dataset`` holds, found without iterating it: a digest of its tensors, or the file it
reads; and ``record_loaders``, which records a stage's dataloaders as inputs of a run (Lightning,
Transformers).

Only what can be digested cheaply and deterministically is: ``TensorDataset`` tensors; a dataset with a
``.data`` array or tensor (and ``.targets``), as torchvision's in-memory datasets have; a dataset naming one
file (``.path``, ``.file``, ``.filename``...); ``Subset`` and ``ConcatDataset`` of those. Anything else (a
dataset that reads files in ``__getitem__``, an ``IterableDataset``, a Hugging Face ``datasets.Dataset``) is
described by its class and length only (and a ``datasets.Dataset`` by its ``_fingerprint``, which names its
transform history rather than its content): iterating it would cost a pass over the data and need not give the
same bytes twice. Transforms applied in ``__getitem__`` are not part of the digest; their ``repr`` is kept in
the metadata.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import events as ev
from ...events import NewEvent
from ..run import ActiveRun
from ._common import data_digest, log_params_safely, record_input_digest

PATH_ATTRIBUTES = ("path", "file", "filepath", "file_path", "filename", "data_path", "data_file", "csv_path")
COMBINED_SCHEMA = b"mlineage.dataset-combined/1\0"
MAX_PARTS = 1000  # a ConcatDataset of more parts is described, not digested


@dataclass
class DatasetDigest:
    """A dataset as recorded: its digest (None when not digestible), the file it is (when it is one),
    metadata."""

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
    """The dataset's digest and a summary, or ``DatasetDigest(None, ...)`` when it cannot be digested
    cheaply."""
    from ...hashing import hash_file

    metadata: dict[str, Any] = {"dataset_class": class_name(dataset)}
    size = length(dataset)
    if size is not None:
        metadata["length"] = size
    if _depth > 8:
        return DatasetDigest(None, metadata)
    tensors = getattr(dataset, "tensors", None)
    if (
        isinstance(tensors, (tuple, list)) and tensors and all(_array_like(t) for t in tensors)
    ):  # TensorDataset
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


# ---------------------------------------------------------------- dataloaders → run inputs


ROLES = {"train": "training_data", "val": "validation_data"}


def _named(loaders: Any) -> list[tuple[str, Any]]:
    """(suffix, loader) for one loader, a sequence of them (``.0``, ``.1``) or a mapping (``.<key>``)."""
    if loaders is None:
        return []
    if isinstance(loaders, Mapping):
        return [(f".{key}", loader) for key, loader in loaders.items()]
    if isinstance(loaders, (list, tuple)):
        return (
            [("", loaders[0])]
            if len(loaders) == 1
            else [(f".{i}", loader) for i, loader in enumerate(loaders)]
        )
    return [("", loaders)]


def record_loaders(run: ActiveRun, loaders: Any, stage: str) -> None:
    """Each loader's dataset as a ``dataset`` input of the run (role ``training_data``/``validation_data``)
    when it can be digested cheaply; its class, length, batch size and whether it was digested as params."""
    role = ROLES.get(stage, f"{stage}_data")
    params: dict[str, Any] = {}
    seen: set[tuple[str, str]] = set()  # a repeated (digest, role) edge is harmless (the projection dedupes)
    for suffix, loader in _named(loaders):
        dataset = getattr(loader, "dataset", None)
        if dataset is None:
            continue
        found = digest_dataset(dataset)
        prefix = f"data.{stage}{suffix}."
        params[prefix + "class"] = found.metadata["dataset_class"]
        if "length" in found.metadata:
            params[prefix + "length"] = found.metadata["length"]
        if getattr(loader, "batch_size", None) is not None:
            params[prefix + "batch_size"] = loader.batch_size
        params[prefix + "digested"] = found.digest is not None
        fingerprint = getattr(dataset, "_fingerprint", None)  # a Hugging Face datasets.Dataset's own id
        if isinstance(fingerprint, str):
            params[prefix + "fingerprint"] = fingerprint
        if found.digest is None or (found.digest, role) in seen:
            continue
        seen.add((found.digest, role))
        metadata = {**found.metadata, "loader": f"{stage}{suffix}"}
        record_input_digest(run, found.digest, kind="dataset", role=role, metadata=metadata,
                            size=metadata.get("bytes"), name=None)
        if found.parents:
            run.write_events(_parent_events(found))
    log_params_safely(run, params)


def _parent_events(child: DatasetDigest) -> list[NewEvent]:
    """A Subset/ConcatDataset DERIVED_FROM what it is made of (recorded too), so ``impact`` of the full
    dataset reaches both splits and every model trained on either."""
    events: list[NewEvent] = []
    for parent in child.parents:
        if parent.digest is None or parent.digest == child.digest:
            continue
        payload: dict[str, Any] = {"digest": parent.digest, "kind": "dataset", "metadata": parent.metadata}
        if parent.metadata.get("bytes") is not None:
            payload["size"] = parent.metadata["bytes"]
        events.append(NewEvent(ev.ARTIFACT_RECORDED, payload))
        events.extend(_parent_events(parent))
        events.append(NewEvent(ev.ARTIFACT_DERIVED, {"parent": parent.digest, "child": child.digest}))
    return events
