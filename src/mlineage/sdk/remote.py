"""``MLINEAGE_URI=http(s)://server``: a MetadataStore that speaks the server's HTTP API, with a durable spool.

Writes never wait on the network to be safe: ``append`` validates the events (the same pure checks the
server runs), appends them as JSON lines to a local spool file and fsyncs it, then tries to ship what the
spool holds in batches. If the server is down, tracking goes on; the spool drains on the next append, on
``close``, or with ``mlineage sync``. Every event carries its UUID and the server skips ids it already has,
so a batch retried after a timeout never duplicates anything.

Spool layout (one folder per server URL): ``events.jsonl`` (append-only, one event per line), ``offset``
(bytes of events.jsonl already acknowledged, replaced atomically), ``rejected.jsonl`` (events the server
refused with a 4xx, with its error: kept, never silently dropped) and ``lock`` files. Once everything is
shipped the spool is compacted: the offset is reset to 0 *before* the file is truncated, so a crash in
between only re-ships acknowledged events, which the server ignores.

Reads are plain HTTP calls. While the server is unreachable, reads of artifacts and runs this process wrote
are answered from what it spooled (read-your-writes), so ``with mlineage.run()`` keeps working offline.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .. import events as ev
from ..errors import ConfigError, MlineageError, NotFoundError, StoreUnavailableError, ValidationError
from ..events import NewEvent, StoredEvent, validate
from ..ledger import VerifyReport
from ..model import Artifact, ArtifactKind, Digest, NodeRef, Run, RunKind, RunStatus
from ..stores.protocol import AdjacentEdge, Direction

log = logging.getLogger("mlineage.remote")

BATCH = 500
COMPACT_BYTES = 1 << 20


def _event_line(e: NewEvent) -> bytes:
    return (json.dumps({"id": e.id, "type": e.type, "payload": e.payload, "ts": e.ts, "actor": e.actor, "v": e.v},
                       ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def default_spool_dir(url: str) -> Path:
    configured = os.environ.get("MLINEAGE_SPOOL")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
        "mlineage" / "spool"
    return base / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


@contextlib.contextmanager
def _flock(path: Path, blocking: bool = True) -> Iterator[bool]:
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Spool:
    """An append-only, fsynced file of events not yet acknowledged by the server (multi-process safe)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "events.jsonl"
        self.offset_path = folder / "offset"
        self.rejected_path = folder / "rejected.jsonl"
        self.path.touch(exist_ok=True)

    def write(self, events: Sequence[NewEvent]) -> None:
        data = b"".join(_event_line(e) for e in events)
        with _flock(self.folder / "append.lock"):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def offset(self) -> int:
        try:
            value = int(self.offset_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        return value if value <= self.path.stat().st_size else 0

    def _set_offset(self, value: int) -> None:
        temp = self.offset_path.with_suffix(".tmp")
        with open(temp, "w") as handle:
            handle.write(str(value))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.offset_path)

    def pending_bytes(self) -> int:
        return self.path.stat().st_size - self.offset()

    def pending(self) -> int:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset())
            return sum(1 for line in handle if line.endswith(b"\n"))

    def read_batch(self, start: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` complete lines from byte ``start``; returns them and the offset after them."""
        out: list[dict[str, Any]] = []
        end = start
        with open(self.path, "rb") as handle:
            handle.seek(start)
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a write still in progress (or torn by a crash): not shipped yet
                end += len(line)
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    self.reject({"line": line.decode("utf-8", "replace")}, "unreadable spool line")
                if len(out) >= limit:
                    break
        return out, end

    def reject(self, event: dict[str, Any], error: str) -> None:
        with open(self.rejected_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "error": error}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def acknowledge(self, offset: int) -> None:
        self._set_offset(offset)
        if offset >= COMPACT_BYTES:
            with _flock(self.folder / "append.lock"):
                if self.path.stat().st_size == offset:
                    self._set_offset(0)
                    os.truncate(self.path, 0)


class RemoteStore:
    """The server as a MetadataStore (see the module docstring)."""

    def __init__(self, uri: str, *, token: str | None = None, spool_dir: str | Path | None = None,
                 autoship: bool = True, batch: int = BATCH, timeout: float = 30.0, wait: bool = True) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - the extra is missing
            raise ConfigError("talking to an mlineage server needs httpx: pip install 'mlineage[server]'") from None
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
        self._local_runs: dict[str, dict[str, Any]] = {}
        self._ship_lock = threading.Lock()
        self._warned = False

    # ------------------------------------------------------------------ HTTP

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise StoreUnavailableError(f"mlineage server {self.uri} is unreachable: {exc}") from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response.json()

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None})

    # ------------------------------------------------------------------ writing

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        checked = [validate(e) for e in events]
        if not checked:
            return []
        self.spool.write(checked)
        for e in checked:
            if e.type == ev.ARTIFACT_RECORDED:
                self._local_artifacts[e.payload["digest"]] = dict(e.payload, _ts=e.ts)
            elif e.type == ev.RUN_STARTED:
                self._local_runs[e.payload["run_id"]] = dict(e.payload)
            elif e.type == ev.RUN_ENDED and e.payload["run_id"] in self._local_runs:
                self._local_runs[e.payload["run_id"]].update(status=e.payload["status"],
                                                             ended_at=e.payload["ended_at"])
        if self.autoship or self.spool.pending_bytes() > 0 and self.spool.pending() >= self.batch:
            self.flush(quiet=True)
        return []  # acknowledged asynchronously: the seq and hash are the server's to assign

    def flush(self, quiet: bool = False) -> dict[str, int]:
        """Ship the spool in batches until it is empty or the server cannot take more now. Returns counts.

        A batch the server refuses (a 4xx other than 401/408/429) is retried one event at a time; events it
        still refuses go to ``rejected.jsonl`` with the reason, the rest are shipped. Unreachable server, 5xx,
        401 (a bad token: fix it, nothing is dropped), 408 and 429 leave the spool as it is."""
        shipped = rejected = 0
        with self._ship_lock, _flock(self.spool.folder / "ship.lock", blocking=True):
            try:
                while True:
                    start = self.spool.offset()
                    batch, end = self.spool.read_batch(start, self.batch)
                    if not batch:
                        if end > start:
                            self.spool.acknowledge(end)
                        break
                    status, message = self._post("/events/batch", {"events": batch},
                                                 None if self.wait else {"wait": "false"})
                    if status < 300:
                        shipped += len(batch)
                    elif _retry_later(status):
                        raise StoreUnavailableError(f"mlineage server {self.uri} answered {status}: {message}")
                    else:
                        ok, bad = self._ship_one_by_one(batch)
                        shipped += ok
                        rejected += bad
                    self.spool.acknowledge(end)
            except StoreUnavailableError as exc:
                if not quiet:
                    raise
                if not self._warned:
                    log.warning("%s; events stay in the spool %s (run `mlineage sync` later)", exc, self.spool.path)
                    self._warned = True
        return {"shipped": shipped, "rejected": rejected, "pending": self.spool.pending()}

    def _post(self, path: str, body: Any, params: dict[str, str] | None = None) -> tuple[int, str]:
        try:
            response = self._http.post(path, json=body, params=params)
        except self._httpx.TransportError as exc:
            raise StoreUnavailableError(f"mlineage server {self.uri} is unreachable: {exc}") from None
        if response.status_code < 300:
            return response.status_code, ""
        return response.status_code, str(_error_from(response))

    def _ship_one_by_one(self, batch: list[dict[str, Any]]) -> tuple[int, int]:
        """A refused batch: find the events the server refuses; keep them in rejected.jsonl, ship the rest."""
        ok = bad = 0
        for item in batch:
            status, message = self._post("/events", item)
            if status < 300:
                ok += 1
            elif _retry_later(status):
                raise StoreUnavailableError(f"mlineage server {self.uri} answered {status}: {message}")
            else:
                self.spool.reject(item, f"HTTP {status}: {message}")
                log.warning("the server refused event %s: %s (kept in %s)", item.get("id"), message,
                            self.spool.rejected_path)
                bad += 1
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
            from ..errors import ConfigError

            raise ConfigError("a partial rebuild runs on the server's own machine: `mlineage rebuild --allow-broken` there")
        return int(self._request("POST", "/rebuild")["replayed"])

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
        found: Artifact | None = self._or_local(lambda: _artifact(self._get(f"/artifacts/{digest}")), digest,
                                                self._local_artifacts, _local_artifact)
        return found

    def has_children(self, digest: str) -> bool:
        """The server has no endpoint for this yes/no; answering yes keeps callers on their safe path (a run
        writes what it produces at once rather than buffering it)."""
        return True

    def get_run(self, run_id: str) -> Run | None:
        found: Run | None = self._or_local(lambda: _run(self._get(f"/runs/{run_id}")), run_id, self._local_runs,
                                           _local_run)
        return found

    def find_artifacts(self, digest_prefix: str, limit: int = 50) -> list[Artifact]:
        return [_artifact(a) for a in self._get("/artifacts", prefix=digest_prefix, limit=limit)["artifacts"]]

    def find_runs(self, id_prefix: str, limit: int = 50) -> list[Run]:
        if not id_prefix:
            return self.list_runs(limit)
        return [_run(r) for r in self._get("/runs", prefix=id_prefix, limit=limit)["runs"]]

    def get_version(self, name: str, version: int | None = None) -> Artifact | None:
        try:
            return _artifact(self._get(f"/versions/{name}", version=version))
        except NotFoundError:
            return None

    def list_runs(self, limit: int = 50, job: str | None = None, status: str | None = None) -> list[Run]:
        return [_run(r) for r in self._get("/runs", limit=limit, job=job, status=status)["runs"]]

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, str]]:
        rows = self._get(f"/runs/{run_id}/metrics/{key}")["history"]
        return [(int(r["step"]), float(r["value"]), str(r["ts"])) for r in rows]

    def io_of_run(self, run_id: str) -> tuple[list[tuple[Artifact, str]], list[tuple[Artifact, str]]]:
        body = self._get(f"/runs/{run_id}/io")
        return ([(_artifact(a), a.get("role") or "") for a in body["inputs"]],
                [(_artifact(a), a.get("role") or "") for a in body["outputs"]])

    def producers_of(self, digest: str) -> list[Run]:
        return [_run(r) for r in self._get(f"/artifacts/{digest}/producers")["runs"]]

    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._get("/counts").items()}

    # ------------------------------------------------------------------ graph access

    def node_id(self, ref: NodeRef) -> int | None:
        value = self._get("/graph/node-id", kind=ref.kind.value, key=ref.key)["node_id"]
        return int(value) if value is not None else None

    def adjacent(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                 ) -> list[AdjacentEdge]:
        body = self._request("POST", "/graph/adjacent",
                             json={"node_ids": list(node_ids), "direction": direction, "as_of_seq": as_of_seq})
        return [AdjacentEdge(int(s), int(t), ty, ro, int(q)) for s, t, ty, ro, q in body["edges"]]

    def describe(self, node_ids: Sequence[int]) -> dict[int, Artifact | Run]:
        body = self._request("POST", "/graph/describe", json={"node_ids": list(node_ids)})
        return {int(k): (_artifact(v) if v.get("type") == "artifact" else _run(v)) for k, v in body["nodes"].items()}

    def graph_columns(self, after_seq: int, upto_seq: int) -> Any:
        from ..stores.protocol import GraphColumns

        body = self._get("/graph/columns", after_seq=after_seq, upto_seq=upto_seq)
        last = body.get("last_node")
        return GraphColumns(body["parent"], body["child"], body["seq"], body["node_ids"], body["node_kinds"],
                            (int(last[0]), str(last[1])) if last else None)

    def graph_state(self, node_key: str | None) -> tuple[int, int | None]:
        body = self._get("/graph/state", node_key=node_key)
        return int(body["head"]), (int(body["node_id"]) if body["node_id"] is not None else None)

    def edge_count_estimate(self) -> int:
        return int(self._get("/graph/edge-count")["estimate"])

    def node_created_seq(self, node_id: int) -> int | None:
        value = self._get(f"/graph/nodes/{node_id}/created-seq")["seq"]
        return int(value) if value is not None else None

    def seq_at(self, ts: str) -> int:
        return int(self._get("/graph/seq-at", ts=ts)["seq"])

    def reachable(self, node_id: int, direction: Direction, as_of_seq: int | None = None,
                  cap: int | None = None) -> list[int]:
        return [int(n) for n in self._get("/graph/reachable", node_id=node_id, direction=direction,
                                          as_of_seq=as_of_seq, cap=cap)["node_ids"]]

    def close(self) -> None:
        try:
            self.flush(quiet=True)
        finally:
            self._http.close()


# ---------------------------------------------------------------------- wire → model


class RemoteError(MlineageError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def _retry_later(status: int) -> bool:
    return status >= 500 or status in (401, 408, 429)


def _error_from(response: Any) -> MlineageError:
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    message = body.get("message") or f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code == 404:
        return NotFoundError(message)
    if response.status_code in (400, 422) and body.get("field"):
        return _Remote400(response.status_code, ValidationError(str(body["field"]), message))
    return RemoteError(response.status_code, message)


class _Remote400(RemoteError, ValidationError):
    def __init__(self, status: int, inner: ValidationError) -> None:
        RemoteError.__init__(self, status, str(inner))
        self.field, self.problem, self.fix = inner.field, inner.problem, inner.fix


def _artifact(d: dict[str, Any]) -> Artifact:
    return Artifact(Digest.parse(d["digest"]), ArtifactKind(d["kind"]), d.get("size"), d.get("name"),
                    d.get("version"), d.get("media_type"), d.get("uri"), d.get("metadata") or {}, d.get("created_at"))


def _run(d: dict[str, Any]) -> Run:
    return Run(d["id"], d["job"], RunKind(d["kind"]), RunStatus(d["status"]), d.get("params") or {},
               d.get("metrics") or {}, d.get("context") or {}, d.get("agent"), d.get("error"), d.get("started_at"),
               d.get("ended_at"))


def _local_artifact(p: dict[str, Any]) -> Artifact:
    return Artifact(Digest.parse(p["digest"]), ArtifactKind(p["kind"]), p.get("size"), p.get("name"), None,
                    p.get("media_type"), p.get("uri"), p.get("metadata") or {}, p.get("_ts"))


def _local_run(p: dict[str, Any]) -> Run:
    return Run(p["run_id"], p["job"], RunKind(p["kind"]), RunStatus(p.get("status", "running")), p.get("params") or {},
               {}, p.get("context") or {}, p.get("agent"), None, p.get("started_at"), p.get("ended_at"))
