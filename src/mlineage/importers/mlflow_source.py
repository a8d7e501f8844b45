"""Reading an MLflow tracking store (a file store folder or ``sqlite:///...``) through ``MlflowClient``.

MLflow is imported here only, when an import runs (``pip install mlflow-skinny`` or ``mlflow``), and opens
the store first, so that its own schema check decides whether the store is readable. Runs are read page by
page, so a store of any size streams; each run is one unit. From a SQLite store the runs and their metric
histories are then read straight from its tables (``mlflow_sql.py``: the same rows, without MLflow's ORM);
from a file store through ``search_runs`` with a page token and the store's bulk history call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ..errors import ConfigError, ValidationError
from ..hashing import directory_manifest, hash_file, manifest_digest
from . import mlflow_sql
from .ids import fingerprint
from .mlflow import (
    SOURCE,
    ArtifactRecord,
    ListedRun,
    ModelVersionRecord,
    RunRecord,
    map_registered_model,
    map_run,
)
from .mlflow_sql import History
from .sink import ImportReport, Progress, Sink, known_units

if TYPE_CHECKING:
    from ..sdk.client import Client

PAGE = 1000
BULK_RUNS = 200  # runs per bulk metric-history query (an IN list of run ids)


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ConfigError("importing from MLflow needs MLflow: pip install mlflow-skinny (or mlflow)") \
            from None
    return mlflow


def _local_path(uri: str | None) -> Path | None:
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and os.path.isabs(uri):
        return Path(uri)
    return None


def _source_uri(source: str | None) -> str | None:
    """MLflow keeps a dataset's source as JSON (``{"uri": ...}`` for most source types): its URI, or the
    text as it is."""
    import json

    try:
        parsed = json.loads(source or "")
    except ValueError:
        return source
    return str(parsed["uri"]) if isinstance(parsed, dict) and isinstance(parsed.get("uri"), str) else source


def check_store(uri: str) -> str:
    """The tracking URI normalised; an error naming the store when it is missing or its schema version is
    not the one this MLflow reads."""
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        if not path.is_file():
            raise ValidationError(uri, "no such SQLite file")
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            raise ValidationError(uri, "is not an MLflow tracking store (no alembic_version table)") from None
        finally:
            conn.close()
        if not row:
            raise ValidationError(uri, "is not an MLflow tracking store (an empty alembic_version table)")
        return uri
    local = _local_path(uri) or (Path(uri) if "://" not in uri else None)
    if local is None:
        raise ValidationError(uri, "is not a file store folder or sqlite:/// URI",
                              "pass --tracking-uri ./mlruns or sqlite:///mlflow.db")
    if not local.is_dir():
        raise ValidationError(uri, "no such MLflow store folder")
    if not (local / "0" / "meta.yaml").is_file() and not any(local.glob("*/meta.yaml")):
        raise ValidationError(uri, "is not an MLflow file store (no <experiment>/meta.yaml)")
    return local.resolve().as_uri()


def schema_error(uri: str, exc: Exception) -> ValidationError | None:
    """MLflow's refusal of a store whose schema it does not read (older or newer than its own), as an error
    naming the store and the version found; None for other failures. MLflow compares the versions itself
    when it opens the store, so the check costs nothing more."""
    text = str(exc)
    if "schema" not in text.lower() or not uri.startswith("sqlite:///"):
        return None
    import sqlite3

    conn = sqlite3.connect(f"file:{uri.removeprefix('sqlite:///')}?mode=ro", uri=True)
    try:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()
    return ValidationError(
        uri, f"MLflow store schema version {found} is not supported by MLflow {_mlflow().__version__} "
        f"({text.splitlines()[0][:200]})",
        f"upgrade it with `mlflow db upgrade {uri}` (back it up first), or import with the MLflow version "
        "that wrote it")


def _hash_artifacts(root: Path, run_id: str) -> list[ArtifactRecord]:
    """A run's artifacts as records: a folder with an ``MLmodel`` file is one model (its manifest digest);
    other files one artifact each."""
    out: list[ArtifactRecord] = []
    if not root.is_dir():
        return out
    for base, dirs, names in os.walk(root):
        folder = Path(base)
        rel = folder.relative_to(root).as_posix()
        if "MLmodel" in names and folder != root:
            entries = directory_manifest(folder)
            out.append(ArtifactRecord(rel, str(manifest_digest(entries)), sum(e.size for e in entries),
                                      kind="model", identity=f"{run_id}/{rel}"))
            dirs[:] = []
            continue
        for name in sorted(names):
            digest, size = hash_file(folder / name)
            path = name if rel == "." else f"{rel}/{name}"
            out.append(ArtifactRecord(path, str(digest), size, identity=f"{run_id}/{path}"))
        dirs.sort()
    return out


class Reader:
    """Streams an MLflow store's records."""

    def __init__(self, uri: str) -> None:
        mlflow = _mlflow()
        from mlflow.tracking import MlflowClient

        self.uri = check_store(uri)
        if self.uri.startswith("file:"):  # MLflow 3 refuses file stores unless told: reading one is the point
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.mlflow = mlflow
        self.client = self._open(lambda: MlflowClient(tracking_uri=self.uri, registry_uri=self.uri))
        self.experiments = {e.experiment_id: e.name for e in self._open(self._experiments)}
        self._logged_models: dict[str, dict[str, list[Any]]] = {}

    def _open(self, step: Callable[[], Any]) -> Any:
        """Run a step of opening the store, with MLflow's refusals (its own schema check) as our errors."""
        from mlflow.exceptions import MlflowException

        try:
            return step()
        except MlflowException as exc:
            problem = schema_error(self.uri, exc)
            if problem is None:
                raise ValidationError(self.uri, f"MLflow cannot read it ({str(exc).splitlines()[0][:300]})") \
                    from None
            raise problem from None

    def _experiments(self) -> list[Any]:
        from mlflow.entities import ViewType

        return list(self.client.search_experiments(view_type=ViewType.ALL))

    def run_count(self) -> int | None:
        return None  # MLflow has no count query; the progress bar counts up

    @property
    def _sqlite(self) -> str | None:
        return self.uri.removeprefix("sqlite:///") if self.uri.startswith("sqlite:///") else None

    def pages(self) -> Iterator[list[ListedRun]]:
        """Every run, a page at a time (oldest first)."""
        if self._sqlite is not None:
            conn = mlflow_sql.connect(self._sqlite)
            try:
                yield from mlflow_sql.run_pages(conn, PAGE)
            finally:
                conn.close()
            return
        from mlflow.entities import ViewType

        token = None
        ids = list(self.experiments)
        if not ids:
            return
        while True:
            page = self.client.search_runs(ids, run_view_type=ViewType.ALL, max_results=PAGE,
                                           page_token=token,
                                           order_by=["attributes.start_time ASC", "attributes.run_id ASC"])
            yield [listed(run) for run in page]
            token = page.token
            if not token:
                return

    def histories(self, runs: list[ListedRun]) -> History:
        """(run id, key) -> the metric's history, for a page of runs. A SQLite store answers many runs in one
        query on its ``metrics`` table; another store a key for many runs at once (its
        ``get_metric_history_bulk``, which MLflow's own UI uses) where it has that call. MlflowClient's
        ``get_metric_history`` costs a query per run and key, which dominated imports of large stores."""
        if self._sqlite is not None:
            conn = mlflow_sql.connect(self._sqlite)
            try:
                return mlflow_sql.histories(conn, [r.run_id for r in runs if r.latest])
            finally:
                conn.close()
        store = getattr(getattr(self.client, "_tracking_client", None), "store", None)
        bulk = getattr(store, "get_metric_history_bulk", None)
        out: History = {}
        by_key: dict[str, list[str]] = {}
        for run in runs:
            for key in run.latest:
                by_key.setdefault(key, []).append(run.run_id)
        for key, run_ids in sorted(by_key.items()):
            if bulk is None:
                for rid in run_ids:
                    out[(rid, key)] = [(m.step, m.value, m.timestamp)
                                       for m in self.client.get_metric_history(rid, key)]
                continue
            for start in range(0, len(run_ids), BULK_RUNS):
                for m in bulk(run_ids[start:start + BULK_RUNS], key, max_results=2**62):
                    out.setdefault((m.run_id, key), []).append((m.step, m.value, m.timestamp))
        return out

    def record(self, run: ListedRun, histories: History) -> RunRecord:
        metrics = {key: histories.get((run.run_id, key), []) for key in sorted(run.latest)}
        datasets = [{**ds, "source": _source_uri(ds.get("source"))} for ds in run.datasets]
        artifacts = []
        local = _local_path(run.artifact_uri)
        if local is not None:
            artifacts = _hash_artifacts(local, run.run_id)
        for model in self._models_of(run.experiment_id).get(run.run_id, []):
            artifacts.append(self._logged_model(model))
        return RunRecord(
            run_id=run.run_id, experiment_id=run.experiment_id,
            experiment_name=self.experiments.get(run.experiment_id, run.experiment_id),
            run_name=run.run_name, status=run.status, start_time=run.start_time, end_time=run.end_time,
            user=run.user, lifecycle_stage=run.lifecycle_stage, params=dict(run.params),
            tags=dict(run.tags), metrics=metrics, datasets=datasets, artifacts=artifacts,
            artifact_uri=run.artifact_uri)

    def _models_of(self, experiment_id: str) -> dict[str, list[Any]]:
        """MLflow 3's logged models of an experiment, by the run that logged them (read once)."""
        if experiment_id not in self._logged_models:
            found: dict[str, list[Any]] = {}
            search = getattr(self.client, "search_logged_models", None)
            if search is not None:
                token = None
                while True:
                    page = search(experiment_ids=[experiment_id], max_results=100, page_token=token)
                    for model in page:
                        if model.source_run_id:
                            found.setdefault(model.source_run_id, []).append(model)
                    token = page.token
                    if not token:
                        break
            self._logged_models[experiment_id] = found
        return {k: v for k, v in self._logged_models[experiment_id].items()}

    def _logged_model(self, model: Any) -> ArtifactRecord:
        local = _local_path(model.artifact_location)
        digest = size = None
        if local is not None and local.is_dir():
            entries = directory_manifest(local)
            digest, size = str(manifest_digest(entries)), sum(e.size for e in entries)
        meta = {"mlflow_model": {"model_id": model.model_id, "name": model.name,
                                 "params": dict(model.params or {}),
                                 "artifact_location": model.artifact_location}}
        return ArtifactRecord(f"models/{model.model_id}", digest, size, kind="model", name=model.name,
                              metadata=meta, identity=f"model/{model.model_id}")

    def registered_models(self) -> Iterator[tuple[str, list[ModelVersionRecord], dict[str, str]]]:
        """Each registered model's versions and aliases (alias -> version)."""
        digests = {}
        for experiment_id in self.experiments:
            self._models_of(experiment_id)
        for models in self._logged_models.values():
            for runs_models in models.values():
                for model in runs_models:
                    record = self._logged_model(model)
                    if record.digest:
                        digests[f"models:/{model.model_id}"] = record.digest
        for rm in self.client.search_registered_models():
            versions = []
            for mv in self.client.search_model_versions(f"name='{rm.name}'"):
                model_id = getattr(mv, "model_id", None)
                digest = digests.get(f"models:/{model_id}") or digests.get(mv.source or "")
                versions.append(ModelVersionRecord(rm.name, str(mv.version), mv.source, mv.run_id, digest,
                                                   mv.status, mv.description or None))
            aliases = {str(k): str(v) for k, v in (getattr(rm, "aliases", None) or {}).items()}
            yield rm.name, versions, aliases


def listed(run: Any) -> ListedRun:
    """An MLflow ``Run`` entity as a listed run."""
    info, data = run.info, run.data
    datasets = []
    for ds_input in getattr(run.inputs, "dataset_inputs", None) or []:
        ds = ds_input.dataset
        context = next((t.value for t in ds_input.tags if t.key == "mlflow.data.context"), None)
        datasets.append({"name": ds.name, "digest": ds.digest, "source_type": ds.source_type,
                         "source": ds.source, "schema": ds.schema, "context": context})
    return ListedRun(
        run_id=info.run_id, experiment_id=info.experiment_id, run_name=getattr(info, "run_name", None),
        status=info.status, start_time=info.start_time, end_time=info.end_time, user=info.user_id,
        lifecycle_stage=info.lifecycle_stage, artifact_uri=info.artifact_uri, params=dict(data.params),
        tags=dict(data.tags), latest=dict(data.metrics), datasets=datasets)


def run_fingerprint(run: ListedRun) -> str:
    """What MLflow's listing says about a run: enough to notice a run that changed since its import (it
    ended, logged more) without reading its metric histories."""
    return fingerprint({"status": run.status, "end": run.end_time, "params": dict(run.params),
                        "metrics": dict(sorted((k, repr(v)) for k, v in run.latest.items())),
                        "tags": dict(run.tags), "stage": run.lifecycle_stage})


def import_mlflow(client: Client, tracking_uri: str, *, progress: Progress | None = None,
                  total: Callable[[int], None] | None = None, force: bool = False) -> ImportReport:
    """Import every experiment's runs, then the model registry. Each run is one unit, skipped when already
    imported unchanged; a run that changed since (it ended, say) is mapped again and only its new events
    are appended."""
    report = ImportReport(SOURCE)
    reader = Reader(tracking_uri)
    sink = Sink(client, report, progress)
    known = {} if force else known_units(client, SOURCE)
    skipped: list[str] = []
    for page in reader.pages():
        todo = []
        for run in page:
            report.units += 1
            key = f"run:{run.run_id}"
            mark = run_fingerprint(run)
            if known.get(key) == mark:
                sink.skip()
            else:
                todo.append((run, key, mark))
        histories = reader.histories([run for run, _, _ in todo])
        for run, key, mark in todo:
            sink.unit(map_run(reader.record(run, histories), skipped), key, mark, reader.uri)
    sink.flush()  # a registered version may name a run imported above
    for name, versions, aliases in reader.registered_models():
        report.units += 1
        key = f"registered:{name}"
        mark = fingerprint({"versions": [vars(v) for v in versions], "aliases": aliases})
        if known.get(key) == mark:
            sink.skip()
            continue
        sink.unit(map_registered_model(name, versions, aliases), key, mark, reader.uri)
    sink.flush()
    if skipped:
        report.warnings.append(f"{len(skipped)} non-finite metric value(s) left out (first: {skipped[0]})")
    return report
