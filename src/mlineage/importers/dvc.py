"""DVC's records mapped to mlineage events (pure: the texts of one commit's files in, events out).

One snapshot is what a commit (or a tag folder) holds: ``dvc.yaml``, ``dvc.lock``, the params files and the
``*.dvc`` files. Each locked stage becomes a completed run (job = stage name, its cmd, its params as the lock
recorded them) that used its deps and produced its outs; each ``.dvc`` file's outputs become artifacts (an
``import`` run when the file records where the data came from). A stage's run id derives from its lock entry,
so a stage that did not change between commits is the same run, and the commits' graphs join into one.

Artifacts are named by their workspace path, so a path's versions follow the commits. DVC names content by
md5; mlineage by sha256. When the caller can rehash the data (workspace or DVC cache, see ``dvc_source``),
the artifact is its real sha256 and ``add`` of the same bytes later finds the same node; otherwise it is a
placeholder digest derived from the md5. Either way a ``DigestAliased`` event records ``md5:...`` -> digest,
so ``md5:`` refs resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .. import events as ev
from ..errors import ValidationError
from ..events import NewEvent
from .ids import event_id, fingerprint, placeholder_digest
from .records import DIGEST_ALIASED

SOURCE = "dvc"
LOCK_SCHEMAS = ("2.0",)

# path, alias digest ("md5:<hex>" or "md5:<hex>.dir") -> (sha256 digest, size) when the bytes can be read
Rehash = Callable[[str, str], "tuple[str, int] | None"]


@dataclass(frozen=True)
class Snapshot:
    """One commit's DVC files. ``files`` maps repository paths to their text."""

    rev: str  # a commit id, or the folder name of a snapshot
    label: str  # the tag, or the short commit
    files: Mapping[str, str]
    time: str | None = None  # the commit time (ISO 8601), when known
    origin: str = ""  # where it was read (a repository folder or snapshot folder), for messages


@dataclass
class StageRecord:
    name: str
    cmd: str
    params: dict[str, Any]
    deps: list[dict[str, Any]]
    outs: list[dict[str, Any]]
    lock_entry: dict[str, Any] = field(default_factory=dict)


def _load(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", exc)
        raise ValidationError(f"{where}{line}", f"is not valid YAML ({problem})") from None


def parse_lock(text: str, where: str) -> dict[str, StageRecord]:
    """The stages of a ``dvc.lock`` in the 2.0 format; another schema is an error naming the file."""
    doc = _load(text, where) or {}
    if not isinstance(doc, dict):
        raise ValidationError(where, "is not a mapping of stages")
    schema = doc.get("schema")
    if schema is None:
        raise ValidationError(where, "has no 'schema' field (a DVC 1.x lock file)",
                              "run `dvc commit` with DVC 2 or later to rewrite it in the 2.0 format")
    if str(schema) not in LOCK_SCHEMAS:
        raise ValidationError(f"{where} schema", f"'{schema}' is not a supported dvc.lock schema version",
                              f"supported: {', '.join(LOCK_SCHEMAS)}")
    stages = doc.get("stages") or {}
    if not isinstance(stages, dict):
        raise ValidationError(f"{where} stages", "is not a mapping")
    out = {}
    for name, entry in stages.items():
        if not isinstance(entry, dict):
            raise ValidationError(f"{where} stages.{name}", "is not a mapping")
        for part in ("deps", "outs"):
            if not isinstance(entry.get(part) or [], list):
                raise ValidationError(f"{where} stages.{name}.{part}", "is not a list")
        if not isinstance(entry.get("params") or {}, dict):
            raise ValidationError(f"{where} stages.{name}.params", "is not a mapping")
        params: dict[str, Any] = {}
        for file, values in (entry.get("params") or {}).items():
            if not isinstance(values or {}, dict):
                raise ValidationError(f"{where} stages.{name}.params.{file}", "is not a mapping")
            for key, value in (values or {}).items():
                params[key if file == "params.yaml" else f"{file}:{key}"] = value
        cmd = entry.get("cmd")
        out[str(name)] = StageRecord(
            name=str(name), cmd=" && ".join(cmd) if isinstance(cmd, list) else str(cmd or ""), params=params,
            deps=[d for d in entry.get("deps") or [] if isinstance(d, dict)],
            outs=[o for o in entry.get("outs") or [] if isinstance(o, dict)], lock_entry=entry)
    return out


def _alias(entry: Mapping[str, Any]) -> str | None:
    md5 = entry.get("md5")
    return f"md5:{md5}" if isinstance(md5, str) and md5 else None


def _declared_kinds(snapshot: Snapshot) -> dict[str, str]:
    """Paths dvc.yaml's ``artifacts`` section declares as datasets or models."""
    text = snapshot.files.get("dvc.yaml")
    if not text:
        return {}
    doc = _load(text, f"{snapshot.origin}/dvc.yaml") or {}
    kinds = {}
    for spec in (doc.get("artifacts") or {}).values() if isinstance(doc, dict) else ():
        if isinstance(spec, dict) and isinstance(spec.get("path"), str) \
                and spec.get("type") in ("dataset", "model"):
            kinds[spec["path"]] = spec["type"]
    return kinds


def _kind(path: str, alias: str | None, declared: Mapping[str, str]) -> str:
    if path in declared:
        return declared[path]
    if path.endswith((".py", ".ipynb", ".R", ".sh")):
        return "code"
    if path.endswith((".pkl", ".joblib", ".pt", ".pth", ".onnx", ".h5", ".safetensors")):
        return "model"
    if path.endswith((".yaml", ".yml", ".toml", ".cfg")):
        return "config"
    if alias is not None and alias.endswith(".dir"):
        return "directory"
    return "file"


def _run_kind(stage: str) -> str:
    lowered = stage.lower()
    for word, kind in (("train", "train"), ("eval", "evaluate"), ("prepare", "transform"),
                       ("featur", "transform"), ("deploy", "deploy")):
        if word in lowered:
            return kind
    return "transform"


class _Mapper:
    def __init__(self, snapshot: Snapshot, rehash: Rehash | None) -> None:
        self.snapshot = snapshot
        self.rehash = rehash
        self.declared = _declared_kinds(snapshot)
        self.events: list[NewEvent] = []
        self.seen: dict[tuple[str, str], str] = {}

    def artifact(self, entry: Mapping[str, Any], path: str) -> str | None:
        """Record the artifact a dep/out entry names; return its digest (None: DVC recorded no digest)."""
        alias = _alias(entry)
        if alias is None:
            return None
        if (path, alias) in self.seen:
            return self.seen[(path, alias)]
        found = self.rehash(path, alias) if self.rehash else None
        meta: dict[str, Any] = {"source": SOURCE, "path": path, "dvc": {"md5": alias}}
        if isinstance(entry.get("nfiles"), int):
            meta["dvc"]["nfiles"] = entry["nfiles"]
        size: Any
        if found is not None:
            digest, size = found
        else:
            digest, size = placeholder_digest(f"dvc:{alias}"), entry.get("size")
            meta["content"] = "not present when imported"
        payload: dict[str, Any] = {"digest": digest, "kind": _kind(path, alias, self.declared), "name": path,
                                   "metadata": meta}
        if isinstance(size, int):
            payload["size"] = size
        # the id commits to the record: the same content may be a plain file at one commit and a declared
        # dataset at the next, and each commit's record must get its own id (the first one fixes the node)
        self.events.append(NewEvent(ev.ARTIFACT_RECORDED, payload,
                                    id=event_id(SOURCE, "artifact", path, digest, fingerprint(payload))))
        self.events.append(NewEvent(DIGEST_ALIASED, {"alias": alias, "digest": digest},
                                    id=event_id(SOURCE, "alias", alias, digest)))
        self.seen[(path, alias)] = digest
        return digest

    def stage(self, stage: StageRecord) -> None:
        run_id = "dvc-" + fingerprint({"stage": stage.name, "lock": stage.lock_entry})[:24]
        key = ("stage", run_id)
        # nothing commit-specific in the payload: the same stage seen at two commits is one run
        context = {"dvc": {"stage": stage.name, "cmd": stage.cmd}, "argv": stage.cmd.split()}
        start: dict[str, Any] = {"run_id": run_id, "job": stage.name, "kind": _run_kind(stage.name),
                                 "params": stage.params, "context": context, "agent": "dvc"}
        if self.snapshot.time:
            start["started_at"] = self.snapshot.time
        self.events.append(NewEvent(ev.RUN_STARTED, start, id=event_id(SOURCE, *key, "start")))
        for dep in stage.deps:
            path = str(dep.get("path", ""))
            digest = self.artifact(dep, path)
            if digest is not None:
                self.events.append(NewEvent(ev.ARTIFACT_USED,
                                            {"run_id": run_id, "digest": digest, "role": path},
                                            id=event_id(SOURCE, *key, "used", digest, path)))
        for out in stage.outs:
            path = str(out.get("path", ""))
            digest = self.artifact(out, path)
            if digest is not None:
                self.events.append(NewEvent(ev.ARTIFACT_PRODUCED,
                                            {"run_id": run_id, "digest": digest, "role": path},
                                            id=event_id(SOURCE, *key, "produced", digest, path)))
        end: dict[str, Any] = {"run_id": run_id, "status": "completed"}
        if self.snapshot.time:
            end["ended_at"] = self.snapshot.time
        self.events.append(NewEvent(ev.RUN_ENDED, end, id=event_id(SOURCE, *key, "end")))

    def dvc_file(self, path: str, text: str) -> None:
        doc = _load(text, f"{self.snapshot.origin}/{path}") or {}
        if not isinstance(doc, dict):
            raise ValidationError(f"{self.snapshot.origin}/{path}", "is not a mapping")
        folder = path.rpartition("/")[0]
        outputs = []
        for out in doc.get("outs") or []:
            if isinstance(out, dict) and out.get("path"):
                out_path = f"{folder}/{out['path']}" if folder else str(out["path"])
                digest = self.artifact(out, out_path)
                if digest is not None:
                    outputs.append((out_path, digest))
        deps = [d for d in doc.get("deps") or [] if isinstance(d, dict)]
        if not deps or not outputs:
            return
        # `dvc import` / `import-url`: the file records where the data came from: an ingest run
        origin = [{k: d[k] for k in ("path", "repo", "md5", "etag", "checksum") if k in d} for d in deps]
        run_id = "dvc-" + fingerprint({"import": path, "deps": origin, "outs": outputs})[:24]
        start: dict[str, Any] = {"run_id": run_id, "job": f"dvc import {path}", "kind": "ingest",
                                 "context": {"dvc": {"file": path, "deps": origin}}, "agent": "dvc"}
        self.events.append(NewEvent(ev.RUN_STARTED, start, id=event_id(SOURCE, "import", run_id, "start")))
        for out_path, digest in outputs:
            self.events.append(NewEvent(ev.ARTIFACT_PRODUCED,
                                        {"run_id": run_id, "digest": digest, "role": out_path},
                                        id=event_id(SOURCE, "import", run_id, "produced", digest)))
        self.events.append(NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"},
                                    id=event_id(SOURCE, "import", run_id, "end")))


def snapshot_fingerprint(snapshot: Snapshot, present: Mapping[str, Any] | None = None) -> str:
    """What a snapshot held (its DVC files, and which of their digests could be rehashed)."""
    return fingerprint({"files": dict(sorted(snapshot.files.items())), "present": dict(present or {})})


def has_dvc(snapshot: Snapshot) -> bool:
    return "dvc.lock" in snapshot.files or any(p.endswith(".dvc") for p in snapshot.files)


def map_snapshot(snapshot: Snapshot, rehash: Rehash | None = None) -> list[NewEvent]:
    """The events one snapshot maps to. ``.dvc`` files first (their outputs are the pipeline's sources),
    then the locked stages in the order dvc.lock lists them (DVC writes them in pipeline order)."""
    mapper = _Mapper(snapshot, rehash)
    for path in sorted(p for p in snapshot.files if p.endswith(".dvc")):
        mapper.dvc_file(path, snapshot.files[path])
    lock = snapshot.files.get("dvc.lock")
    if lock is not None:
        for stage in _ordered(parse_lock(lock, f"{snapshot.origin}/dvc.lock")):
            mapper.stage(stage)
    return mapper.events


def _ordered(stages: Mapping[str, StageRecord]) -> Iterator[StageRecord]:
    """Stages so that a stage comes after the stages whose outputs it uses (a lock file edited by hand may
    list them in any order)."""
    produced = {str(o.get("path")): name for name, s in stages.items() for o in s.outs}
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> Iterator[StageRecord]:
        if name in done or name in stack:
            return
        for dep in stages[name].deps:
            parent = produced.get(str(dep.get("path")))
            if parent is not None and parent != name:
                yield from visit(parent, stack + (name,))
        done.add(name)
        yield stages[name]

    for name in stages:
        yield from visit(name, ())
