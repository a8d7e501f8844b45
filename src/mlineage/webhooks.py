"""Webhooks: alias moves, approval changes, incidents and erasures notify configured URLs.

Each delivery is one POST of a JSON body ``{"topic", "delivery_id", "event": {seq, id, type, ts, actor,
payload}}`` signed with HMAC-SHA256 over the exact body bytes (``X-Mlineage-Signature: sha256=<hex>``),
retried
with exponential backoff on a connection error, a timeout, a 5xx or a 429 (another 4xx is final), and every
attempt is a line in the delivery log (JSON lines: url, event seq and type, attempt, HTTP status or error,
time, whether it was delivered).

Who delivers: the process that appended the event. An embedded store's Client delivers before its append
call returns (so a CLI command has delivered when it exits); a team server delivers its appends on a
background thread, so a request never waits for a receiver. The configuration is a ``[[webhooks]]`` array in
the project's ``.mlineage/config.toml`` (embedded) or in the TOML file ``MLINEAGE_WEBHOOKS`` names (the
server; docs/registry.md)::

    [[webhooks]]
    url = "https://hooks.example.com/mlineage"
    secret_env = "MLINEAGE_WEBHOOK_SECRET"   # or secret = "..."; the HMAC key
    topics = ["alias", "approval", "incident", "erasure"]   # the default: all four
    max_attempts = 4                          # the default
    backoff_s = 0.5                           # the first wait; doubles each retry
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .events import StoredEvent, utc_now

if TYPE_CHECKING:
    import queue

TOPICS: dict[str, str] = {
    "AliasSet": "alias", "AliasRemoved": "alias",
    "ModelApprovalChanged": "approval",
    "IncidentOpened": "incident", "IncidentClosed": "incident",
    "ErasureRequested": "erasure", "ErasureDecided": "erasure", "ErasureClosed": "erasure",
}
ALL_TOPICS = frozenset(TOPICS.values())
SIGNATURE_HEADER = "X-Mlineage-Signature"


@dataclass(frozen=True)
class Hook:
    url: str
    secret: bytes
    topics: frozenset[str] = ALL_TOPICS
    max_attempts: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 5.0


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a receiver runs: constant-time comparison of the header with the body's signature."""
    import hmac

    return header is not None and hmac.compare_digest(sign(secret, body), header)


def parse_hooks(tables: Any, where: str) -> list[Hook]:
    """The ``[[webhooks]]`` array of a config file; ConfigError naming the problem otherwise."""
    if tables is None:
        return []
    if not isinstance(tables, list):
        raise ConfigError(f"{where}: webhooks must be an array of tables ([[webhooks]])")
    hooks = []
    for number, t in enumerate(tables, 1):
        if not isinstance(t, dict) or not isinstance(t.get("url"), str) or \
                not t["url"].startswith(("http://", "https://")):
            raise ConfigError(f"{where}: webhook {number} needs url = \"http(s)://...\"")
        secret = t.get("secret")
        if secret is None and t.get("secret_env"):
            secret = os.environ.get(str(t["secret_env"]))
            if secret is None:
                raise ConfigError(f"{where}: webhook {number}'s secret_env {t['secret_env']} is not set")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where}: webhook {number} needs secret_env (or secret): the HMAC key")
        topics = frozenset(t.get("topics") or ALL_TOPICS)
        if not topics <= ALL_TOPICS:
            raise ConfigError(f"{where}: webhook {number}: unknown topic(s) {sorted(topics - ALL_TOPICS)}; "
                              f"known: {sorted(ALL_TOPICS)}")
        hooks.append(Hook(t["url"], secret.encode(), topics, int(t.get("max_attempts", 4)),
                          float(t.get("backoff_s", 0.5)), float(t.get("timeout_s", 5.0))))
    return hooks


def _post(hook: Hook, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(hook.url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=hook.timeout_s) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return int(exc.code), None
    except urllib.error.URLError as exc:  # the cause (refused, unknown host, timeout) says more
        cause = exc.reason
        return None, f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(cause)
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


class Notifier:
    """Delivers the events of the configured topics to the configured hooks and logs every attempt."""

    def __init__(self, hooks: Sequence[Hook], log_path: Path, *, background: bool = False,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        import queue
        import threading

        self.hooks, self.log_path, self.sleep = list(hooks), log_path, sleep
        self._lock = threading.Lock()
        self._queue: queue.Queue[StoredEvent | None] | None = None
        if background and self.hooks:
            self._queue = queue.Queue()
            threading.Thread(target=self._work, name="mlineage-webhooks", daemon=True).start()

    def notify(self, stored: Sequence[StoredEvent]) -> None:
        """Deliver ``stored``'s events of a hooked topic (now, or on the background thread)."""
        for event in stored:
            if event.type not in TOPICS or not self.hooks:
                continue
            if self._queue is not None:
                self._queue.put(event)
            else:
                self.deliver(event)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until the background thread has delivered what was queued (tests, shutdown)."""
        if self._queue is None:
            return
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _work(self) -> None:
        assert self._queue is not None
        while True:
            event = self._queue.get()
            try:
                if event is not None:
                    self.deliver(event)
            finally:
                self._queue.task_done()

    def deliver(self, event: StoredEvent) -> None:
        topic = TOPICS[event.type]
        for hook in self.hooks:
            if topic in hook.topics:
                self._deliver_one(hook, topic, event)

    def _deliver_one(self, hook: Hook, topic: str, event: StoredEvent) -> bool:
        import uuid

        delivery = uuid.uuid4().hex
        body = json.dumps({"topic": topic, "delivery_id": delivery, "event": {
            "seq": event.seq, "id": event.id, "type": event.type, "ts": event.ts, "actor": event.actor,
            "payload": event.payload}}, sort_keys=True, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, body),
                   "X-Mlineage-Event": event.type, "X-Mlineage-Delivery": delivery,
                   "User-Agent": "mlineage-webhooks"}
        for attempt in range(1, hook.max_attempts + 1):
            status, error = _post(hook, body, headers)
            ok = status is not None and 200 <= status < 300
            final = ok or attempt == hook.max_attempts or (status is not None and 400 <= status < 500
                                                           and status != 429)
            self._log({"delivery_id": delivery, "url": hook.url, "topic": topic, "seq": event.seq,
                       "type": event.type, "attempt": attempt, "status": status, "error": error, "ok": ok,
                       "final": final, "ts": utc_now()})
            if final:
                return ok
            self.sleep(hook.backoff_s * 2 ** (attempt - 1))
        return False

    def _log(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, sort_keys=True) + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    """The delivery log's rows, oldest first ([] when nothing was delivered yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


LOG_FILE = "webhooks.log"
SERVER_ENV = "MLINEAGE_WEBHOOKS"


def project_notifier(project_root: Path | None) -> Notifier | None:
    """The project's hooks (``.mlineage/config.toml``), logging to ``.mlineage/webhooks.log``; None when it
    configures none."""
    from .config import PROJECT_DIR, read_config

    if project_root is None:
        return None
    where = f"{project_root / PROJECT_DIR}/config.toml"
    hooks = parse_hooks(read_config(project_root).get("webhooks"), where)
    return Notifier(hooks, project_root / PROJECT_DIR / LOG_FILE) if hooks else None


def server_notifier() -> Notifier | None:
    """The server's hooks: the TOML file ``MLINEAGE_WEBHOOKS`` names, logging beside it
    (``<file>.deliveries.jsonl``), delivered on a background thread."""
    import tomllib

    path = os.environ.get(SERVER_ENV)
    if not path:
        return None
    try:
        config = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{SERVER_ENV}={path}: {exc}") from None
    hooks = parse_hooks(config.get("webhooks"), path)
    return Notifier(hooks, Path(path + ".deliveries.jsonl"), background=True) if hooks else None
