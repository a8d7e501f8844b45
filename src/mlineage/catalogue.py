"""The event catalogue: every event type is declared here once, as an ``EventSpec``.

A spec says everything the rest of the system needs to know about one event type, so adding a feature means
declaring a spec (and, usually, a projection) without editing any core module:

* ``name`` and ``version``: the ledger's ``type`` and ``v`` fields;
* ``validate``: payload in, normalised payload out, or ``ValidationError`` naming the field (pure, total:
  what passes is something the projections can apply, apart from checks that need the current graph);
* ``redact``: payload fields that may carry credentials; each is passed through ``capture.redact`` (a
  mapping by key name and value, a string by value) before the event is sealed;
* ``creates`` / ``references``: the graph keys (run ids, artifact digests, or a feature's own keys) an event
  creates, and the ones it links to as ``(what, key)`` pairs: the server's namespace check refuses a batch
  that references keys of another namespace, and the namespace projection gives created keys to the
  writer's namespace;
* ``projections``: the names of the registered projections (``stores/projections``) that fold the event, in
  the order they apply it;
* ``canonical``: an optional fast formatter of the payload's RFC 8785 text (None to fall back to the general
  canonicaliser); the ledger uses it for events written by the thousand.

A feature module registers its own spec and, if it needs new node or edge kinds, the kinds::

    from mlineage.catalogue import EventSpec, register_event, register_artifact_kind
    from mlineage.stores.projections import Projection, register_projection

    register_artifact_kind("corpus")
    register_event(EventSpec("NoteAdded", validate_note, redact=("text",),
                             references=lambda p: [("run", p["run_id"])], projections=("notes",)))
    register_projection(NotesProjection)

A projection registered on a database that already has events of its type starts empty: run ``mlineage
rebuild`` once to fold the history into it. The built-in specs live in ``core_events.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError
from .model import ArtifactKind, EdgeType, OpenKind, RunKind, register_kind

Payload = dict[str, Any]
Validator = Callable[[Mapping[str, Any]], Payload]


def no_keys(payload: Payload) -> tuple[Any, ...]:
    """The default of ``creates`` and ``references``: an event that creates or links no keys."""
    return ()


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event type: see the module docstring for what each field is for."""

    name: str
    validate: Validator
    version: int = 1
    redact: tuple[str, ...] = ()
    creates: Callable[[Payload], Iterable[str]] = no_keys
    references: Callable[[Payload], Iterable[tuple[str, str]]] = no_keys
    projections: tuple[str, ...] = ()
    canonical: Callable[[Any], bytes | None] | None = None


SPECS: dict[str, EventSpec] = {}
"""Every registered spec by event type name. Read it directly on hot paths (one dict lookup per event)."""

_generation = [0]


def register_event(spec: EventSpec) -> EventSpec:
    """Declare an event type. Registering the same spec again is harmless; a different one under a taken
    name is refused (two features must not disagree about what an event means)."""
    if not spec.name or not spec.name[0].isupper() or not spec.name.isalnum() or len(spec.name) > 64:
        raise ValidationError("name", f"{spec.name!r} is not an event type name",
                              "use CamelCase letters and digits, at most 64 (as in RunStarted)")
    known = SPECS.get(spec.name)
    if known is not None and known != spec:
        raise ValidationError("name", f"event type {spec.name!r} is already registered",
                              "pick another name for the new event type")
    SPECS[spec.name] = spec
    changed()
    return spec


def unregister_event(name: str) -> None:
    """Remove an event type (for tests that declare one of their own)."""
    SPECS.pop(name, None)
    changed()


def get_spec(name: str) -> EventSpec:
    """The spec of an event type, or ``ValidationError`` listing the known types."""
    spec = SPECS.get(name)
    if spec is None:
        known = ", ".join(sorted(SPECS))
        raise ValidationError("type", f"unknown event type {name!r}", f"known types: {known}")
    return spec


def generation() -> int:
    """A number that changes whenever a spec or a projection is registered or removed: a writer that keeps
    its dispatch table between transactions starts afresh when it changes."""
    return _generation[0]


def changed() -> None:
    """Note a change of the registries (``register_event`` and ``register_projection`` call it)."""
    _generation[0] += 1


# ---------------------------------------------------------------- node and edge kinds


def register_artifact_kind(value: str) -> ArtifactKind:
    """A new artifact kind (``corpus``, ``adapter``...): accepted by writes, shown and matched by
    ``--kind``."""
    return register_kind(ArtifactKind, value)  # type: ignore[return-value]


def register_run_kind(value: str) -> RunKind:
    """A new run kind (``federated_round``...)."""
    return register_kind(RunKind, value)  # type: ignore[return-value]


def register_edge_type(value: str) -> EdgeType:
    """A new edge type for a feature's projection to write (upper case, as ``USED``)."""
    return register_kind(EdgeType, value)  # type: ignore[return-value]


__all__ = ["SPECS", "EventSpec", "OpenKind", "Payload", "Validator", "changed", "generation", "get_spec",
           "register_artifact_kind", "register_edge_type", "register_event", "register_run_kind",
           "unregister_event"]

from . import core_events as _core_events  # noqa: F401  (registers the built-in specs)
from . import heartbeat as _heartbeat  # noqa: F401  (run heartbeats: a spec and a projection)
from . import nesting as _nesting  # noqa: F401  (nested runs: a spec and a projection of their own)
from .datasets import events as _datasets  # noqa: F401  (dataset versions: semver, profiles, rollbacks)
from .gates import events as _gates  # noqa: F401  (quality gates: evaluations, owners, licences, sources)
from .importers import records as _import_records  # noqa: F401  (imports: aliases, markers, inferred edges)
from .llm import events as _llm  # noqa: F401  (LLM lineage: corpora, model links, online checkpoints)
from .registry import events as _registry  # noqa: F401  (model registry: versions and aliases)
from .reproduce import records as _reproduce  # noqa: F401  (reproduce and reuse: specs and projections)
from .serving import events as _serving  # noqa: F401  (serving traces: which versions answered a request)
