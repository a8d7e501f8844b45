"""``MLINEAGE_URI=http(s)://server``: the server as a MetadataStore, with a durable spool for writes.

Writes never wait on the network to be safe: ``append`` validates the events (the same pure checks the
server runs), appends them to the spool (``spool.py``) and fsyncs it, then tries to ship what the spool holds
in batches. If the server is down, tracking goes on; the spool drains on the next append, on ``close``, or
with ``mlineage sync``. Every event carries its UUID and the server skips ids it already has, so a batch
retried after a timeout never duplicates anything.

A refusal reaches the caller as it would from a local store: the events one ``append`` wrote are taken or
refused together, and when the server refuses those an ``append`` shipped during that call, the call raises
the class the server raised (``CycleError``, ``ForbiddenError``, ...) and they are the caller's, as after a
local store's refusal (a run keeps its buffered events and writes them with its next batch). Events that ship
later (the server was down, or another process shipped them) and are refused then are kept in
``rejected.jsonl`` with the reason, reported when the script ends and by ``mlineage sync``: never dropped.

Reads of records are plain HTTP calls; lineage queries go to the server whole (``query_service``), never as
storage primitives. While the server is unreachable, reads of artifacts and runs this process wrote are
answered from what it spooled (read-your-writes), so ``with mlineage.run()`` keeps working offline. A server
error arrives as the exception class the server raised (``errors.error_class``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from ... import events as ev
from ...errors import (
    AmbiguousRefError,
    ConfigError,
    MlineageError,
    NotFoundError,
    StoreUnavailableError,
    ValidationError,
    error_class,
)
from ...events import NewEvent, StoredEvent
from ...ledger import VerifyReport
from ...model import Artifact, ArtifactKind, Digest, NamedVersion, NodeRef, Run
from ...render import artifact_from_dict, run_from_dict
from ..projections.runs import fold_runs
from ..protocol import AdjacentEdge, Capabilities, Direction, GraphColumns
from .spool import Spool, default_spool_dir, flock, groups, wire

if TYPE_CHECKING:
    from .queries import RemoteQueryService

log = logging.getLogger("mlineage.remote")

BATCH = 500


class RemoteStore:
    """The server as a MetadataStore (see the module docstring)."""

    capabilities = Capabilities(graph_access=False)

    def __init__(self, uri: str, *, token: str | None = None, spool_dir: str | Path | None = None,
                 autoship: bool = True, batch: int = BATCH, timeout: float = 30.0, wait: bool = True) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - the extra is missing
            raise ConfigError(
                "talking to an mlineage server needs httpx: pip install 'mlineage[server]'"
            ) from None
        self.uri = uri.rstrip("/")
        self.base = self.uri if self.uri.endswith("/api/v1") else self.uri + "/api/v1"
        token = token if token is not None else os.environ.get("MLINEAGE_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base, headers=headers, timeout=timeout)
        self._httpx = httpx
        self.spool = Spool(Path(spool_dir) if spool_dir else default_spool_dir(self.uri))
        self.autoship = autoship
        self.wait = wait  # False: the server queues batches and projects them asynchronously
        self.batch = batch
        self._local_artifacts: dict[str, dict[str, Any]] = {}
        self._local_runs: dict[str, Run] = {}  # folded by the runs projection's own pure fold
        self._acked: dict[
            str, dict[str, Any]
        ] = {}  # event id -> the server's answer for it, until append reads it
        self._ship_lock = threading.Lock()
        self._warned = False
        self._rejected_here: list[
            str
        ] = []  # why the server refused events of this process (reported at exit)
        self._reported = False
        self._queries: RemoteQueryService | None = None
        atexit.register(_report_at_exit, weakref.ref(self))

    # ------------------------------------------------------------------ HTTP

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call to the API; a 4xx/5xx is raised as the exception class the server named."""
        try:
            response = self._http.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise StoreUnavailableError(f"mlineage server {self.uri} is unreachable: {exc}") from None
        if response.status_code >= 400:
            raise error_from(response)
        return response.json()

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    # ------------------------------------------------------------------ writing

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Spool the events and try to ship them. Returns the events the server stored during this call
        (with its seq and hash); events still in the spool (server down, or queued with ``wait=False``)
        are not in the list yet, and ids the server already had are not either."""
        from ...pipeline import checked as pipeline_checked

        checked = list(pipeline_checked(events))  # a prepared batch was validated once already
        if not checked:
            return []
        self.spool.write(checked)
        for e in checked:
            if e.type == ev.ARTIFACT_RECORDED:
                self._local_artifacts[e.payload["digest"]] = dict(e.payload, _ts=e.ts)
        fold_runs(((e.type, e.payload) for e in checked), self._local_runs)
        refused: list[MlineageError] = []
        if self.autoship or self.spool.pending_bytes() > 0 and self.spool.pending() >= self.batch:
            self.flush(quiet=True, waiting=(checked[0].id, refused))
        if refused:
            raise refused[0]
        stored = []
        for e in checked:
            ack = self._acked.pop(e.id, None)
            if ack is not None:
                stored.append(StoredEvent(int(ack["seq"]), e.id, e.type, e.v, ack.get("ts", e.ts),
                                          ack.get("actor", e.actor), e.payload, ack.get("payload_sha256", ""),
                                          ack.get("prev_hash", ""), str(ack["hash"])))
        return stored

    def flush(self, quiet: bool = False,
              waiting: tuple[str, list[MlineageError]] | None = None) -> dict[str, int]:
        """Ship the spool in batches until it is empty or the server cannot take more now. Returns counts.

        A batch the server refuses (a 4xx other than 401/408/429) is retried one append at a time (the events
        one ``append`` call wrote are taken or refused together, as a local store does); the events of an
        append it refuses go to ``rejected.jsonl`` with the reason, the rest are shipped. Unreachable server,
        5xx, 401 (a bad token: fix it, nothing is dropped), 408 and 429 leave the spool as it is.

        ``waiting``: (the first event id of an append, a list): the server's refusal of that append's events
        goes into the list for the caller to raise, instead of ``rejected.jsonl``."""
        shipped = rejected = 0
        with self._ship_lock, flock(self.spool.folder / "ship.lock", blocking=True):
            try:
                while True:
                    start = self.spool.offset()
                    batch, end = self.spool.read_batch(start, self.batch)
                    if not batch:
                        if end > start:
                            self.spool.acknowledge(end)
                        break
                    status, message, _refused = self._post(
                        "/events/batch", {"events": [wire(i) for i in batch]},
                        None if self.wait else {"wait": "false"})
                    if status < 300:
                        shipped += len(batch)
                    elif _retry_later(status):
                        raise StoreUnavailableError(
                            f"mlineage server {self.uri} answered {status}: {message}"
                        )
                    else:
                        ok, bad = self._ship_by_append(batch, waiting)
                        shipped += ok
                        rejected += bad
                    self.spool.acknowledge(end)
            except StoreUnavailableError as exc:
                if not quiet:
                    raise
                if not self._warned:
                    log.warning(
                        "%s; events stay in the spool %s (run `mlineage sync` later)", exc, self.spool.path
                    )
                    self._warned = True
        return {"shipped": shipped, "rejected": rejected, "pending": self.spool.pending()}

    @property
    def rejected_here(self) -> int:
        """Events of this process the server refused (they are in ``spool.rejected_path``)."""
        return len(self._rejected_here)

    def report(self, stream: TextIO) -> None:
        """Say, once, what did not reach the server: refused events (loudly) and events still spooled."""
        if self._reported:
            return
        self._reported = True
        if self._rejected_here:
            stream.write(
                f"mlineage: ERROR: the server {self.uri} refused {len(self._rejected_here)} event(s) of "
                f"this script; they are NOT recorded there (kept in {self.spool.rejected_path}).\n"
                f"mlineage: first refusal: {self._rejected_here[0]}\n"
            )
        pending = self.spool.pending()
        if pending:
            stream.write(f"mlineage: {pending} event(s) wait in the spool {self.spool.path}: "
                         "run `mlineage sync` once the server is reachable\n")

    def _post(self, path: str, body: Any, params: dict[str, str] | None = None
              ) -> tuple[int, str, MlineageError | None]:
        try:
            response = self._http.post(path, json=body, params=params)
        except self._httpx.TransportError as exc:
            raise StoreUnavailableError(f"mlineage server {self.uri} is unreachable: {exc}") from None
        if response.status_code < 300:
            if response.status_code == 200:
                if len(self._acked) > 100_000:  # acks of events another process spooled: nobody reads them
                    self._acked.clear()
                for item in response.json().get("events") or ():
                    self._acked[str(item["id"])] = item
            return response.status_code, "", None
        refused = error_from(response)
        return response.status_code, f"{type(refused).__name__}: {refused}", refused

    def _ship_by_append(self, batch: list[dict[str, Any]], waiting: tuple[str, list[MlineageError]] | None
                        ) -> tuple[int, int]:
        """A refused batch: find the appends the server refuses (each is all or nothing on the server); keep
        their events in rejected.jsonl (or hand the waiting caller its refusal), ship the rest."""
        ok = bad = 0
        for group in groups(batch):
            status, message, refused = self._post("/events/batch", {"events": [wire(i) for i in group]})
            if status < 300:
                ok += len(group)
                continue
            if _retry_later(status):
                raise StoreUnavailableError(f"mlineage server {self.uri} answered {status}: {message}")
            bad += len(group)
            if waiting is not None and group[0].get("id") == waiting[0] and refused is not None:
                waiting[1].append(refused)  # the append that wrote them raises it: they are the caller's
                continue
            for item in group:
                self.spool.reject(wire(item), f"HTTP {status}: {message}")
                self._rejected_here.append(
                    f"event {item.get('type')} {item.get('id')}: HTTP {status}: {message}"
                )
            log.warning("the server refused %s: %s (kept in %s)",
                        f"event {group[0].get('id')}" if len(group) == 1 else
                        f"{len(group)} events written together (first {group[0].get('id')})",
                        message, self.spool.rejected_path)
        return ok, bad

    # ------------------------------------------------------------------ the ledger

    def head(self) -> tuple[int, str]:
        body = self._get("/head")
        return int(body["seq"]), str(body["hash"])

    def iter_events(self, after_seq: int = 0, batch: int = 5000) -> Iterator[StoredEvent]:
        last = after_seq
        while True:
            found = self._get("/events", after_seq=last, limit=min(batch, 5000))["events"]
            if not found:
                return
            for e in found:
                yield StoredEvent(**e)
            last = found[-1]["seq"]

    def verify(self) -> VerifyReport:
        return VerifyReport(**self._get("/verify"))

    def rebuild(self, upto_seq: int | None = None) -> int:
        """The server verifies its ledger before it rebuilds (and refuses a broken one); ``upto_seq`` is not
        offered over HTTP."""
        if upto_seq is not None:
            raise ConfigError(
                "a partial rebuild runs on the server's own machine: `mlineage rebuild --allow-broken` there"
            )
        return int(self.request("POST", "/rebuild")["replayed"])

    # ------------------------------------------------------------------ projections

    def _or_local(self, fn: Any, key: str, local: dict[str, Any], make: Any) -> Any:
        try:
            return fn()
        except NotFoundError:
            return make(local[key]) if key in local else None
        except StoreUnavailableError:
            if key in local:
                return make(local[key])
            raise

    def get_artifact(self, digest: str) -> Artifact | None:
        found: Artifact | None = self._or_local(lambda: artifact_from_dict(self._get(f"/artifacts/{digest}")),
                                                digest, self._local_artifacts, _local_artifact)
        return found

    def has_children(self, digest: str) -> bool:
        """Whether anything used or derived from the artifact; unreachable server: yes (the safe answer —
        a run then writes what it produces at once rather than buffering it)."""
        try:
            return bool(self._get(f"/artifacts/{digest}/has-children")["has_children"])
        except StoreUnavailableError:
            return True

    def get_run(self, run_id: str) -> Run | None:
        """The run with exactly this id (the server also answers a unique prefix: that is not this)."""
        try:
            found: Run | None = self._or_local(lambda: run_from_dict(self._get(f"/runs/{run_id}")), run_id,
                                               self._local_runs, _same)
        except AmbiguousRefError:
            return None
        return found if found is not None and found.id == run_id else None

    def find_artifacts(self, digest_prefix: str, limit: int = 50) -> list[Artifact]:
        return [artifact_from_dict(a)
                for a in self._get("/artifacts", prefix=digest_prefix, limit=limit)["artifacts"]]

    def find_runs(self, id_prefix: str, limit: int = 50) -> list[Run]:
        if not id_prefix:
            return self.list_runs(limit)
        return [run_from_dict(r) for r in self._get("/runs", prefix=id_prefix, limit=limit)["runs"]]

    def find_names(self, prefix: str, limit: int = 50) -> list[str]:
        return [str(n) for n in self._get("/names", prefix=prefix, limit=limit)["names"]]

    def get_version(self, name: str, version: int | None = None) -> Artifact | None:
        try:
            return artifact_from_dict(self._get(f"/versions/{name}", version=version))
        except NotFoundError:
            return None

    def list_runs(self, limit: int = 50, job: str | None = None, status: str | None = None) -> list[Run]:
        return [run_from_dict(r) for r in self._get("/runs", limit=limit, job=job, status=status)["runs"]]

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, str]]:
        rows = self._get(f"/runs/{run_id}/metrics/{key}")["history"]
        return [(int(r["step"]), float(r["value"]), str(r["ts"])) for r in rows]

    def io_of_run(self, run_id: str) -> tuple[list[tuple[Artifact, str]], list[tuple[Artifact, str]]]:
        body = self._get(f"/runs/{run_id}/io")
        return ([(artifact_from_dict(a), a.get("role") or "") for a in body["inputs"]],
                [(artifact_from_dict(a), a.get("role") or "") for a in body["outputs"]])

    def producers_of(self, digest: str) -> list[Run]:
        return [run_from_dict(r) for r in self._get(f"/artifacts/{digest}/producers")["runs"]]

    def last_seen(self, run_id: str) -> str | None:
        try:
            found: str | None = self._get(f"/runs/{run_id}/last-seen")["last_seen"]
        except NotFoundError:
            return None
        return found

    def consumers_of(self, digest: str) -> list[Run]:
        return [run_from_dict(r) for r in self._get(f"/artifacts/{digest}/consumers")["runs"]]

    def list_versions(self, name: str) -> list[NamedVersion]:
        return [
            NamedVersion(artifact_from_dict(v["artifact"]), int(v["seq"]), v["recorded_at"], v.get("actor"))
            for v in self._get(f"/names/{name}/versions")["versions"]
        ]

    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._get("/counts").items()}

    # ------------------------------------------------------------------ queries: on the server, whole

    def query_service(self) -> RemoteQueryService:
        if self._queries is None:
            from .queries import RemoteQueryService

            self._queries = RemoteQueryService(self)
        return self._queries

    # graph access is the server's (capabilities.graph_access is False): these say so rather than half-work

    def _no_graph_access(self) -> NoReturn:
        raise ConfigError(f"{self.uri} answers lineage queries whole, not graph primitives: "
                          "use Client.lineage/path/closure/lineage_diff (they run on the server)")

    def node_id(self, ref: NodeRef, *, newest: bool = False, as_of_seq: int | None = None) -> int | None:
        self._no_graph_access()

    def adjacent(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                 ) -> list[AdjacentEdge]:
        self._no_graph_access()

    def describe(self, node_ids: Sequence[int]) -> dict[int, Artifact | Run]:
        self._no_graph_access()

    def graph_columns(self, after_seq: int, upto_seq: int) -> GraphColumns:
        self._no_graph_access()

    def graph_state(self, node_key: str | None) -> tuple[int, int | None]:
        self._no_graph_access()

    def graph_head(self, node_key: str | None) -> tuple[int, int | None]:
        self._no_graph_access()

    def edge_count_estimate(self) -> int:
        self._no_graph_access()

    def node_created_seq(self, node_id: int) -> int | None:
        self._no_graph_access()

    def seq_at(self, ts: str) -> int:
        self._no_graph_access()

    def reachable(self, node_id: int, direction: Direction, as_of_seq: int | None = None,
                  cap: int | None = None) -> list[int]:
        self._no_graph_access()

    def node_records(
        self, node_ids: Sequence[int], as_of_seq: int | None = None
    ) -> dict[int, Artifact | Run]:
        self._no_graph_access()

    def edges_among(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                    ) -> list[tuple[int, int, str, str]]:
        self._no_graph_access()

    def close(self) -> None:
        try:
            self.flush(quiet=True)
        finally:
            self._http.close()
        if self._rejected_here:
            self.report(sys.stderr)


def _report_at_exit(ref: weakref.ref[RemoteStore]) -> None:
    """At interpreter exit: ship what is left and say what did not make it (a script never ends silently)."""
    store = ref()
    if store is None or store._http.is_closed:
        return
    with contextlib.suppress(Exception):
        store.flush(quiet=True)
    with contextlib.suppress(Exception):
        store.report(sys.stderr)


# ---------------------------------------------------------------------- wire → exceptions


class RemoteError(MlineageError):
    """A server answer with no class of the hierarchy behind it (a 5xx, a proxy's error page)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def _retry_later(status: int) -> bool:
    return status >= 500 or status in (401, 408, 429)


def error_from(response: Any) -> MlineageError:
    """The exception the server raised, rebuilt from its ``{"error": {"type", "message", ...}}`` answer."""
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    message = body.get("message") or f"HTTP {response.status_code}: {response.text[:200]}"
    cls = error_class(str(body.get("type") or ""))
    if cls is None:
        if response.status_code == 404:
            return NotFoundError(message)
        return RemoteError(response.status_code, message)
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    if isinstance(exc, ValidationError):
        exc.field, exc.problem, exc.fix = str(body.get("field") or ""), message, ""
    detail = body.get("detail") or {}
    if "candidates" in detail:
        exc.ref, exc.candidates = detail.get("ref"), list(detail["candidates"])  # type: ignore[attr-defined]
    return exc


def _local_artifact(p: dict[str, Any]) -> Artifact:
    return Artifact(Digest.parse(p["digest"]), ArtifactKind(p["kind"]), p.get("size"), p.get("name"), None,
                    p.get("media_type"), p.get("uri"), p.get("metadata") or {}, p.get("_ts"))


def _same(run: Run) -> Run:
    return run
