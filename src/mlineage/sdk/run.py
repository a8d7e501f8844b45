"""The run context: ``with mlineage.run(...)`` and ``@mlineage.track``.

A run's start is buffered for at most ``MLINEAGE_START_WRITE_DELAY`` seconds (default 1): a short run is then
one write transaction, and a background thread (``flusher.py``) writes the start of a longer one, so a job
that is still going, or is killed, shows up as running. Inputs and outputs that could fail (a bad ref, a
possible cycle) are written as they are declared, so the error surfaces at the line that caused it; params
and metrics are buffered and written in batches (and always at the end), because per-call commits are what
make other trackers slow. A run that raises is recorded as failed with its error, Ctrl-C as aborted: failed
runs are lineage too. The active run lives in a ContextVar, so threads and asyncio tasks each see their own.
"""

from __future__ import annotations

import collections
import contextvars
import functools
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from .. import events as ev
from ..background import Background
from ..capture.basic import actor, basic_context
from ..capture.redact import redact_params
from ..errors import MlineageError, StoreUnavailableError, ValidationError
from ..events import NewEvent, new_id, utc_from_ns, utc_now
from ..heartbeat import RUN_HEARTBEAT, heartbeat_seconds
from ..jsonvalues import check_json_value, check_metric, check_params
from ..model import Artifact, ArtifactKind, Digest, Run, RunKind, enum_value
from .client import Client, default_client
from .flusher import schedule, start_write_delay

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Callable[..., Any])

_active: contextvars.ContextVar[ActiveRun | None] = contextvars.ContextVar(
    "mlineage_active_run", default=None
)

_captured_in: set[str] = set()  # folders this process has captured a run in (its capture caches are warm)

FLUSH_EVERY_EVENTS = 1000
FLUSH_EVERY_SECONDS = 2.0
_time_ns = time.time_ns


def _locked(method: M) -> M:
    """Run a method under the run's lock: the flusher thread may be writing the buffer at the same moment."""
    @functools.wraps(method)
    def wrapper(self: ActiveRun, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def active_run() -> ActiveRun | None:
    """The innermost run open in this thread or task, if any."""
    return _active.get()


class ActiveRun:
    def __init__(
        self,
        job: str,
        *,
        kind: str | RunKind = RunKind.OTHER,
        params: Mapping[str, Any] | None = None,
        client: Client | None = None,
        run_id: str | None = None,
        capture: bool = True,
        source_files: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        if not isinstance(job, str) or not job.strip():
            raise ValidationError("job", f"must be a non-empty string, got {job!r}")
        self.client = client or default_client()
        self.id = run_id or new_id()
        self.job = job
        self.kind: RunKind = enum_value(RunKind, str(getattr(kind, "value", kind)), "kind")
        self.params: dict[str, Any] = redact_params(check_params(dict(params or {})))
        self.capture = capture and os.environ.get("MLINEAGE_CAPTURE", "full") != "basic"
        self.source_files = tuple(str(p) for p in source_files)
        self._pending: list[NewEvent] = []
        # (key, value, step, time_ns). A deque that is never replaced: log_metric appends to it without the
        # run's lock and a flush takes items from its left, both atomic, so nothing logged during a flush on
        # another thread is lost.
        self._pending_metrics: collections.deque[tuple[str, float, int, int]] = collections.deque()
        self._started = False
        self._ended = False
        self._open = False  # started and not ended: the one flag log_metric's short path reads
        self._token: contextvars.Token[ActiveRun | None] | None = None
        self.inputs: list[Artifact] = []
        self.outputs: list[Artifact] = []
        self._finalizers: list[Callable[[ActiveRun], None]] = []
        self._has_outputs = False
        self._lock = threading.RLock()
        self._start_written = False
        self._recorded_on_start: list[str] = []  # manifest digests to remember once the start is written
        self._started_at = ""
        self._captured: tuple[dict[str, Any], list[NewEvent], list[str]] | None = None
        self._capture_job: Background[tuple[dict[str, Any], list[NewEvent], list[str]]] | None = None
        self._parent_id: str | None = None  # the run this one was started inside, if any
        self._last_write = time.monotonic()  # when this run last wrote (a quiet run writes heartbeats)
        self.extra_context: dict[str, Any] = {}  # recorded with the context (a stored ``reproduce`` command)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> ActiveRun:
        """Start the run. The first buffered run of a process in a folder captures its code and environment on
        a thread beside the job, collected when the start is written: that capture waits on ``git status``
        (slow in a big repository), which then overlaps the job's own work. Later runs find it cached, cheaper
        than starting a thread, and capture inline."""
        if self._started:
            return self
        parent = _active.get()
        if parent is not None and parent.client is self.client and parent._open and not parent._ended:
            parent.flush_due()  # the parent's start is in the store before the link to it is written
            self._parent_id = parent.id
        started_at = utc_now()
        cwd = Path(os.getcwd())  # now: the job may chdir before the capture thread looks
        delay = start_write_delay()
        if delay > 0 and self.capture and str(cwd) not in _captured_in:
            self._capture_job = Background(functools.partial(self._capture, cwd), "mlineage-capture")
        else:
            self._captured = self._capture(cwd)
        with self._lock:
            self._started_at = started_at
            self._started = True
            self._open = True
            if delay > 0:
                schedule(self, delay)
            else:
                self._flush_into([])
                schedule(self, FLUSH_EVERY_SECONDS)  # buffered metrics are written by time on that thread
        return self

    def _start_events(self) -> list[NewEvent]:
        """``RunStarted`` and the events linking the captured manifests (waiting for the capture if need
        be)."""
        if self._captured is None:
            assert self._capture_job is not None
            self._captured = self._capture_job.result()
        context, extra, recorded = self._captured
        context = dict(
            context, pid=os.getpid(), **self.extra_context
        )  # with the host: tells whether a running run's process is gone
        if self._parent_id is not None:
            context["parent_run_id"] = self._parent_id
        self._recorded_on_start = recorded
        started = NewEvent(ev.RUN_STARTED, {
            "run_id": self.id, "job": self.job, "kind": self.kind.value, "params": self.params,
            "context": context, "agent": actor(), "started_at": self._started_at,
        })
        if self._parent_id is None:
            return [started, *extra]
        from ..nesting import RUN_NESTED

        return [started, NewEvent(RUN_NESTED, {"run_id": self.id, "parent_run_id": self._parent_id}), *extra]

    def flush_due(self) -> None:
        """Called by the flusher thread when the buffered start is due, then every ``FLUSH_EVERY_SECONDS``
        while the run is open: write what is buffered. (``log_metric`` leaves flushing by time to this thread,
        so a training step pays no clock read, and values logged before a loop stalls still reach the
        store.)"""
        try:
            with self._lock:
                if not self._started or self._ended:
                    return
                if not self._start_written or self._pending or self._pending_metrics:
                    self._flush_into([])
                elif time.monotonic() - self._last_write >= heartbeat_seconds():  # quiet: say it is alive
                    self._flush_into([NewEvent(RUN_HEARTBEAT, {"run_id": self.id})])
        finally:
            if self._started and not self._ended:
                schedule(self, FLUSH_EVERY_SECONDS)

    def _capture(self, cwd: Path) -> tuple[dict[str, Any], list[NewEvent], list[str]]:
        """The run context and the events linking the code and environment manifests (capture never fails a
        run: on an error the run keeps the basic context and records what went wrong)."""
        if not self.capture:
            return basic_context(), [], []
        from ..capture.run_context import capture_run, context_events

        try:
            captured = capture_run(self.source_files, cwd)
            extra, recorded = context_events(self.client, captured, self.id)
            _captured_in.add(str(cwd))
            return captured.context, extra, recorded
        except Exception as exc:  # noqa: BLE001 - see the docstring
            context = basic_context()
            context["capture_error"] = f"{type(exc).__name__}: {exc}"[:500]
            return context, [], []

    def __enter__(self) -> Self:
        self.start()
        self._token = _active.set(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            _active.reset(self._token)
            self._token = None
        if exc_type is None:
            self.end("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("aborted", {"type": "KeyboardInterrupt", "message": "interrupted by the user"})
        else:
            self.end("failed", {"type": exc_type.__name__, "message": str(exc)})

    @_locked
    def end(self, status: str = "completed", error: dict[str, str] | None = None) -> None:
        if self._ended:
            return
        self._require_started()
        finalizers, self._finalizers = self._finalizers, []
        for finalize in finalizers:  # integrations record what they accumulated (e.g. partial_fit batches)
            try:
                finalize(self)
            except Exception as exc:  # noqa: BLE001 - a failing integration must not lose the run's end
                if error is None and status == "completed":
                    status, error = "failed", {"type": type(exc).__name__, "message": str(exc)}
        payload: dict[str, Any] = {"run_id": self.id, "status": status, "ended_at": utc_now()}
        if error is not None:  # a message may quote a file name that is not UTF-8: keep it recordable
            payload["error"] = {
                k: v.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(v, str) else v
                for k, v in error.items()
            }
        self._open = (
            False  # before the last flush: a value logged on another thread now raises, never goes missing
        )
        try:
            self._flush_into([NewEvent(ev.RUN_ENDED, payload)])
        except BaseException:
            self._open = True
            raise
        self._ended = True
        # once per run, after its last write: the anchor is not on the event path
        self.client.write_checkpoint()

    def add_finalizer(self, finalize: Callable[[ActiveRun], None]) -> None:
        """Call ``finalize(run)`` when the run ends, before its end is written (used by autolog
        integrations)."""
        self._finalizers.append(finalize)

    # ------------------------------------------------------------ inputs and outputs

    @_locked
    def use(self, source: str | os.PathLike[str] | Artifact, *, role: str | None = None,
            kind: str | ArtifactKind = ArtifactKind.DATASET, name: str | None = None,
            store_blob: bool = True) -> Artifact:
        """Declare an input: a path (hashed and recorded now) or a ref to an artifact already recorded."""
        self._require_open()
        artifact_events, digest, known = self._artifact_events(source, kind, name, store_blob)
        batch = [*artifact_events, NewEvent(ev.ARTIFACT_USED, self._edge(digest, role))]
        if known is None and name is None:
            known = self._known(digest)
        # Before the run has outputs, a new input edge cannot close a cycle (the run has no descendants),
        # so it can wait for the next batch; otherwise write now, so any error surfaces at this line.
        if self._has_outputs or name is not None:
            self._flush_into(batch)
            artifact = known or self.client.artifact(digest, name)
        else:
            self._pending.extend(batch)
            artifact = known or _declared(artifact_events[-1].payload)
            self._maybe_flush()
        self.inputs.append(artifact)
        return artifact

    @_locked
    def produce(self, path: str | os.PathLike[str], *, kind: str | ArtifactKind = ArtifactKind.MODEL,
                name: str | None = None, role: str | None = None,
                derived_from: Iterable[str | Artifact] = (), store_blob: bool = True,
                metadata: dict[str, Any] | None = None) -> Artifact:
        """Declare an output file or directory; ``derived_from`` adds DERIVED_FROM links (e.g. base model)."""
        self._require_open()
        if isinstance(path, Artifact) or not Path(path).exists():
            raise ValidationError(
                "path", f"{path} does not exist", "write the output before calling produce()"
            )
        record = self.client.artifact_event(
            path, kind=kind, name=name, store_blob=store_blob, metadata=metadata
        )
        digest = record.payload["digest"]
        derived = [
            NewEvent(
                ev.ARTIFACT_DERIVED,
                {
                    "parent": str(
                        (parent if isinstance(parent, Artifact) else self._artifact_of_ref(parent)).digest
                    ),
                    "child": digest,
                },
            )
            for parent in derived_from
        ]
        return self.record_new_artifact(
            record, NewEvent(ev.ARTIFACT_PRODUCED, self._edge(digest, role)), derived
        )

    def _artifact_events(self, source: str | os.PathLike[str] | Artifact, kind: str | ArtifactKind,
                         name: str | None, store_blob: bool) -> tuple[list[NewEvent], str, Artifact | None]:
        """(events that record the source, its digest, the Artifact when it is already known)."""
        if isinstance(source, Artifact):
            return [], str(source.digest), source
        if Path(source).exists():
            record = self.client.artifact_event(source, kind=kind, name=name, store_blob=store_blob)
            return [record], record.payload["digest"], None
        known = self._artifact_of_ref(str(source))
        return [], str(known.digest), known

    def _artifact_of_ref(self, ref: str) -> Artifact:
        try:
            node = self.client.resolve(str(ref))
        except MlineageError as exc:
            raise ValidationError(
                "source", f"{ref!r} is neither an existing path nor a known artifact: {exc}"
            ) from None
        if not isinstance(node, Artifact):
            raise ValidationError("source", f"{ref!r} is a run, not an artifact")
        return node

    def _edge(self, digest: str, role: str | None) -> dict[str, Any]:
        payload = {"run_id": self.id, "digest": digest}
        if role is not None:
            payload["role"] = role
        return payload

    # ------------------------------------------------------------ params and metrics

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    @_locked
    def log_params(self, params: Mapping[str, Any]) -> None:
        self._require_open()
        checked = redact_params(check_params(dict(params)))
        for key, value in checked.items():
            if key in self.params and self.params[key] != value:
                raise ValidationError(
                    f"params.{key}", f"already logged as {self.params[key]!r}; params are immutable"
                )
        self.params.update(checked)
        self._pending.append(NewEvent(ev.PARAMS_LOGGED, {"run_id": self.id, "params": checked}))
        self._maybe_flush()

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        """Buffer one metric value (written with the next batch, and always at the end of the run).

        Called once per training step, between tensor operations: the common case (a finite float, a
        non-negative int step) takes a short path that only appends a tuple, because what costs here is not
        the work but how much code runs with the caches cold: that path takes no lock (taking the run's
        lock there cost ~2.5 us a call in a training loop, more than the rest together). A value logged from
        another thread while the run is ending either makes it into the run or raises, as after the end."""
        if (type(value) is float and type(step) is int and type(key) is str and step >= 0 and key
                and value - value == 0.0 and self._open):  # finite: nan - nan is nan
            pending = self._pending_metrics
            pending.append((key, value, step, _time_ns()))
            if not self._open:  # the run ended on another thread meanwhile: the value may have missed the end
                raise MlineageError(f"run {self.id} has already ended; start a new run")
            if len(pending) >= FLUSH_EVERY_EVENTS:  # _maybe_flush's rule, on the metrics alone (the bulk)
                self.flush()
            return
        self.log_metrics({key: value}, step=step)

    @_locked
    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        self._require_open()
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValidationError("step", f"must be an integer >= 0, got {step!r}")
        now = time.time_ns()
        for key, value in metrics.items():
            self._pending_metrics.append((key, check_metric(key, value), step, now))
        self._maybe_flush()

    @_locked
    def record_new_artifact(
        self, record: NewEvent, link: NewEvent, extra: Iterable[NewEvent] = ()
    ) -> Artifact:
        """Record an artifact given by its ``ArtifactRecorded`` event and link it (``ArtifactUsed`` or
        ``ArtifactProduced``), plus ``extra`` events (DERIVED_FROM links): ``produce`` goes through here, and
        integrations that hash in memory call it directly.

        A link that cannot fail waits in the buffer: an unnamed artifact used before the run has outputs (the
        run reaches nothing yet, so no edge into it can close a cycle, whether the artifact is new or known --
        the same training data, run after run), or an unnamed artifact produced with nothing else that cannot
        reach the run (new to the store, or known but a leaf that is not one of the run's inputs: the same
        model saved again, run after run). Anything else is written now, so errors surface at the caller's
        line."""
        self._require_open()
        digest = record.payload["digest"]
        produced = link.type == ev.ARTIFACT_PRODUCED
        batch = [record, link, *extra]
        known, safe = None, False
        if len(batch) == 2 and "name" not in record.payload and (produced or not self._has_outputs):
            known = self._known(digest)
            safe = known is None or not produced or self._leaf_outside_inputs(digest)
        if produced:
            self._has_outputs = True
        if safe:
            self._pending.extend(batch)
            artifact = known or _declared(record.payload)
            self._maybe_flush()
        else:
            self._flush_into(batch)
            artifact = self.client.artifact(digest, record.payload.get("name"))
        (self.outputs if produced else self.inputs).append(artifact)
        return artifact

    def _known(self, digest: str) -> Artifact | None:
        """The artifact if the store already has it: only a hint (unknown means "record it"), so with the
        server unreachable the answer is "unknown" and the run goes on from the spool."""
        try:
            return self.client.store.get_artifact(digest)
        except StoreUnavailableError:
            return None

    def _leaf_outside_inputs(self, digest: str) -> bool:
        """Whether producing this known artifact certainly closes no cycle: a cycle needs the artifact to
        reach the run, i.e. to be one of its inputs or an ancestor of one, and an artifact that nothing has
        used or derived from (no children in the store) is an ancestor of nothing. The code and environment
        manifests are inputs too, so while they are still being captured the answer is no."""
        if self._captured is None:
            return False
        if any(str(a.digest) == digest for a in self.inputs) or any(
                e.type == ev.ARTIFACT_USED and e.payload["digest"] == digest for e in self._captured[1]):
            return False
        return not self.client.store.has_children(digest)

    @_locked
    def write_events(self, events: list[NewEvent]) -> None:
        """Append events that belong to this run now, after (and atomically with) what it has buffered, so
        integrations that build their own events keep the run's order."""
        self._require_open()
        self._flush_into(list(events))

    @_locked
    def flush(self) -> None:
        """Write buffered params and metrics now."""
        self._flush_into([])

    def _maybe_flush(self) -> None:
        """Write now when the buffer is large (by time, the flusher thread writes it: see ``flush_due``)."""
        if len(self._pending) + len(self._pending_metrics) >= FLUSH_EVERY_EVENTS:
            self.flush()

    def _flush_into(self, tail: list[NewEvent]) -> None:
        batch = list(self._pending)
        if not self._start_written:
            batch[:0] = self._start_events()
        pending_metrics = self._pending_metrics
        taken = [
            pending_metrics.popleft() for _ in range(len(pending_metrics))
        ]  # later appends wait their turn
        if taken:
            metrics = [{"key": key, "value": value, "step": step, "ts": utc_from_ns(ns)}
                       for key, value, step, ns in taken]
            batch.append(NewEvent(ev.METRICS_LOGGED, {"run_id": self.id, "metrics": metrics}))
        batch.extend(tail)
        if batch:
            try:
                self.client.append(batch)
            except BaseException:
                pending_metrics.extendleft(reversed(taken))  # kept for a retry, in their order
                raise
            self._last_write = time.monotonic()
        self._pending = []
        if not self._start_written:
            self._start_written = True
            if self._recorded_on_start:
                from ..capture.run_context import mark_recorded

                mark_recorded(self.client, self._recorded_on_start)
                self._recorded_on_start = []

    # ------------------------------------------------------------ state

    def _require_started(self) -> None:
        if not self._started:
            raise MlineageError("the run has not started: use it as `with mlineage.run(...) as run:`")

    def _require_open(self) -> None:
        self._require_started()
        if self._ended:
            raise MlineageError(f"run {self.id} has already ended; start a new run")

    def record(self) -> Run | None:
        """The run as stored (after flushing what is buffered)."""
        if self._started and not self._ended:
            self.flush()
        return self.client.store.get_run(self.id)


def _declared(payload: dict[str, Any]) -> Artifact:
    """The artifact as this run declares it, before its (buffered) record reaches the store."""
    return Artifact(digest=Digest.parse(payload["digest"]), kind=ArtifactKind(payload["kind"]),
                    size=payload.get("size"), media_type=payload.get("media_type"), uri=payload.get("uri"),
                    metadata=dict(payload.get("metadata", {})))


def run(job: str, *, kind: str | RunKind = RunKind.OTHER, params: Mapping[str, Any] | None = None,
        client: Client | None = None, capture: bool = True,
        source_files: Iterable[str | os.PathLike[str]] = (), reuse: bool = False,
        inputs: Iterable[str | os.PathLike[str]] = (), outputs: Mapping[str, str] | Iterable[str] = (),
        reproduce: Iterable[str] | None = None) -> ActiveRun:
    """Open a tracked run: ``with mlineage.run("train", kind="train", params={...}) as run:``.

    The run records its code and environment (see docs/tracking.md); ``source_files`` names files or folders
    whose digests go into the code manifest (useful outside git); ``capture=False`` records only the basic
    context (interpreter, platform, user, host, argv). ``reproduce`` stores the command that re-runs this
    step (default: the script's command line). ``reuse=True`` answers the run from the cache when a completed
    run with the same job, code, environment, params and ``inputs`` produced ``outputs`` (see
    docs/reproduce.md): then ``run.reused`` is that run, its outputs are restored, and the body should skip
    its work (``if not run.reused: ...``)."""
    if reuse:
        from ..reproduce.reuse import ReusableRun

        active: ActiveRun = ReusableRun(job, kind=kind, params=params, client=client, capture=capture,
                                        source_files=source_files, inputs=inputs, outputs=outputs)
    else:
        active = ActiveRun(job, kind=kind, params=params, client=client, capture=capture,
                           source_files=source_files)
        if inputs or outputs:
            raise ValidationError("inputs", "inputs= and outputs= declare a reusable step: pass reuse=True, "
                                  "or call run.use()/run.produce()")
    if reproduce is not None:
        active.extra_context["reproduce"] = {"command": [str(a) for a in reproduce]}
    return active


def _json_params(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Record a function's arguments as params; values JSON cannot hold are recorded by type name."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return {}
    bound.apply_defaults()
    params: dict[str, Any] = {}
    for key, value in bound.arguments.items():
        try:
            check_json_value(value, key)
            params[key] = value
        except ValidationError:
            params[key] = f"<{type(value).__name__}>"
    return params


def track(job: str | None = None, *, kind: str | RunKind = RunKind.OTHER, inputs: Iterable[str] = (),
          outputs: Mapping[str, str] | Iterable[str] = (), capture_args: bool = True,
          client: Client | None = None, reuse: bool = False,
          source_files: Iterable[str | os.PathLike[str]] = ()) -> Callable[[F], F]:
    """Decorate a function so each call is a run. ``inputs`` are paths read before the call; ``outputs`` are
    paths (optionally mapped to a kind) produced after it returns. Arguments become params. With
    ``reuse=True`` a call whose key matches a completed run restores that run's outputs instead of calling
    the function (and returns None)."""
    output_kinds = (
        dict(outputs) if isinstance(outputs, Mapping) else {o: ArtifactKind.FILE.value for o in outputs}
    )
    input_paths = list(inputs)

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            params = _json_params(fn, args, kwargs) if capture_args else {}
            if reuse:
                from ..reproduce.reuse import ReusableRun

                with ReusableRun(job or fn.__qualname__, kind=kind, params=params, client=client,
                                 inputs=input_paths, outputs=output_kinds, source_files=source_files) as step:
                    return None if step.reused is not None else fn(*args, **kwargs)
            with ActiveRun(job or fn.__qualname__, kind=kind, params=params, client=client,
                           source_files=source_files) as current:
                for path in input_paths:
                    current.use(path)
                result = fn(*args, **kwargs)
                for path, out_kind in output_kinds.items():
                    current.produce(path, kind=out_kind)
                return result

        return wrapper  # type: ignore[return-value]

    return decorator
