"""What every integration shares: finding or opening the run, in-memory data digests, model files."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ... import events as ev
from ...errors import ValidationError
from ...events import NewEvent
from ...model import Artifact, Digest
from ..run import ActiveRun, active_run
from ._state import STATE

log = logging.getLogger("mlineage.autolog")

MAX_PARAM_CHARS = 250
DATA_DIGEST_SCHEMA = b"mlineage.data/1\0"


@contextlib.contextmanager
def tracked_run(default_job: str, kind: str = "train") -> Iterator[tuple[ActiveRun, bool]]:
    """The active run if there is one (owned=False), else a new run opened and closed around the block."""
    current = active_run()
    if current is not None:
        yield current, False
        return
    with ActiveRun(STATE.config.job or default_job, kind=kind, client=STATE.config.client) as run:
        yield run, True


def json_param(value: Any) -> Any:
    """A value as a param: JSON scalars as they are, containers recursively, anything else by its repr."""
    if value is None or isinstance(value, (bool, str, int)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            return str(value)
        return (
            value if not isinstance(value, str) or len(value) <= MAX_PARAM_CHARS else value[:MAX_PARAM_CHARS]
        )
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)) and len(value) <= 50:
        return [json_param(v) for v in value]
    if isinstance(value, Mapping) and len(value) <= 50:
        return {str(k): json_param(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "ndim", getattr(value, "dim", lambda: 1)) in (0,):
        try:
            return json_param(item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    text = repr(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def log_params_safely(run: ActiveRun, params: Mapping[str, Any], prefix: str = "") -> None:
    """Log params, skipping keys the run already holds with another value (params are immutable)."""
    fresh: dict[str, Any] = {}
    for key, value in params.items():
        full = f"{prefix}{key}"
        value = json_param(value)
        if full in run.params and run.params[full] != value:
            log.debug("param %s already logged with another value; keeping the first", full)
            continue
        if full not in run.params:
            fresh[full] = value
    if fresh:
        try:
            run.log_params(fresh)
        except ValidationError as exc:
            log.warning("mlineage autolog: params not recorded: %s", exc)


def log_metrics_safely(run: ActiveRun, metrics: Mapping[str, Any], step: int = 0) -> None:
    clean: dict[str, float] = {}
    for key, value in metrics.items():
        try:
            number = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            clean[str(key)] = number
    if clean:
        run.log_metrics(clean, step=max(0, int(step)))


# ---------------------------------------------------------------- in-memory data digests


def _feed(h: Any, value: Any, meta: dict[str, Any]) -> None:
    module = type(value).__module__.split(".", 1)[0]
    if value is None:
        h.update(b"N")
        return
    if module == "pandas" and hasattr(value, "columns") and hasattr(value, "dtypes"):  # DataFrame
        columns = [str(c) for c in value.columns]
        meta.setdefault("columns", columns[:100])
        meta.setdefault("rows", int(value.shape[0]))
        h.update(b"DF" + repr(columns).encode() + repr([str(d) for d in value.dtypes]).encode())
        for column in value.columns:
            _feed(h, value[column].to_numpy(), {})
        return
    if module == "pandas" and hasattr(value, "to_numpy"):  # Series
        h.update(b"S" + repr(str(getattr(value, "name", ""))).encode())
        _feed(h, value.to_numpy(), meta)
        return
    if module == "torch" and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
        module = "numpy"
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # scipy sparse
        csr = value.tocsr()
        meta.setdefault("rows", int(csr.shape[0]))
        h.update(f"CSR{csr.shape}{csr.dtype.str}".encode())
        for part in (csr.data, csr.indices, csr.indptr):
            _feed(h, part, {})
        return
    import numpy as np

    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    meta.setdefault("rows", int(array.shape[0]) if array.ndim else 1)
    meta.setdefault("shape", list(array.shape))
    meta.setdefault("dtype", array.dtype.str)
    h.update(f"A{array.dtype.str}{array.shape}".encode())
    if array.dtype.hasobject:
        for item in array.ravel():
            text = repr(item).encode()
            h.update(len(text).to_bytes(8, "little") + text)
    else:
        h.update(np.ascontiguousarray(array).data)


def data_digest(*parts: Any) -> tuple[str, dict[str, Any]]:
    """``sha256:<hex>`` of in-memory training data (arrays, frames, sparse matrices, tensors) and a summary.

    The digest covers dtypes, shapes, column names and every value, so any change to the data changes it;
    it is not the digest of a file the data came from (record that file with ``run.use(path)``)."""
    h = hashlib.sha256(DATA_DIGEST_SCHEMA)
    meta: dict[str, Any] = {"source": "in-memory"}
    for i, part in enumerate(parts):
        part_meta: dict[str, Any] = {}
        _feed(h, part, part_meta)
        if i == 0:
            meta.update(part_meta)
        elif part is not None:
            meta["target"] = {k: v for k, v in part_meta.items() if k in ("shape", "dtype")}
    return "sha256:" + h.hexdigest(), meta


def record_input_digest(run: ActiveRun, digest: str, *, kind: str, role: str, metadata: dict[str, Any],
                        size: int | None = None, name: str | None = None,
                        media_type: str | None = None) -> Artifact:
    """Record an artifact known only by digest (no blob) and link it to the run as an input."""
    payload: dict[str, Any] = {"digest": digest, "kind": kind, "metadata": metadata}
    if size is not None:
        payload["size"] = size
    if name is not None:
        payload["name"] = name
    if media_type is not None:
        payload["media_type"] = media_type
    return run.record_new_artifact(
        NewEvent(ev.ARTIFACT_RECORDED, payload),
        NewEvent(ev.ARTIFACT_USED, {"run_id": run.id, "digest": digest, "role": role}),
    )


def produce_bytes(
    run: ActiveRun,
    data: bytes,
    *,
    kind: str = "model",
    role: str = "model",
    metadata: dict[str, Any] | None = None,
    media_type: str | None = None,
    name: str | None = None,
    derived_from: Iterable[str] = (),
    stored_as: Digest | None = None,
) -> Artifact:
    """Store bytes (a serialized model) in the blob store and record them as an output of the run: one write,
    no scratch file. ``derived_from`` are digests of recorded artifacts (DERIVED_FROM parents); ``stored_as``
    is what ``run.client.blobs.put_bytes(data)`` returned when the caller already stored them."""
    digest = str(stored_as if stored_as is not None else run.client.blobs.put_bytes(data))
    payload: dict[str, Any] = {
        "digest": digest,
        "kind": kind,
        "size": len(data),
        "metadata": dict(metadata or {}),
    }
    if media_type is not None:
        payload["media_type"] = media_type
    if name is not None:
        payload["name"] = name
    derived = [NewEvent(ev.ARTIFACT_DERIVED, {"parent": parent, "child": digest})
               for parent in dict.fromkeys(derived_from) if parent != digest]
    return run.record_new_artifact(
        NewEvent(ev.ARTIFACT_RECORDED, payload),
        NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run.id, "digest": digest, "role": role}), derived)


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary folder for a model file that is hashed into the blob store and then removed."""
    with tempfile.TemporaryDirectory(prefix="mlineage-model-") as folder:
        yield Path(folder)


def path_like(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))
