"""in-toto Statement v1 with a SLSA provenance v1 predicate: building one for a model, reading any.

A Statement names its subjects by digest and carries a typed predicate; SLSA provenance says how the subject
was built: ``buildDefinition`` (what was asked: the run's command and params as ``externalParameters``, the
inputs with their digests as ``resolvedDependencies``) and ``runDetails`` (who built it and when). Field
names follow in-toto attestation spec v1 and SLSA provenance v1; this module is the only one that knows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:  # reading a statement (``summarize``) needs neither: verify-attestation's start-up
    from ..model import Artifact, Run

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
SLSA_V1 = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/mlineage/mlineage/buildtypes/run/v1"
BUILDER_ID = "https://github.com/mlineage/mlineage"


def descriptor(artifact: Artifact, role: str | None = None) -> dict[str, Any]:
    """An in-toto ResourceDescriptor: name, digest, and where the bytes were found when recorded."""
    out: dict[str, Any] = {"name": artifact.name or str(artifact.metadata.get("path") or artifact.digest),
                           "digest": {artifact.digest.algorithm: artifact.digest.hex}}
    if artifact.uri:
        out["uri"] = artifact.uri
    annotations: dict[str, Any] = {"kind": artifact.kind.value}
    if role:
        annotations["role"] = role
    out["annotations"] = annotations
    return out


def statement(subject_name: str, subject_sha256: str, run: Run | None,
              inputs: list[tuple[Artifact, str | None]]) -> dict[str, Any]:
    """The Statement for one model file produced by ``run`` (None: a model recorded without a run)."""
    from .records import actor_of, command_of

    external: dict[str, Any] = {}
    internal: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    builder: dict[str, Any] = {"id": BUILDER_ID, "version": {"mlineage": __version__}}
    if run is not None:
        external = {"job": run.job, "kind": run.kind.value, "params": run.params}
        command = command_of(run)
        if command:
            external["command"] = command
        git = run.context.get("git")
        if isinstance(git, Mapping):
            internal["git"] = dict(git)
        actor = actor_of(run)
        if actor:
            internal["actor"] = actor
        metadata["invocationId"] = run.id
        if run.started_at:
            metadata["startedOn"] = run.started_at
        if run.ended_at:
            metadata["finishedOn"] = run.ended_at
    definition: dict[str, Any] = {
        "buildType": BUILD_TYPE,
        "externalParameters": external,
        "resolvedDependencies": [descriptor(a, role) for a, role in inputs],
    }
    if internal:
        definition["internalParameters"] = internal
    details: dict[str, Any] = {"builder": builder}
    if metadata:
        details["metadata"] = metadata
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {"sha256": subject_sha256}}],
        "predicateType": SLSA_V1,
        "predicate": {"buildDefinition": definition, "runDetails": details},
    }


@dataclass
class Summary:
    """What a reader wants from any SLSA statement (v1 or v0.2): subjects, builder, materials."""

    statement_type: str
    predicate_type: str
    subjects: list[dict[str, Any]]
    builder: str | None
    build_type: str | None
    materials: list[dict[str, Any]] = field(default_factory=list)
    invocation: str | None = None
    started: str | None = None
    finished: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"statement_type": self.statement_type, "predicate_type": self.predicate_type,
                "subjects": self.subjects, "builder": self.builder, "build_type": self.build_type,
                "materials": self.materials, "invocation": self.invocation, "started": self.started,
                "finished": self.finished}


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def summarize(doc: Mapping[str, Any]) -> Summary:
    """Read a Statement; raises ValueError naming the field when it is not one."""
    kind = doc.get("_type")
    if kind not in STATEMENT_TYPES:
        raise ValueError(f"_type is {kind!r}, not an in-toto Statement")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise ValueError("the statement has no subject")
    for i, subject in enumerate(subjects):
        if not isinstance(subject, Mapping) or not isinstance(subject.get("digest"), Mapping):
            raise ValueError(f"subject[{i}] has no digest")  # noqa: TRY004 - the caller names the check
    predicate_type = str(doc.get("predicateType"))
    predicate = doc.get("predicate") or {}
    if "buildDefinition" in predicate or "runDetails" in predicate:  # SLSA v1
        materials = _get(predicate, "buildDefinition", "resolvedDependencies") or []
        return Summary(str(kind), predicate_type, list(subjects),
                       _get(predicate, "runDetails", "builder", "id"),
                       _get(predicate, "buildDefinition", "buildType"), list(materials),
                       _get(predicate, "runDetails", "metadata", "invocationId"),
                       _get(predicate, "runDetails", "metadata", "startedOn"),
                       _get(predicate, "runDetails", "metadata", "finishedOn"))
    return Summary(str(kind), predicate_type, list(subjects), _get(predicate, "builder", "id"),  # SLSA v0.2
                   predicate.get("buildType"), list(predicate.get("materials") or []),
                   _get(predicate, "metadata", "buildInvocationId"),
                   _get(predicate, "metadata", "buildStartedOn"),
                   _get(predicate, "metadata", "buildFinishedOn"))
