"""MLflow's records mapped to mlineage events (pure: plain records in, events out; ``mlflow_source`` reads
them through ``MlflowClient``).

A run keeps its MLflow id, so an MLflow run and its mlineage run are found by the same id; its job is the
experiment's name; params, the full metric history, tags (in the context), status (failed and killed runs
included) and times come over as they are. Dataset inputs become dataset artifacts the run used (their
MLflow digest and source in the metadata); artifacts and logged models become artifacts the run produced,
hashed when their files are readable here (otherwise a placeholder digest derived from where MLflow keeps
them). Registered model versions name the model artifact (``name@version`` follows MLflow's version
order); aliases are ``RegistryAliasImported`` events.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import events as ev
from ..events import NewEvent, utc_from_ns
from .ids import event_id, placeholder_digest
from .records import REGISTRY_ALIAS_IMPORTED

SOURCE = "mlflow"
METRICS_PER_EVENT = 1000
_STATUS = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "aborted"}
_SKIPPED_TAGS = ("mlflow.log-model.history",)  # bulky and repeated in the artifacts themselves
_STEP_TIME = operator.itemgetter(0, 2)
_MILLIS = tuple(f".{ms:03d}000Z" for ms in range(1000))  # the part of a time below the second, by ms


@dataclass
class ArtifactRecord:
    """A file, folder or logged model a run produced: ``digest`` None when its bytes were not readable."""

    path: str
    digest: str | None
    size: int | None
    kind: str = "file"
    name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    identity: str = ""  # where MLflow keeps it (for a placeholder digest)


@dataclass
class ListedRun:
    """A run as the store lists it (before its metric histories and artifacts are read): the same fields
    whether read through ``MlflowClient`` or from a SQLite store's tables."""

    run_id: str
    experiment_id: str
    run_name: str | None
    status: str
    start_time: int | None
    end_time: int | None
    user: str | None
    lifecycle_stage: str | None
    artifact_uri: str | None
    params: dict[str, str]
    tags: dict[str, str]
    latest: dict[str, float]  # key -> the metric's latest value
    datasets: list[dict[str, Any]] = field(default_factory=list)  # name, digest, source_type, source (as
    # MLflow keeps it), schema, context


@dataclass
class RunRecord:
    run_id: str
    experiment_id: str
    experiment_name: str
    run_name: str | None
    status: str
    start_time: int | None  # ms since the epoch
    end_time: int | None
    user: str | None
    lifecycle_stage: str | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, list[tuple[int, float, int]]]  # key -> [(step, value, timestamp ms)]
    datasets: list[dict[str, Any]] = field(default_factory=list)  # name, digest, source_type, source, context
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    artifact_uri: str | None = None


@dataclass
class ModelVersionRecord:
    name: str
    version: str
    source: str | None
    run_id: str | None
    model_digest: str | None  # the model artifact's digest when known (a logged model or run artifact)
    status: str | None = None
    description: str | None = None


def iso(ms: int | None) -> str | None:
    """MLflow's milliseconds as mlineage writes times (``2026-11-25T15:00:00.123000Z``, what ``utc_from_ns``
    writes); the date part is cached per second, since a metric history stamps thousands of values within
    a few seconds."""
    if ms is None:
        return None
    seconds, rest = divmod(ms, 1000)
    return _second(seconds) + _MILLIS[rest]


@functools.lru_cache(maxsize=64)
def _second(seconds: int) -> str:
    return utc_from_ns(seconds * 1_000_000_000)[:19]


def _history(key: str, history: list[tuple[int, float, int]], rid: str,
             skipped: list[str] | None) -> list[dict[str, Any]]:
    """One metric's values as ``MetricsLogged`` entries, in step order, each (step, value, time) once:
    MLflow's file store can list a value twice (once for the run, once for a logged model), and mlineage's
    latest value is the last one written. Non-finite values are left out and counted in ``skipped``.

    Every value of every run passes through here, so the times are formatted inline (as ``iso`` writes
    them), the date part looked up per second in a table of the history's own."""
    out = []
    dates: dict[int, str] = {}
    millis = _MILLIS
    isfinite = math.isfinite
    for step, value, ts in sorted(set(history), key=_STEP_TIME):
        if not isfinite(value):
            if skipped is not None:
                skipped.append(f"{rid} {key} step {step}: {value}")
            continue
        seconds, rest = divmod(ts, 1000)
        date = dates.get(seconds)
        if date is None:
            date = dates[seconds] = _second(seconds)
        out.append({"key": key, "value": float(value), "step": int(step), "ts": date + millis[rest]})
    return out


def artifact_digest(record: ArtifactRecord) -> str:
    return record.digest or placeholder_digest(f"mlflow:{record.identity or record.path}")


def dataset_digest(ds: Mapping[str, Any]) -> str:
    """MLflow names a dataset by name, its own digest and its source; the node is derived from the three."""
    return placeholder_digest(f"mlflow-dataset:{ds.get('name')}:{ds.get('digest')}:{ds.get('source')}")


def map_run(run: RunRecord, skipped: list[str] | None = None) -> list[NewEvent]:
    """The events of one MLflow run. Non-finite metric values (which MLflow stores and mlineage refuses)
    are left out and counted in ``skipped``."""
    rid = run.run_id
    context: dict[str, Any] = {"mlflow": {
        "experiment_id": run.experiment_id, "experiment": run.experiment_name, "run_name": run.run_name,
        "lifecycle_stage": run.lifecycle_stage, "artifact_uri": run.artifact_uri,
        "tags": {k: v for k, v in sorted(run.tags.items()) if k not in _SKIPPED_TAGS}}}
    start: dict[str, Any] = {"run_id": rid, "job": run.experiment_name or f"experiment {run.experiment_id}",
                             "kind": "train", "params": dict(run.params), "context": context,
                             "agent": run.user or None}
    if run.start_time is not None:
        start["started_at"] = iso(run.start_time)
    if not start["agent"]:
        del start["agent"]
    out = [NewEvent(ev.RUN_STARTED, start, id=event_id(SOURCE, rid, "start"))]
    for ds in run.datasets:
        digest = dataset_digest(ds)
        meta = {"source": SOURCE, "mlflow_dataset": {k: ds[k] for k in ("digest", "source_type", "source",
                                                                       "schema", "profile") if ds.get(k)}}
        out.append(NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "dataset",
                                                   "name": str(ds["name"]), "metadata": meta},
                            id=event_id(SOURCE, "dataset", digest)))
        out.append(NewEvent(ev.ARTIFACT_USED, {"run_id": rid, "digest": digest,
                                               "role": str(ds.get("context") or "input")},
                            id=event_id(SOURCE, rid, "used", digest)))
    for key in sorted(run.metrics):
        values = _history(key, run.metrics[key], rid, skipped)
        for part, first in enumerate(range(0, len(values), METRICS_PER_EVENT)):
            out.append(NewEvent(ev.METRICS_LOGGED, {"run_id": rid,
                                                    "metrics": values[first:first + METRICS_PER_EVENT]},
                                id=event_id(SOURCE, rid, "metrics", key, part)))
    for art in run.artifacts:
        digest = artifact_digest(art)
        payload: dict[str, Any] = {"digest": digest, "kind": art.kind,
                                   "metadata": {"source": SOURCE, "path": art.path, **art.metadata}}
        if art.digest is None:
            payload["metadata"]["content"] = "not readable when imported"
        if art.size is not None:
            payload["size"] = art.size
        if art.name:
            payload["name"] = art.name
        out.append(NewEvent(ev.ARTIFACT_RECORDED, payload,
                            id=event_id(SOURCE, "artifact", digest, art.name, art.path)))
        out.append(NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": rid, "digest": digest, "role": art.path},
                            id=event_id(SOURCE, rid, "produced", digest, art.path)))
    status = _STATUS.get(run.status)
    if status is not None:
        end: dict[str, Any] = {"run_id": rid, "status": status}
        if run.end_time is not None:
            end["ended_at"] = iso(run.end_time)
        if status == "failed":
            end["error"] = {"type": "MLflowRunFailed", "message": f"MLflow recorded the run as {run.status}"}
        out.append(NewEvent(ev.RUN_ENDED, end, id=event_id(SOURCE, rid, "end")))
    return out


def map_registered_model(name: str, versions: Sequence[ModelVersionRecord],
                         aliases: Mapping[str, str]) -> list[NewEvent]:
    """A registered model's versions (oldest first) as named model artifacts, and its aliases."""
    out: list[NewEvent] = []
    digests: dict[str, str] = {}
    for mv in sorted(versions, key=lambda v: int(v.version)):
        digest = mv.model_digest or placeholder_digest(f"mlflow-registered:{name}:{mv.version}:{mv.source}")
        digests[mv.version] = digest
        meta = {"source": SOURCE, "mlflow_registry": {k: v for k, v in (
            ("version", mv.version), ("source", mv.source), ("run_id", mv.run_id), ("status", mv.status),
            ("description", mv.description)) if v}}
        out.append(NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "model", "name": name,
                                                   "metadata": meta},
                            id=event_id(SOURCE, "registered", name, mv.version, digest)))
    for alias, version in sorted(aliases.items()):
        payload = {"registry": SOURCE, "name": name, "alias": alias, "version": str(version)}
        if str(version) in digests:
            payload["digest"] = digests[str(version)]
        out.append(NewEvent(REGISTRY_ALIAS_IMPORTED, payload,
                            id=event_id(SOURCE, "alias", name, alias, version)))
    return out
