"""The one place the logic lives: the SDK, the CLI and the server all call a Client.

A Client owns a metadata store and a blob store, chosen by settings; it records artifacts and runs as ledger
events and answers lineage queries through its ``QueryService`` — the graph engine over a local store, or the
server's own Client for a remote one (``graph/service.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events as ev
from .. import pipeline
from ..blobs.protocol import BlobStore
from ..config import Settings, load_settings
from ..errors import ConfigError, NotFoundError, ValidationError
from ..events import NewEvent, StoredEvent
from ..graph.query import LineageQuery, LineageResult
from ..graph.service import LocalQueryService, QueryService
from ..hashing import ManifestEntry, directory_manifest, manifest_bytes, manifest_digest
from ..ledger import VerifyReport
from ..model import Artifact, ArtifactKind, LineageRecord, Run, enum_value
from ..pathtext import path_text
from ..refs import resolve
from ..stores.protocol import MetadataStore

if TYPE_CHECKING:  # numpy and scipy load only when a lineage query runs
    from datetime import datetime

    from ..checkpoints import ProjectAnchor
    from ..datasets.drift import DriftReport
    from ..datasets.model import DatasetDiff
    from ..datasets.profile import Profile
    from ..datasets.versioning import Proposal
    from ..gates.facts import GateFacts
    from ..gates.model import CheckReport
    from ..gates.propagation import LicenceReport
    from ..graph.closure import Closure
    from ..graph.diff import LineageDiff
    from ..graph.engine import GraphEngine
    from ..graph.explore import ViewOptions
    from ..graph.paths import PathResult
    from ..importers.sink import ImportReport
    from ..provenance.records import Lineage
    from ..reproduce.predicate import Reproducibility
    from ..reproduce.rerun import ReproduceOptions, ReproduceResult


def _project_anchor(settings: Settings) -> ProjectAnchor | None:
    """The checkpoint anchor of a project's SQL store (a server keeps its own signed log instead)."""
    if settings.project_root is None or settings.store_uri.startswith(("http://", "https://")):
        return None
    from ..checkpoints import ProjectAnchor

    return ProjectAnchor(settings.project_root, settings.store_uri)


class Client:
    def __init__(self, settings: Settings | None = None, *, store: MetadataStore | None = None,
                 blobs: BlobStore | None = None) -> None:
        self.settings = settings or load_settings(auto_init=True)
        self.anchor: ProjectAnchor | None = None
        self._head: tuple[int, str] | None = None  # the head after this client's last append
        if store is None:
            from ..stores.registry import open_store

            self.anchor = _project_anchor(self.settings)
            if self.anchor is not None:
                self.anchor.guard_before_open()
            store = open_store(self.settings.store_uri)
            if self.anchor is not None and self.anchor.latest() is not None and hasattr(store, "engine") \
                    and not self.settings.store_uri.startswith("sqlite"):
                self.anchor.guard_after_open(store.head()[0])
        self.store: MetadataStore = store
        self._by_digest: dict[str, Artifact] = {}
        # a ref naming a local file is hashed and looked up; a server turns this off (its callers' paths are
        # theirs, not files on the server's disk)
        self.resolve_paths = True
        if blobs is None:
            from ..blobs.registry import open_blob_store

            blobs = open_blob_store(self.settings.artifacts_uri)  # a folder, file://... or s3://bucket/prefix
        self.blobs: BlobStore = blobs
        # lineage queries: the graph engine over this store, or the server's service for a remote store
        # (R(m)'s data term counts bytes pushed to the project's remote as retrievable: reproduce/remote.py)
        from ..reproduce.remote import Retrievable

        self.queries: QueryService = self.store.query_service() or LocalQueryService(
            self.store, self.resolve, Retrievable(self))

    @classmethod
    def for_uri(cls, store_uri: str, artifacts: str | os.PathLike[str]) -> Client:
        return cls(Settings(None, store_uri, str(artifacts)))

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            self.blobs.close()

    # ------------------------------------------------------------ writing

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append through the one pipeline (validate, redact, stamp; the store seals and projects)."""
        stored = pipeline.append(self.store, events)
        if stored:
            self._head = (stored[-1].seq, stored[-1].hash)
            self.notify_webhooks(stored)
        return stored

    webhooks: Any = False  # not looked up yet; then a ``webhooks.Notifier`` or None (the server sets its own)

    def notify_webhooks(self, stored: Sequence[StoredEvent]) -> None:
        """Deliver the hooked events among ``stored`` (``mlineage.webhooks``): this process appended them to
        its own store, so it delivers them; a remote store's server delivers its own."""
        from ..webhooks import TOPICS

        if not any(e.type in TOPICS for e in stored):
            return
        if self.webhooks is False:
            from ..webhooks import project_notifier

            remote = hasattr(self.store, "request")
            self.webhooks = None if remote else project_notifier(self.settings.project_root)
        if self.webhooks is not None:
            self.webhooks.notify(stored)

    def write_checkpoint(self, head: tuple[int, str] | None = None) -> bool:
        """Write the ledger head this client last appended (or ``head``) to the project's checkpoint file
        (see ``mlineage.checkpoints``); called at the end of a run and of ``add``, not per event. True when
        the file changed; False without a project, a local SQL store or anything appended."""
        head = head or self._head
        if self.anchor is None or head is None:
            return False
        return self.anchor.record(*head)

    def artifact_event(self, path: str | os.PathLike[str], *, kind: str | ArtifactKind = ArtifactKind.FILE,
                       name: str | None = None, store_blob: bool = True,
                       metadata: dict[str, Any] | None = None) -> NewEvent:
        """Hash (and store) a file or directory and return the event that records it, not yet appended."""
        source = Path(path)
        if not source.exists():
            raise ValidationError("path", f"{path_text(source)} does not exist",
                                  "check the path, or pass a digest/name ref")
        kind_value = enum_value(ArtifactKind, str(getattr(kind, "value", kind)), "kind").value
        meta = dict(metadata or {})
        meta.setdefault("path", path_text(source))
        if source.is_dir():
            entries = directory_manifest(source)
            digest = manifest_digest(entries)
            size = sum(e.size for e in entries)
            meta["files"] = len(entries)
            if store_blob:
                self._store_directory(source, entries)
            media_type = "application/vnd.mlineage.manifest+json"
        elif store_blob:
            digest, size = self.blobs.put_file(source)
            media_type = None
        else:
            from ..hashing import hash_file

            digest, size = hash_file(source)
            media_type = None
        payload: dict[str, Any] = {"digest": str(digest), "kind": kind_value, "size": size, "metadata": meta}
        if name is not None:
            payload["name"] = name
        if media_type:
            payload["media_type"] = media_type
        return NewEvent(ev.ARTIFACT_RECORDED, payload)

    def _store_directory(self, root: Path, entries: list[ManifestEntry]) -> None:
        for entry in entries:
            if not self.blobs.has(entry.digest):
                self.blobs.put_file(root / entry.path)
        self.blobs.put_bytes(manifest_bytes(entries))  # the bytes whose digest names the directory

    def record_artifact(self, path: str | os.PathLike[str], **kwargs: Any) -> Artifact:
        event = self.artifact_event(path, **kwargs)
        self.append([event])
        return self.artifact(event.payload["digest"], event.payload.get("name"))

    def artifact(self, digest: str, name: str | None = None) -> Artifact:
        found = self.store.get_artifact(digest)
        if found is None:
            raise NotFoundError(f"artifact {digest} is not recorded")
        if name is not None and found.name != name:
            labelled = self.store.get_version(name)
            if labelled is not None and labelled.digest == found.digest:
                return labelled
        return found

    # ------------------------------------------------------------ reading

    def resolve(self, ref: str) -> Artifact | Run:
        """A digest, run id, name@version -- or the path of a file, which is hashed and looked up.

        Artifacts found by full digest are remembered: the ledger is append-only, so a recorded digest stays
        recorded, and a training loop that names the same inputs on every run pays for the lookup once."""
        known = self._by_digest.get(ref)
        if known is not None:
            return known
        path = Path(ref)
        if (
            self.resolve_paths
            and "@" not in ref
            and not ref.startswith(("sha256:", "run:"))
            and path.is_file()
        ):
            from ..hashing import hash_file

            digest, _ = hash_file(path)
            found = self.store.get_artifact(str(digest))
            if found is None:
                raise NotFoundError(f"{ref} ({digest.short}) is a file whose content was never recorded")
            return found
        node = resolve(self.store, ref)
        if isinstance(node, Artifact) and ref == str(node.digest) and len(self._by_digest) < 10_000:
            self._by_digest[ref] = node
        return node

    # ------------------------------------------------------------ lineage (``self.queries`` does the work)

    def _local_queries(self) -> LocalQueryService:
        if not isinstance(self.queries, LocalQueryService):
            raise ConfigError(f"{self.store.uri} runs lineage queries on the server: "
                              "use lineage, trace, impact, path, closure or lineage_diff")
        return self.queries

    @property
    def graph(self) -> GraphEngine:
        """The lineage engine of this client's store (a local store only: a server runs its own)."""
        return self._local_queries().engine

    def as_of_seq(self, as_of: str | int | None) -> int | None:
        """``--as-of``: a ledger seq (int) as is, or a timestamp mapped to the last seq with ts <= T."""
        return self._local_queries().as_of_seq(as_of)

    def query(self, ref: str | Artifact | Run, direction: str = "up", *, depth: int | None = None,
              limit: int | None = None, kinds: Sequence[str] | None = None,
              as_of: str | int | None = None) -> LineageQuery:
        """Build the one options object every lineage call takes (refs resolved, as-of mapped to a seq)."""
        return self._local_queries().query(ref, direction, depth=depth, limit=limit, kinds=kinds, as_of=as_of)

    def lineage(self, ref: str | Artifact | Run | LineageQuery, direction: str = "up", *,
                depth: int | None = None, limit: int | None = None, kinds: Sequence[str] | None = None,
                as_of: str | int | None = None) -> LineageResult:
        return self.queries.lineage(ref, direction, depth=depth, limit=limit, kinds=kinds, as_of=as_of)

    def trace(self, ref: str | Artifact | Run, **options: Any) -> LineageResult:
        """All ancestors of ``ref`` (options: depth, limit, kinds, as_of)."""
        return self.lineage(ref, "up", **options)

    def impact(self, ref: str | Artifact | Run, **options: Any) -> LineageResult:
        """All descendants of ``ref`` (options: depth, limit, kinds, as_of)."""
        return self.lineage(ref, "down", **options)

    def path(
        self,
        source: str | Artifact | Run,
        target: str | Artifact | Run,
        *,
        as_of: str | int | None = None,
        max_paths: int = 20,
    ) -> PathResult:
        """The chain(s) of runs and artifacts between two nodes (either way round)."""
        return self.queries.path(source, target, as_of=as_of, max_paths=max_paths)

    def closure(self, ref: str | Artifact | Run, *, as_of: str | int | None = None) -> Closure:
        """Every data, code and environment anchor needed to reproduce ``ref``."""
        return self.queries.closure(ref, as_of=as_of)

    def reproducible(self, ref: str | Artifact | Run, *, recursive: bool = False,
                     as_of: str | int | None = None) -> Reproducibility:
        """R(m) term by term (``mlineage.reproduce.predicate``): for the runs that produced ``ref``, or with
        ``recursive`` for its whole ancestry. Judged where the closure is (a team server answers for its
        own artifact store), so every caller gets the same verdict."""
        closure = self.closure(ref, as_of=as_of)
        report = closure.report if recursive else closure.direct_report
        if report is None:
            raise ConfigError(f"{self.store.uri} answered a closure without the reproducibility verdict: "
                              "upgrade the server")
        return report

    def reproduce(self, ref: str | Artifact | Run, options: ReproduceOptions | None = None,
                  progress: Any = None) -> ReproduceResult:
        """Re-run what produced ``ref`` and judge the outputs (``mlineage.reproduce.service``)."""
        from ..reproduce.rerun import ReproduceOptions
        from ..reproduce.service import reproduce

        return reproduce(self, ref, options or ReproduceOptions(), progress)

    def lineage_diff(self, a: str | Artifact | Run, b: str | Artifact | Run, *,
                     as_of: str | int | None = None) -> LineageDiff:
        """What differs between two models' ancestries."""
        return self.queries.lineage_diff(a, b, as_of=as_of)

    def explore(self, ref: str, options: ViewOptions | None = None) -> dict[str, Any]:
        """The explorer's view of ``ref``: a bounded, grouped, laid-out neighbourhood (``graph/explore.py``;
        a local store or a server's namespace view)."""
        from ..graph.explore import ViewOptions, explore

        return explore(self._local_queries(), ref, options or ViewOptions())

    def hop_counts(self, ref: str, *, as_of: str | int | None = None) -> dict[str, Any]:
        """How many nodes lie at each hop upstream and downstream of ``ref``."""
        from ..graph.explore import hop_counts

        return hop_counts(self._local_queries(), ref, as_of)

    def diff_graph(self, a: str, b: str, *, as_of: str | int | None = None,
                   max_nodes: int = 5000) -> dict[str, Any]:
        """``lineage_diff`` as one graph: A's and B's ancestries with what was added, removed or changed."""
        from ..graph.explore import diff_graph

        return diff_graph(self._local_queries(), a, b, as_of, max_nodes)

    def search(self, text: str, limit: int = 10) -> list[dict[str, Any]]:
        """Type-ahead over artifact names, digests and run ids."""
        from ..graph.explore import search

        return search(self.store, text, limit)

    def lineage_record(self, ref: str | Artifact) -> LineageRecord:
        """The seed's lineage tuple for a model: parents, the producing run's logic, environment, metrics."""
        model = self.resolve(ref) if isinstance(ref, str) else ref
        if not isinstance(model, Artifact):
            raise ValidationError("ref", f"{ref!r} is a run; lineage_record takes an artifact (a model)")
        producers = self.store.producers_of(str(model.digest))
        run = producers[-1] if producers else None
        parents: list[Artifact] = []
        if run is not None:
            inputs, _ = self.store.io_of_run(run.id)
            # the code and environment manifests are the run's logic and context, not parent artifacts
            parents.extend(a for a, role in inputs if role not in ("code", "environment"))
        up = self.trace(model, depth=1)
        parents.extend(n for i, n in up.nodes.items() if isinstance(n, Artifact) and i != up.root)
        unique = list({str(a.digest): a for a in parents}.values())
        logic: dict[str, Any] = {}
        environment: dict[str, Any] = {}
        if run is not None:
            logic = {"run_id": run.id, "job": run.job, "kind": run.kind.value, "params": run.params,
                     "code": run.context.get("git"), "code_manifest": run.context.get("code"),
                     "argv": run.context.get("argv")}
            environment = {k: v for k, v in run.context.items() if k not in ("git", "argv", "code")}
        return LineageRecord(
            model_id=str(model.digest), parent_artifacts=unique, transformation_logic=logic,
            environment_context=environment, output_metrics=dict(run.metrics) if run else {},
            timestamp=run.ended_at if run else model.created_at,
        )

    # ------------------------------------------------------------ datasets (``mlineage.datasets``)

    def dataset_diff(self, a: str, b: str, *, key: Sequence[str] | None = None, samples: int = 5
                     ) -> DatasetDiff:
        """Schema and row diff of two dataset versions, files or folders, with the semantic-version level."""
        from ..datasets import service

        return service.diff(self, a, b, key=key, samples=samples)

    def profile(self, ref: str, *, record: bool = True) -> Profile:
        """A dataset version's profile: the stored one, else computed (and stored for a recorded version)."""
        from ..datasets import service

        return service.profile(self, ref, record=record)[1]

    def drift(self, a: str, b: str, *, columns: Sequence[str] | None = None,
              thresholds: dict[str, float] | None = None) -> DriftReport:
        """Per-column drift between two versions, from their profiles."""
        from ..datasets import service

        return service.drift(self, a, b, columns=columns, thresholds=thresholds)[2]

    def dataset_versions(self, name: str, *, as_of: int | None = None) -> list[dict[str, Any]]:
        """Every version of a name with its semantic version, rows, who/when, the runs that used it."""
        from ..datasets import service

        return service.dataset_versions(self, name, as_of)

    def give_semver(self, name: str, digest: str, version: int | None, *, override: str | None = None,
                    key: Sequence[str] | None = None) -> Proposal:
        """Propose (from the diff with the version before) and record a new version's semantic version."""
        from ..datasets import service

        proposal: Proposal = service.give_semver(self, name, digest, version, override=override,
                                                         key=key)
        return proposal

    # ------------------------------------------------------------ provenance (``mlineage.provenance``)

    def provenance(self, ref: str | Artifact, *, as_of: str | int | None = None) -> Lineage:
        """The records of ``ref``'s ancestry that every provenance document is mapped from."""
        from ..provenance.service import lineage

        return lineage(self, ref, as_of)

    def export_provenance(self, ref: str, fmt: str, *, as_of: str | int | None = None) -> str:
        """``ref``'s ancestry as prov-json, prov-n, prov-jsonld, prov-o (Turtle), cyclonedx (ML-BOM) or
        openlineage text."""
        from ..provenance.service import export

        return export(self, ref, fmt, as_of)

    def attest(self, model: str, private_key: Any) -> dict[str, Any]:
        """A signed DSSE envelope over an in-toto Statement (SLSA provenance v1) for a model file or ref."""
        from ..provenance.service import attest

        return attest(self, model, private_key)
    # ------------------------------------------------------------ model registry (``mlineage.registry``)

    def register_model(self, source: str | Artifact, name: str, *, semver: str | None = None
                       ) -> dict[str, Any]:
        """``source`` (a path or REF) becomes the next immutable registry version ``name@N``."""
        from ..registry import service

        return service.register(self, source, name, semver)

    def model_versions(self, name: str) -> list[dict[str, Any]]:
        """The registry versions of ``name``, oldest first."""
        from ..registry import service

        return service.versions(self, name)

    def set_alias(self, name: str, alias: str, target: str, *, reason: str = "") -> dict[str, Any]:
        """Move ``name@alias`` to ``target`` (``@N``, a semver or a REF of one of its versions)."""
        from ..registry import service

        return service.set_alias(self, name, alias, target, reason=reason)

    def remove_alias(self, name: str, alias: str, *, reason: str = "") -> dict[str, Any]:
        from ..registry import service

        return service.remove_alias(self, name, alias, reason=reason)

    def alias_history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        """Every move of ``name``'s aliases (or of one): from, to, who, when, why, gates, override."""
        from ..registry import service

        return service.history(self, name, alias)

    def resolve_alias(self, name: str, alias: str, *, as_of: str | int | None = None) -> dict[str, Any]:
        """The registry version ``name@alias`` names now, or at ``as_of`` (a ledger seq or a time)."""
        from ..registry import service

        return service.resolve_alias(self, name, alias, as_of)

    def promote(self, ref: str, alias: str, *, force: bool = False, reason: str = "",
                policy: Any = None) -> dict[str, Any]:
        """Run the policy's gates on ``name@N`` and move ``alias`` there; refused naming the failing gate
        unless ``force`` (with a reason: recorded as an override)."""
        from ..registry import service

        return service.promote(self, ref, alias, force=force, reason=reason, policy=policy)

    def rollback_alias(self, name: str, alias: str, excluding: str, *, reason: str = "") -> dict[str, Any]:
        """Move ``name@alias`` to the newest version whose ancestry does not contain ``excluding``."""
        from ..registry import service

        return service.rollback(self, name, alias, excluding, reason=reason)

    def open_incident(self, bad: str, *, reason: str) -> dict[str, Any]:
        """Mark an artifact as bad (``incident open --bad REF``)."""
        from ..registry import service

        return service.open_incident(self, bad, reason)

    def incident_impact(self, incident_id: str) -> dict[str, Any]:
        """Every model version, alias and endpoint the incident's bad artifact reached, with paths."""
        from ..registry import service

        return service.impact(self, incident_id)

    def close_incident(self, incident_id: str, resolution: str) -> dict[str, Any]:
        from ..registry import service

        return service.close_incident(self, incident_id, resolution)

    def set_approval(self, ref: str, state: str, *, reason: str = "") -> dict[str, Any]:
        """Record ``name@N``'s approval state (pending, approved, rejected) with who and why."""
        from ..registry import service

        return service.set_approval(self, ref, state, reason=reason)

    def approvals(self, name: str, version: int | None = None) -> list[dict[str, Any]]:
        """Every approval change of ``name``'s versions (or of one), oldest first."""
        from ..registry import service

        return service.approvals(self, name, version)

    def erase(self, ref: str, *, reason: str, authorised_by: str | None = None, ticket: str | None = None,
              events: Sequence[int] = ()) -> dict[str, Any]:
        """Erase ``ref``'s data (its blobs, and the payloads holding its content, each authorised by a
        ``PayloadErased`` event); returns the erasure with its propagation report (``registry.erasures``)."""
        from ..registry import erasures

        return erasures.erase(self, ref, reason=reason, authorised_by=authorised_by, ticket=ticket,
                              events=list(events))

    def erasure(self, erasure_id: str) -> dict[str, Any]:
        """An erasure: what it removed, its affected models and their decisions, its resolution."""
        from ..registry import erasures

        return erasures.erasure(self, erasure_id)

    def decide_erasure(self, erasure_id: str, model: str, decision: str, *, reason: str = ""
                       ) -> dict[str, Any]:
        """Record ``retrain``, ``unlearn`` or ``accept`` (with a reason) for a model an erasure affects."""
        from ..registry import erasures

        return erasures.decide(self, erasure_id, model, decision, reason)

    def close_erasure(self, erasure_id: str, resolution: str) -> dict[str, Any]:
        """Close an erasure (every affected model needs a decision first)."""
        from ..registry import erasures

        return erasures.close(self, erasure_id, resolution)

    def retention_plan(self, keep_last: int | None = None, older_than: datetime | str | None = None
                       ) -> dict[str, Any]:
        """What a retention rule (``gc --keep-last`` / ``--older-than``) would let go, and what it must keep
        because a registered model version descends from it, and why (``data.retention``)."""
        from ..data import retention

        return retention.plan_for(self, keep_last, older_than)

    def deploy(self, ref: str, endpoint: str, env: str, *, reason: str = "") -> dict[str, Any]:
        """Record that ``name@alias`` (or ``name@N``) now serves ``endpoint`` in ``env`` (by digest)."""
        from ..registry import service

        return service.deploy(self, ref, endpoint, env, reason=reason)

    def endpoint_history(self, endpoint: str) -> list[dict[str, Any]]:
        """Which registry version served ``endpoint`` when, oldest first."""
        from ..registry import service

        return service.endpoint_history(self, endpoint)

    # ------------------------------------------------------------ quality gates (``mlineage.gates``)

    def check(self, refs: str | Artifact | Sequence[str | Artifact] = (), *, policy: Any = None,
              record: bool = True, clock: Any = None) -> CheckReport:
        """Run the policy's gates (``mlineage.policy.yaml`` unless ``policy`` is given) on ``refs`` (default:
        every artifact the policy selects) and record each verdict; ``clock`` fixes "now" for freshness."""
        from ..gates import api

        targets = [refs] if isinstance(refs, str | Artifact) else list(refs)
        return api.run_check(self, targets, policy, record, clock)

    def licence_report(self, ref: str | Artifact, *, as_of: str | int | None = None) -> LicenceReport:
        """The licence conditions ``ref`` inherits from its ancestry, each with the ancestor and path."""
        from ..gates import api

        return api.licence_report(self, ref, as_of)

    def record_licence(self, ref: str | Artifact, licence: str) -> None:
        """Record the licence an artifact carries (an SPDX expression, or a licence id as cc-by-nc-4.0)."""
        from ..gates import api

        digest = str(api.artifact_of(self, ref).digest)
        api.record(self, "LicenceRecorded", {"digest": digest, "licence": licence})

    def record_source(self, ref: str | Artifact, source: str) -> None:
        """Record where an artifact no run produced came from (a URL, a vendor, a request number)."""
        from ..gates import api

        api.record(self, "SourceRecorded", {"digest": str(api.artifact_of(self, ref).digest),
                                            "source": source})

    def set_owner(self, target: str, owner: str) -> str:
        """Make ``owner`` (a person or team) own an artifact version, or every version of a name."""
        from ..gates import api

        return api.set_owner(self, target, owner)

    def owner_of(self, ref: str | Artifact) -> str | None:
        from ..gates import api

        return api.owner_of(self, ref)

    def gate_facts(self) -> GateFacts:
        """Owners, licences, sources and evaluations, from the store or the server."""
        from ..gates import api

        return api.facts(self)

    def gate_evaluations(self, ref: str | Artifact) -> list[dict[str, Any]]:
        """Every recorded gate verdict on an artifact, oldest first, with the policy digest it ran under."""
        from ..gates import api

        return self.gate_facts().evaluations(str(api.artifact_of(self, ref).digest))

    def verify(self) -> VerifyReport:
        """Walk the hash chain, then check the ledger against the project's newest checkpoint."""
        report = self.store.verify()
        if self.anchor is None:
            return report
        from ..checkpoints import against_checkpoint

        return against_checkpoint(report, self.anchor.latest(), self.store)

    def rebuild(self, *, allow_broken: bool = False) -> int:
        """Verify the ledger, then replay it into fresh projections; refuses a broken chain (IntegrityError)
        unless ``allow_broken``, which replays the events before the first bad one (``mlineage.audit``)."""
        from ..audit import rebuild

        return rebuild(self.store, allow_broken=allow_broken).replayed

    # ------------------------------------------------------------ imports (``mlineage.importers``)

    def import_dvc(self, repo: str | os.PathLike[str] | None = None, **options: Any) -> ImportReport:
        """Import a repository's DVC history (options: rev_range, all_tags, folders, progress, total)."""
        from ..importers.dvc_source import import_dvc

        return import_dvc(self, Path(repo) if repo is not None else None, **options)

    def import_mlflow(self, tracking_uri: str, **options: Any) -> ImportReport:
        """Import an MLflow store's experiments, runs and registered models (options: progress, force)."""
        from ..importers.mlflow_source import import_mlflow

        return import_mlflow(self, tracking_uri, **options)

    def import_openlineage(self, paths: Sequence[str | os.PathLike[str]], **options: Any) -> ImportReport:
        """Import OpenLineage event logs (files or folders; options: progress, force)."""
        from ..importers.openlineage import import_openlineage

        return import_openlineage(self, [Path(p) for p in paths], **options)

    def scan(self, root: str | os.PathLike[str], **options: Any) -> ImportReport:
        """Record a folder's files and the lineage its scripts and logs suggest (inferred edges)."""
        from ..importers.scan_source import scan

        return scan(self, Path(root), **options)

    def inferred_edges(self, status: str | None = None) -> list[dict[str, Any]]:
        from ..importers.queries import inferred_edges

        return inferred_edges(self.store, status)

    def decide_inferred(self, edge_id: str, decision: str, note: str | None = None) -> dict[str, Any]:
        """Confirm (``confirmed``) or reject (``rejected``) an inferred edge; recorded as an event."""
        from ..importers.scan_source import decide

        return decide(self, edge_id, decision, note)

    # ------------------------------------------------------------ serving traces (``serving/service.py``)

    def record_traces(self, traces: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Record serving traces now (all or none): which model version, index and prompt answered each
        request, with its facts. On a hot path use ``mlineage.trace_request``, which batches in the
        background."""
        from ..serving import service

        return service.record_traces(self, traces)

    def serving_traces(self, *, endpoint: str | None = None, model: str | None = None,
                       as_of: str | int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Recorded serving traces, newest first, of an endpoint and/or a model (name, NAME@N, a digest)."""
        from ..serving import service

        return service.list_traces(self, endpoint=endpoint, model=model, as_of=as_of, limit=limit)

    def serving_summary(self, *, endpoint: str | None = None, model: str | None = None,
                        as_of: str | int | None = None) -> dict[str, Any]:
        """Per endpoint and model version: traces, errors, mean latency, tokens, cost; traces lost."""
        from ..serving import service

        return service.summary(self, endpoint=endpoint, model=model, as_of=as_of)

    def explain_answer(self, trace_id: str) -> dict[str, Any]:
        """From a traced answer to its model version, index version, embedding model, source documents
        (inclusion proven) and licences."""
        from ..serving import explain

        return explain.explain_answer(self, trace_id)

    # ------------------------------------------------------------ LLM lineage (``llm/service.py``)

    def add_corpus(self, source: str | os.PathLike[str], *, name: str | None = None,
                   progress: Any = None) -> dict[str, Any]:
        """Record a corpus version (a folder of JSONL/Parquet/text shards, or a manifest): its digest is the
        Merkle root over its shards, each shard's over its documents."""
        from ..llm import service

        return service.add_corpus(self, source, name=name, progress=progress)

    def prove_document(self, corpus: str, doc_id: str) -> dict[str, Any]:
        """A document's inclusion proof in a corpus version, verified."""
        from ..llm import service

        return service.prove_document(self, corpus, doc_id)

    def find_document(self, doc_id: str) -> list[dict[str, Any]]:
        """The corpus versions holding a document, and the models downstream of each."""
        from ..llm import service

        return service.find_document(self, doc_id)

    def link_model(self, child: str, bases: Sequence[str], relation: str, *,
                   name: str | None = None) -> dict[str, Any]:
        """Record a model derived from base models (``adapter``, ``merge``, ``quantized``, ``finetune``);
        a base ``hf:org/name@revision`` is an external node."""
        from ..llm import service

        return service.link_model(self, child, bases, relation, name=name)

    def import_peft(self, path: str | os.PathLike[str], *, base: str | None = None,
                    name: str | None = None) -> dict[str, Any]:
        """Record a PEFT adapter from its ``adapter_config.json`` as an adapter of its base model."""
        from ..llm import service

        return service.import_peft(self, path, base=base, name=name)

    def prove_packet(self, checkpoint: str, packet: str) -> dict[str, Any]:
        """A packet digest's inclusion proof in an online-learning checkpoint, verified."""
        from ..llm import service

        return service.prove_packet(self, checkpoint, packet)

    def build_index(self, source: str | os.PathLike[str], *, embedder: Any, chunker: Any, name: str,
                    **options: Any) -> dict[str, Any]:
        """Build and record an embedding index version of the corpus at ``source`` (``llm/indexes.py``):
        chunked, embedded, written to LanceDB when ``store_uri`` is given, recorded as an ``index_build``
        run."""
        from ..llm import indexes

        return indexes.build_index(self, source, embedder=embedder, chunker=chunker, name=name, **options)

    def index_info(self, ref: str) -> dict[str, Any]:
        """An embedding index version's inputs, chunk count and vector store location."""
        from ..llm import indexes

        return indexes.show_index(self, ref)

    def record_edit(self, edit: str, **options: Any) -> dict[str, Any]:
        """Record a human edit (label correction, weight edit, prompt edit, approval) with its person and
        reason (``llm/edits.py``)."""
        from ..llm import edits

        return edits.record_edit(self, edit, **options)

    def import_labels(self, export: str | os.PathLike[str], *, fmt: str | None = None,
                      reason: str | None = None) -> dict[str, Any]:
        """Import a labelling round (a CSV/JSON export of label changes) as label corrections."""
        from ..llm import edits

        return edits.import_labels(self, export, fmt=fmt, reason=reason)

    def human_edits(self, person: str | None = None) -> list[dict[str, Any]]:
        from ..llm import edits

        return edits.edits(self, person)

    def federated_rounds(self, federation: str) -> list[dict[str, Any]]:
        """A federation's recorded rounds with each client's update digest and size."""
        from ..llm import federated_recorder

        return federated_recorder.rounds(self, federation)


@functools.lru_cache(maxsize=16)
def _cached_client(cwd: str, store_env: str | None, artifacts_env: str | None) -> Client:
    return Client(load_settings(Path(cwd), auto_init=True))


def default_client() -> Client:
    """The client for the current folder's project, opened once per (folder, environment) and reused."""
    return _cached_client(os.getcwd(), os.environ.get("MLINEAGE_URI"), os.environ.get("MLINEAGE_ARTIFACTS"))
