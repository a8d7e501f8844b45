"""OpenLineage wire format: the one module that parses and produces it and maps it to core events.

Nothing outside this module sees OpenLineage field names (``runId``, ``eventType``, ``facets`` ...).

* ``validate_event(doc)`` checks a document against the official JSON schema (``OpenLineage.json``) and every
  facet it carries that has a schema in ``spec/facets/`` (a facet is matched by its key, as the OpenLineage
  proxy does). Schemas ship in the package (``openlineage_spec/``) and load through a ``referencing``
  registry: no network.
* ``to_core_events(doc, state, base_id)`` maps one RunEvent (or DatasetEvent) to mlineage ledger events.
  It needs a little of the current graph (does the run exist, which version of a dataset is the latest),
  which the caller supplies through the ``GraphState`` protocol, so this module stays free of I/O.
* ``run_to_events(run, inputs, outputs)`` produces OpenLineage RunEvents for any recorded run.

Dataset identity. OpenLineage names a dataset by ``namespace`` + ``name``, not by content. Each dataset
*version* becomes one mlineage artifact whose digest is ``sha256`` of the RFC 8785 canonical JSON of
``{"namespace": ns, "name": name, "version": v}`` where ``v`` is, in order of preference: the
``version`` facet's ``datasetVersion``; for an output without one, ``"run:<runId>"`` (the run made a new
version); for an input without one, the latest version mlineage already knows for that dataset (so the
consumer's USED edge joins the producer's PRODUCED edge), or ``null`` when none is known yet. The label
``<namespace>/<name>`` carries mlineage's own version numbers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .. import events as ev
from ..errors import ConfigError, ValidationError
from ..events import NewEvent
from ..ledger import canonical_json
from ..model import Artifact, Run

PRODUCER = "https://github.com/mlineage/mlineage"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
RUN_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
_TERMINAL = {"COMPLETE": "completed", "FAIL": "failed", "ABORT": "aborted"}
_STATUS_TO_TYPE = {"completed": "COMPLETE", "failed": "FAIL", "aborted": "ABORT"}
_JOB_MAX = 200


SPEC_DIR = Path(__file__).resolve().parent / "openlineage_spec"  # package data: see its README.md


def spec_dir() -> Path:
    """Where the official schemas are read from: the copy shipped in the package (pinned, see its README), or
    ``MLINEAGE_OPENLINEAGE_SPEC`` to validate against another spec release."""
    configured = os.environ.get("MLINEAGE_OPENLINEAGE_SPEC")
    folder = Path(configured) if configured else SPEC_DIR
    if not (folder / "OpenLineage.json").is_file():
        raise ConfigError(
            f"no OpenLineage.json in {folder}: point MLINEAGE_OPENLINEAGE_SPEC at a folder holding "
            "OpenLineage.json and facets/, or unset it to use the shipped schemas"
        )
    return folder


class _Validators:
    def __init__(self, folder: Path) -> None:
        from jsonschema import Draft202012Validator, FormatChecker
        from referencing import Registry, Resource

        core = json.loads((folder / "OpenLineage.json").read_text())
        resources = [(core["$id"], Resource.from_contents(core))]
        self.facets: dict[str, Any] = {}
        facet_docs = []
        for path in sorted((folder / "facets").glob("*.json")):
            doc = json.loads(path.read_text())
            resources.append((doc["$id"], Resource.from_contents(doc)))
            facet_docs.append(doc)
        registry: Any = Registry().with_resources(resources)
        formats = FormatChecker(formats=["uuid"])  # not date-time: real producers omit the timezone
        self.core = Draft202012Validator(core, registry=registry, format_checker=formats)
        self.kinds = {
            kind: Draft202012Validator(
                {"$ref": f"{core['$id']}#/$defs/{name}"}, registry=registry, format_checker=formats
            )
            for kind, name in (("run", "RunEvent"), ("dataset", "DatasetEvent"), ("job", "JobEvent"))
        }
        for doc in facet_docs:
            for facet_name, ref in doc.get("properties", {}).items():
                schema = {"$ref": doc["$id"] + ref["$ref"]} if ref.get("$ref", "").startswith("#") else ref
                self.facets[facet_name] = Draft202012Validator(
                    schema, registry=registry, format_checker=formats
                )


@functools.lru_cache(maxsize=2)
def _validators(folder: str) -> _Validators:
    return _Validators(Path(folder))


def _path(parts: Sequence[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(event)"


def _facet_groups(doc: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    run, job = doc.get("run"), doc.get("job")
    if isinstance(run, dict):
        yield "run.facets", run.get("facets")
    if isinstance(job, dict):
        yield "job.facets", job.get("facets")
    if isinstance(doc.get("dataset"), dict):
        yield "dataset.facets", doc["dataset"].get("facets")
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, ds in enumerate(doc.get(side) or []):
            if isinstance(ds, dict):
                yield f"{side}[{i}].facets", ds.get("facets")
                yield f"{side}[{i}].{extra}", ds.get(extra)


def validate_event(doc: Any, *, dropped_facets: list[str] | None = None) -> dict[str, Any]:
    """Raise ValidationError naming the first offending field unless ``doc`` is a valid OpenLineage event.

    With ``dropped_facets``, a facet that breaks its own schema does not refuse the event: it is left out of
    the returned event and named in that list (``field: problem``). Producers write facets in older shapes
    (Marquez's own test events carry a ``dataQualityMetrics`` without the ``columnMetrics`` its schema now
    requires) and Marquez accepts them; the run, the job and the datasets are still the event's lineage."""
    if not isinstance(doc, dict):
        raise ValidationError("body", "an OpenLineage event must be a JSON object")
    validators = _validators(str(spec_dir()))
    if "schemaURL" not in doc:  # Marquez accepts events without it; so do we (it is only a pointer)
        doc = dict(doc, schemaURL=SCHEMA_URL)
    doc = _without_facet_nulls(doc)  # copies every facet group, so a facet can be left out of it below
    error = next(iter(validators.core.iter_errors(doc)), None)
    if error is not None:
        # the spec is anyOf(RunEvent, DatasetEvent, JobEvent): explain against the one the event looks like
        best = next(iter(sorted(validators.kinds[event_kind(doc)].iter_errors(doc),
                                key=lambda e: -len(list(e.absolute_path)))), None) or _best(error)
        best = _best(best)
        raise ValidationError(_path(list(best.absolute_path)), best.message[:300],
                              "see https://openlineage.io/spec for the RunEvent schema")
    for where, facets in _facet_groups(doc):
        if not isinstance(facets, dict):
            continue
        for name, facet in list(facets.items()):
            validator = validators.facets.get(name)
            if validator is None or facet is None:
                continue  # custom facets are allowed by the spec; null means "no facet"
            err = next(iter(validator.iter_errors(facet)), None)
            if err is None:
                continue
            best = _best(err)
            inner = _path(list(best.absolute_path))
            field = f"{where}.{name}" + ("" if inner == "(event)" else f".{inner}")
            if dropped_facets is None:
                raise ValidationError(field, best.message[:300], f"fix the {name!r} facet or leave it out")
            dropped_facets.append(f"{field}: {best.message[:300]}")
            del facets[name]
    return dict(doc)


def _best(error: Any) -> Any:
    from jsonschema.exceptions import best_match

    if error.context:
        return best_match(error.context)
    return error


def _without_facet_nulls(doc: dict[str, Any]) -> dict[str, Any]:
    """Producers write null for facet fields they do not know; validate facets as if those were absent
    (Marquez accepts them too). The stored event keeps the nulls."""
    def clean(facets: Any) -> Any:
        return {k: _drop_nulls(v) for k, v in facets.items()} if isinstance(facets, dict) else facets

    out = dict(doc)
    for key in ("run", "job", "dataset"):
        if isinstance(out.get(key), dict) and "facets" in out[key]:
            out[key] = dict(out[key], facets=clean(out[key]["facets"]))
    for side in ("inputs", "outputs"):
        if isinstance(out.get(side), list):
            out[side] = [
                dict(ds, **{k: clean(ds[k]) for k in ("facets", "inputFacets", "outputFacets") if k in ds})
                if isinstance(ds, dict)
                else ds
                for ds in out[side]
            ]
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def event_kind(doc: Mapping[str, Any]) -> str:
    """'run', 'dataset' or 'job' (which member of the spec's anyOf this event is)."""
    if isinstance(doc.get("run"), dict):
        return "run"
    if isinstance(doc.get("dataset"), dict):
        return "dataset"
    return "job"


def event_id(doc: Mapping[str, Any]) -> str:
    """OpenLineage events carry no id of their own: a retried event is the same bytes, so its canonical
    digest is its identity (used for idempotent ingestion)."""
    return hashlib.sha256(canonical_json(doc)).hexdigest()[:32]


def run_id_of(doc: Mapping[str, Any]) -> str | None:
    run = doc.get("run")
    return str(run.get("runId")) if isinstance(run, dict) and run.get("runId") else None


# ------------------------------------------------------------------ mapping to core events


class GraphState(Protocol):
    """What the mapping needs to know about the current graph."""

    def run_status(self, run_id: str) -> str | None: ...  # None: no such run
    def latest_version(self, label: str, exclude_run: str) -> str | None: ...  # digest or None


class StoreGraphState:
    """``GraphState`` answered from a metadata store: the one implementation the SDK's ``emit`` and the
    server's ingestion worker share."""

    def __init__(self, store: Any) -> None:
        self.store = store  # a MetadataStore; typed loosely to keep this module free of store imports

    def run_status(self, run_id: str) -> str | None:
        run = self.store.get_run(run_id)
        return run.status.value if run else None

    def latest_version(self, label: str, exclude_run: str) -> str | None:
        """The newest version of ``label`` not produced by ``exclude_run`` (a run never reads its own
        output)."""
        latest = self.store.get_version(label)
        if latest is None or latest.version is None:
            return None
        for v in range(latest.version, 0, -1):
            found = latest if v == latest.version else self.store.get_version(label, v)
            if found is not None and found.metadata.get("run") != exclude_run:
                return str(found.digest)
        return None


def dataset_label(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def dataset_digest(namespace: str, name: str, version: str | None) -> str:
    body = canonical_json({"namespace": namespace, "name": name, "version": version})
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _ids(base_id: str) -> Iterator[str]:
    n = 0
    while True:
        yield hashlib.sha256(f"{base_id}:{n}".encode()).hexdigest()[:32]
        n += 1


def _job_name(job: Mapping[str, Any]) -> str:
    name = f"{job.get('namespace', '')}/{job.get('name', '')}"
    return name if len(name) <= _JOB_MAX else name[: _JOB_MAX - 13] + "~" + hashlib.sha256(
        name.encode()).hexdigest()[:12]


def _dataset_event(ds: Mapping[str, Any], digest: str, version: str | None, side: str, run_id: str | None,
                   event_time: str | None, new_id: str) -> NewEvent:
    meta: dict[str, Any] = {"source": "openlineage", "namespace": ds["namespace"], "name": ds["name"],
                            "version": version}
    facets = ds.get("facets") or {}
    if facets:
        meta["facets"] = facets
        schema = facets.get("schema")
        if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
            meta["schema"] = [{"name": f.get("name"), "type": f.get("type")} for f in schema["fields"]
                              if isinstance(f, dict)]
    extra = ds.get("inputFacets" if side == "input" else "outputFacets")
    if extra:
        meta[f"{side}_facets"] = extra
    if run_id is not None and side == "output":
        meta["run"] = run_id
    if event_time:
        meta["event_time"] = event_time
    payload = {"digest": digest, "kind": "dataset", "name": dataset_label(ds["namespace"], ds["name"]),
               "uri": f"openlineage://{ds['namespace']}/{ds['name']}", "metadata": meta}
    return NewEvent(ev.ARTIFACT_RECORDED, payload, id=new_id)


def _version_facet(ds: Mapping[str, Any]) -> str | None:
    facet = (ds.get("facets") or {}).get("version")
    if isinstance(facet, dict) and isinstance(facet.get("datasetVersion"), str):
        return str(facet["datasetVersion"])
    return None


def to_core_events(doc: Mapping[str, Any], state: GraphState, base_id: str) -> list[NewEvent]:
    """Map one validated OpenLineage event to ledger events. Event ids derive from ``base_id`` so that
    mapping the same event twice yields the same ids (and the ledger skips the repeat)."""
    ids = _ids(base_id)
    kind = event_kind(doc)
    if kind == "job":
        return []  # static job metadata: nothing to project yet
    if kind == "dataset":
        ds = doc["dataset"]
        version = _version_facet(ds)
        return [_dataset_event(ds, dataset_digest(ds["namespace"], ds["name"], version), version, "input",
                               None, doc.get("eventTime"), next(ids))]
    run, job = doc["run"], doc["job"]
    run_id = str(run["runId"])
    etype = doc.get("eventType") or "OTHER"
    when = doc.get("eventTime")
    out: list[NewEvent] = []
    status = state.run_status(run_id)
    if status is None:
        context: dict[str, Any] = {"openlineage": {"job_namespace": job["namespace"], "job_name": job["name"],
                                                   "producer": doc.get("producer")}}
        if run.get("facets"):
            context["openlineage"]["run_facets"] = run["facets"]
        if job.get("facets"):
            context["openlineage"]["job_facets"] = job["facets"]
        out.append(NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": _job_name(job), "kind": "other",
                                             "context": context, "agent": doc.get("producer"),
                                             "started_at": when}, id=next(ids)))
        status = "running"
    seen_inputs: set[str] = set()
    for ds in doc.get("inputs") or []:
        version = _version_facet(ds)
        label = dataset_label(ds["namespace"], ds["name"])
        if version is not None:
            digest = dataset_digest(ds["namespace"], ds["name"], version)
        else:
            digest = state.latest_version(label, run_id) or dataset_digest(ds["namespace"], ds["name"], None)
        seen_inputs.add(digest)
        out.append(_dataset_event(ds, digest, version, "input", run_id, when, next(ids)))
        out.append(NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": digest, "role": "input"},
                            id=next(ids)))
    for ds in doc.get("outputs") or []:
        version = _version_facet(ds)
        digest = dataset_digest(
            ds["namespace"], ds["name"], version if version is not None else f"run:{run_id}"
        )
        out.append(_dataset_event(ds, digest, version, "output", run_id, when, next(ids)))
        if digest not in seen_inputs:  # reading and writing one version is not a lineage step
            out.append(NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": digest, "role": "output"},
                                id=next(ids)))
    final = _TERMINAL.get(etype)
    if final is not None and status == "running":
        payload: dict[str, Any] = {"run_id": run_id, "status": final, "ended_at": when}
        if final == "failed":
            err = (run.get("facets") or {}).get("errorMessage") or {}
            payload["error"] = {"type": str(err.get("programmingLanguage") or "OpenLineageFailure"),
                                "message": str(err.get("message") or "the run reported FAIL")}
        out.append(NewEvent(ev.RUN_ENDED, payload, id=next(ids)))
    return out


# ------------------------------------------------------------------ export


def _dataset_out(artifact: Artifact) -> dict[str, Any]:
    meta = artifact.metadata or {}
    if meta.get("source") == "openlineage":
        ds: dict[str, Any] = {"namespace": meta["namespace"], "name": meta["name"]}
        facets = dict(meta.get("facets") or {})
    else:
        ds = {"namespace": "mlineage", "name": artifact.name or str(artifact.digest)}
        facets = {}
    facets["version"] = {"_producer": PRODUCER,
                         "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json",
                         "datasetVersion": str(artifact.digest)}
    ds["facets"] = facets
    return ds


def run_to_events(run: Run, inputs: Sequence[Artifact], outputs: Sequence[Artifact]) -> list[dict[str, Any]]:
    """A recorded run as OpenLineage RunEvents: START, then the terminal event if the run has ended."""
    ol = run.context.get("openlineage") if isinstance(run.context.get("openlineage"), dict) else None
    job = ({"namespace": ol["job_namespace"], "name": ol["job_name"]} if ol
           else {"namespace": "mlineage", "name": run.job})
    base = {"producer": PRODUCER, "schemaURL": SCHEMA_URL, "run": {"runId": _uuid(run.id)}, "job": job}
    start = dict(base, eventType="START", eventTime=run.started_at or "1970-01-01T00:00:00Z",
                 inputs=[_dataset_out(a) for a in inputs], outputs=[])
    events = [start]
    if run.status.value in _STATUS_TO_TYPE:
        end = dict(base, eventType=_STATUS_TO_TYPE[run.status.value],
                   eventTime=run.ended_at or run.started_at or "1970-01-01T00:00:00Z",
                   inputs=[_dataset_out(a) for a in inputs], outputs=[_dataset_out(a) for a in outputs])
        if run.error:
            end["run"] = {"runId": _uuid(run.id), "facets": {"errorMessage": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
                "message": run.error.get("message", ""), "programmingLanguage": run.error.get("type", "")}}}
        events.append(end)
    return events


def _uuid(run_id: str) -> str:
    """OpenLineage requires a UUID run id; mlineage run ids that are not one map to a stable UUIDv5."""
    import uuid

    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlineage:run:{run_id}"))
