"""``mlineage scan DIR``: record a folder's files (digests, sizes, modification times) and the lineage its
scripts, notebooks and logs suggest, as inferred edges (``EdgeInferred``) that stay apart from tracked ones.

Each script, notebook or log that mentions files of the folder becomes a run (job = its path, kind
``other``, ``context.scan.inferred``) that used the script itself (tracked: the run *is* the script) and has
an ``INFERRED`` edge from each file it reads and to each file it writes. A write whose file is older than a
file the same script reads is kept at a lower confidence (the output cannot come from that input).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..errors import CycleError, ValidationError
from ..events import NewEvent
from ..hashing import hash_file
from .ids import event_id, fingerprint
from .records import EDGE_DECIDED, EDGE_INFERRED
from .scan import (
    DEFAULT_LOG_PATTERNS,
    Finding,
    compile_patterns,
    log_findings,
    notebook_source,
    python_findings,
)
from .sink import ImportReport, Progress, Sink

if TYPE_CHECKING:
    from ..sdk.client import Client

SOURCE = "scan"
_SKIP_DIRS = {".git", ".mlineage", ".dvc", "__pycache__", ".venv", "venv", "node_modules",
              ".ipynb_checkpoints"}
_LOG_SUFFIXES = (".log", ".out", ".txt")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")[:-6] + "Z"


def walk(root: Path) -> list[Path]:
    out: list[Path] = []
    for base, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        out.extend(Path(base) / n for n in sorted(names))
    return out


def _prefix(root: Path) -> str:
    """Files are named by their path from the current folder when the scanned folder is inside it
    (``legacy/train.py``), else from the scanned folder."""
    try:
        inside = root.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return ""
    return "" if inside == "." else inside + "/"


def findings_of(root: Path, path: Path, patterns: Sequence[tuple[str, re.Pattern[str]]],
                prefix: str = "") -> list[Finding]:
    rel = prefix + path.relative_to(root).as_posix()
    try:
        if path.suffix == ".py":
            return python_findings(rel, path.read_text(encoding="utf-8", errors="replace"))
        if path.suffix == ".ipynb":
            return python_findings(rel, notebook_source(path.read_text(encoding="utf-8", errors="replace")))
        if path.suffix in _LOG_SUFFIXES:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return log_findings(rel, handle, patterns)
    except OSError:
        return []
    return []


def _resolve(root: Path, script: Path, mentioned: str, prefix: str = "") -> str | None:
    """The folder-relative path a mentioned path names (relative to the folder or to the script's own
    folder), when that file is in the folder."""
    for base in (root, script.parent):
        candidate = (base / mentioned).resolve()
        try:
            rel = candidate.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        if candidate.is_file():
            return prefix + rel
    return None


def _kind(rel: str) -> str:
    if rel.endswith((".py", ".ipynb", ".sh")):
        return "code"
    if rel.endswith((".pkl", ".pt", ".pth", ".joblib", ".onnx", ".h5", ".safetensors")):
        return "model"
    if rel.endswith((".csv", ".parquet", ".json", ".jsonl", ".npy", ".npz", ".feather", ".xml", ".tsv")):
        return "dataset"
    return "file"


def scan(client: Client, root: Path, *, patterns: Sequence[tuple[str, str]] = DEFAULT_LOG_PATTERNS,
         progress: Progress | None = None) -> ImportReport:
    """Record ``root``'s files and the lineage its scripts, notebooks and logs suggest."""
    root = root.resolve()
    if not root.is_dir():
        raise ValidationError(str(root), "is not a folder")
    try:
        compiled = compile_patterns(patterns)
    except (re.error, ValueError) as exc:
        raise ValidationError("--pattern", str(exc),
                              "write a regular expression with a (?P<path>...) group") from None
    report = ImportReport(SOURCE)
    files: dict[str, tuple[str, int, float]] = {}
    events: list[NewEvent] = []
    prefix = _prefix(root)
    for path in walk(root):
        rel = prefix + path.relative_to(root).as_posix()
        digest, size = hash_file(path)
        mtime = path.stat().st_mtime
        files[rel] = (str(digest), size, mtime)
        events.append(NewEvent(ev.ARTIFACT_RECORDED, {
            "digest": str(digest), "kind": _kind(rel), "name": rel, "size": size,
            "metadata": {"source": SOURCE, "path": rel, "mtime": _iso(mtime)}},
            id=event_id(SOURCE, "file", rel, str(digest))))
    sink = Sink(client, report, progress)
    sink.unit(events, f"files:{root}", fingerprint(sorted(files.items())), str(root))
    sink.flush()
    report.imported = 0  # what counts is the files that showed lineage
    for path in walk(root):
        rel = prefix + path.relative_to(root).as_posix()
        found = findings_of(root, path, compiled, prefix)
        report.units += 1
        edges = []
        for finding in found:
            target = _resolve(root, path, finding.path, prefix)
            if target is not None and target != rel and target in files:
                edges.append((finding, target))
        if not edges:
            sink.skip()
            continue
        unit = _script_events(rel, files, edges)
        try:
            sink.unit(unit, f"script:{rel}:{files[rel][0]}", fingerprint([e.id for e in unit]), str(root))
            sink.flush()
        except CycleError as exc:
            sink._pending, sink._pending_ids = [], set()
            report.warnings.append(f"{rel}: its inferred edges would close a cycle ({exc}); left out")
    return report


def _script_events(rel: str, files: dict[str, tuple[str, int, float]],
                   edges: list[tuple[Finding, str]]) -> list[NewEvent]:
    digest = files[rel][0]
    run_id = "scan-" + fingerprint({"script": rel, "digest": digest})[:24]
    out = [
        NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": rel, "kind": "other", "agent": "mlineage scan",
                                  "context": {"scan": {"file": rel, "inferred": True}},
                                  "started_at": _iso(files[rel][2])}, id=event_id(SOURCE, run_id, "start")),
        NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": digest, "role": "code"},
                 id=event_id(SOURCE, run_id, "code")),
    ]
    reads = {target for f, target in edges if f.relation == "read"}
    newest_read = max((files[t][2] for t in reads), default=None)
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for finding, target in edges:
        if finding.relation == "write" and target in reads:
            continue  # read and written by one script: a read-modify-write, not lineage between versions
        grouped.setdefault((finding.relation, target), []).append(finding)
    for (relation, target), found in sorted(grouped.items()):
        confidence = max(f.confidence for f in found)
        if relation == "write" and newest_read is not None and files[target][2] < newest_read:
            confidence = round(confidence / 2, 3)
        node = {"kind": "artifact", "key": files[target][0]}
        run = {"kind": "run", "key": run_id}
        parent, child = (node, run) if relation == "read" else (run, node)
        evidence = [{"file": f.file, "line": f.line, "text": f.text} for f in found]
        edge_id = fingerprint({"parent": parent, "child": child, "relation": relation})[:32]
        out.append(NewEvent(EDGE_INFERRED, {
            "edge_id": edge_id, "parent": parent, "child": child, "relation": relation,
            "confidence": confidence, "method": found[0].method, "evidence": evidence},
            id=event_id(SOURCE, "edge", edge_id)))
    out.append(NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed",
                                       "ended_at": _iso(files[rel][2])}, id=event_id(SOURCE, run_id, "end")))
    return out


def decide(client: Client, edge_id: str, decision: str, note: str | None = None) -> dict[str, Any]:
    """Confirm or reject an inferred edge (by id or a unique prefix). A confirmed edge is also recorded as
    a tracked one (``USED``/``PRODUCED``, role ``confirmed``), so lineage queries that follow tracked
    edges only now include it."""
    from .queries import inferred_edges

    matches = [e for e in inferred_edges(client.store) if e["edge_id"].startswith(edge_id)]
    if not matches:
        from ..errors import NotFoundError

        raise NotFoundError(f"no inferred edge {edge_id!r}: `mlineage scan edges` lists them")
    if len(matches) > 1:
        from ..errors import AmbiguousRefError

        raise AmbiguousRefError(edge_id, [m["edge_id"] for m in matches])
    edge = matches[0]
    payload: dict[str, Any] = {"edge_id": edge["edge_id"], "decision": decision}
    if note:
        payload["note"] = note
    batch = [NewEvent(EDGE_DECIDED, payload, id=event_id(SOURCE, "decision", edge["edge_id"], decision))]
    if decision == "confirmed":
        parent_kind, _, parent = edge["parent"].partition(":")
        child_kind, _, child = edge["child"].partition(":")
        if parent_kind == "artifact":
            batch.append(NewEvent(ev.ARTIFACT_USED, {"run_id": child, "digest": parent, "role": "confirmed"},
                                  id=event_id(SOURCE, "confirmed", edge["edge_id"])))
        elif child_kind == "artifact":
            batch.append(NewEvent(ev.ARTIFACT_PRODUCED,
                                  {"run_id": parent, "digest": child, "role": "confirmed"},
                                  id=event_id(SOURCE, "confirmed", edge["edge_id"])))
    client.append(batch)
    return dict(edge, status=decision)
