"""Lineage built from real files through a Client: datasets, runs that use and produce them, evaluation
runs."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.model import Artifact
from mlineage.sdk.client import Client

CARD = "4111 1111 1111 1111"  # a Luhn-valid test card number
PHONE = "+1 415-555-2671"
_IDS = itertools.count()


def write_csv(folder: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    path = folder / name
    keys = list(rows[0])
    lines = [",".join(keys)] + [",".join(str(r[k]) for k in keys) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def record(client: Client, folder: Path, name: str, text: str, kind: str = "dataset") -> Artifact:
    path = folder / name
    path.write_text(text)
    return client.record_artifact(path, kind=kind, name=name)


def run(
    client: Client,
    inputs: list[Artifact],
    outputs: list[Artifact],
    *,
    kind: str = "transform",
    job: str = "step",
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    context: dict[str, Any] | None = None,
) -> str:
    run_id = f"gaterun{next(_IDS):05d}x{id(client) % 10_000:04d}"
    events = [
        NewEvent(
            ev.RUN_STARTED,
            {"run_id": run_id, "job": job, "kind": kind, "params": params or {}, "context": context or {}},
        )
    ]
    events += [NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": str(a.digest)}) for a in inputs]
    events += [NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": str(a.digest)}) for a in outputs]
    if metrics:
        events.append(
            NewEvent(
                ev.METRICS_LOGGED,
                {
                    "run_id": run_id,
                    "metrics": [{"key": k, "value": float(v), "step": 0} for k, v in metrics.items()],
                },
            )
        )
    events.append(NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}))
    client.append(events)
    return run_id


def chain(client: Client, folder: Path, hops: int, tag: str) -> tuple[Artifact, list[Artifact]]:
    """source -> run -> a1 -> run -> a2 ... -> model: ``hops`` runs between the source and the model."""
    source = record(client, folder, f"{tag}-source.csv", "a,b\n1,2\n")
    current = source
    made = [source]
    for i in range(hops):
        kind = "model" if i == hops - 1 else "dataset"
        name = f"{tag}-model.bin" if kind == "model" else f"{tag}-step{i}.csv"
        out = record(client, folder, name, f"{tag} {i}\n", kind=kind)
        run(client, [current], [out], kind="train" if kind == "model" else "transform", job=f"{tag}-job{i}")
        made.append(out)
        current = out
    return current, made
