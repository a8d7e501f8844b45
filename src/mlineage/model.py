"""The pure domain model: value objects with no I/O.

Identity is content: an artifact *is* its digest; names, versions and aliases are labels pointing at digests,
and lineage edges always join digests (or run ids), never mutable names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .errors import ValidationError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SUPPORTED_ALGORITHMS = ("sha256",)


@dataclass(frozen=True, order=True, slots=True)
class Digest:
    """A content digest, parsed and printed only here: ``sha256:<64 hex>``."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        if self.algorithm not in _SUPPORTED_ALGORITHMS:
            raise ValidationError("digest", f"unsupported algorithm {self.algorithm!r}", "use sha256")
        if not _HEX64.match(self.hex):
            raise ValidationError("digest", f"{self.hex!r} is not 64 lowercase hex characters")

    @classmethod
    def parse(cls, text: str) -> Digest:
        algorithm, sep, hexpart = text.partition(":")
        if not sep:
            raise ValidationError("digest", f"{text!r} has no algorithm prefix", "write it as sha256:<hex>")
        return cls(algorithm, hexpart.lower())

    @classmethod
    def sha256(cls, hexdigest: str) -> Digest:
        return cls("sha256", hexdigest)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        return f"{self.algorithm}:{self.hex[:12]}"


class OpenKind(str, Enum):
    """A closed set of built-in values that feature modules may extend with ``register_kind``.

    A registered value parses like a built-in member (``ArtifactKind("corpus")`` is an ``ArtifactKind`` whose
    ``.value`` is ``"corpus"``), so stores, the graph and the output code need no special case. Parsing is
    lenient for any well-formed name, so a database written with a feature loaded stays readable without it;
    what a *write* may use is checked by ``enum_value``, against the built-ins and the registered values."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str) or not _KIND_NAME.match(value):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)


_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_EDGE_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
_REGISTERED_KINDS: dict[type[Enum], set[str]] = {}


def register_kind(enum: type[OpenKind], value: str) -> OpenKind:
    """Add ``value`` to an open kind (``ArtifactKind``, ``RunKind`` or ``EdgeType``); returns its member.
    Registering a value twice (or a built-in one) is harmless."""
    if enum is EdgeType:
        if not _EDGE_NAME.match(value):
            raise ValidationError("type", f"{value!r} is not an edge type name",
                                  "use upper-case letters, digits and '_' (at most 16), as in USED")
    elif not _KIND_NAME.match(value):
        raise ValidationError("kind", f"{value!r} is not a kind name",
                              "use lowercase letters, digits and '_' (at most 32), starting with a letter")
    _REGISTERED_KINDS.setdefault(enum, set()).add(value)
    return enum(value)


def kind_values(enum: type[Enum]) -> list[str]:
    """The values a write may use: the built-in members, then the registered ones in sorted order."""
    builtin = [str(m.value) for m in enum]
    return builtin + sorted(_REGISTERED_KINDS.get(enum, set()) - set(builtin))


class ArtifactKind(OpenKind):
    DATASET = "dataset"
    MODEL = "model"
    CODE = "code"
    ENVIRONMENT = "environment"
    METRICS = "metrics"
    CONFIG = "config"
    FILE = "file"
    DIRECTORY = "directory"
    OTHER = "other"


class RunKind(OpenKind):
    INGEST = "ingest"
    TRANSFORM = "transform"
    TRAIN = "train"
    EVALUATE = "evaluate"
    DEPLOY = "deploy"
    HUMAN_EDIT = "human_edit"
    AGGREGATE = "aggregate"
    IMPORT = "import"
    OTHER = "other"


class RunStatus(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def finished(self) -> bool:
        return self is not RunStatus.RUNNING


class EdgeType(OpenKind):
    """Edges point the way data flows: parent → child. Registered types are upper case like these."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str) or not _EDGE_NAME.match(value):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)

    USED = "USED"  # artifact → run
    PRODUCED = "PRODUCED"  # run → artifact
    DERIVED_FROM = "DERIVED_FROM"  # parent artifact → derived artifact
    SAME_CONTENT = "SAME_CONTENT"  # a digest's occurrence → its next one (stores/projections/graph.py)


class NodeKind(str, Enum):
    ARTIFACT = "artifact"
    RUN = "run"


def enum_value(enum: type[Enum], value: str, field_name: str) -> Any:
    """Parse an enum value with an error that lists the choices (for an open kind: built-in or registered)."""
    member = enum._value2member_map_.get(value)
    if member is not None and (
        member._name_ in enum._member_map_ or value in _REGISTERED_KINDS.get(enum, ())
    ):
        return member
    if value in _REGISTERED_KINDS.get(enum, ()):
        return enum(value)
    choices = ", ".join(kind_values(enum))
    raise ValidationError(field_name, f"{value!r} is not one of: {choices}")


@dataclass(frozen=True, slots=True)
class Artifact:
    digest: Digest
    kind: ArtifactKind
    size: int | None = None
    name: str | None = None
    version: int | None = None
    media_type: str | None = None
    uri: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    occurrence: int = 1
    """Which of the digest's lineage-graph nodes this record stands for: 1 unless the same content was
    produced again downstream of itself (a dedupe that changed nothing, a revert, a round trip), which
    records a new occurrence (``stores/projections/graph.py``). The content is the same either way."""

    @property
    def label(self) -> str:
        if self.name is not None and self.version is not None:
            return f"{self.name}@{self.version}"
        return self.digest.short


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    job: str
    kind: RunKind
    status: RunStatus
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None
    error: dict[str, str] | None = None
    started_at: str | None = None
    ended_at: str | None = None

    @property
    def label(self) -> str:
        return f"{self.job} ({self.id[:8]})"


@dataclass(frozen=True, slots=True)
class NamedVersion:
    """One version of a name: the artifact as that version, and who recorded the label, when (the ledger
    event that created it)."""

    artifact: Artifact
    seq: int
    recorded_at: str
    actor: str | None


@dataclass(frozen=True, slots=True)
class NodeRef:
    """A graph node: an artifact (key = digest text) or a run (key = run id)."""

    kind: NodeKind
    key: str

    def __str__(self) -> str:
        return self.key if self.kind is NodeKind.ARTIFACT else f"run:{self.key}"


@dataclass(frozen=True, slots=True)
class Edge:
    parent: NodeRef
    child: NodeRef
    type: EdgeType
    role: str | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """The seed's lineage tuple for one model, as a read-only view over the graph."""

    model_id: str
    parent_artifacts: list[Artifact]
    transformation_logic: dict[str, Any]
    environment_context: dict[str, Any]
    output_metrics: dict[str, float]
    timestamp: str | None
