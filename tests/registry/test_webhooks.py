"""Webhooks on both metadata backends, delivered by the appending process to a receiver on loopback: a signed
JSON body per alias move, approval change, incident and erasure event, a retry with backoff after a 5xx, no
retry after a 4xx, and a delivery log with a row per attempt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlineage.config import init_project
from mlineage.errors import ConfigError
from mlineage.sdk.client import Client
from mlineage.webhooks import (
    SIGNATURE_HEADER,
    Notifier,
    parse_hooks,
    project_notifier,
    read_log,
    verify_signature,
)

from .receiver import Receiver

SECRET = "s3cret"


def test_registry_events_are_signed_retried_and_logged(client: Client, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    init_project(root)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    with Receiver(statuses=[503, 500]) as rx, Receiver(statuses=[404]) as gone:
        (root / ".mlineage" / "config.toml").write_text(
            f'[[webhooks]]\nurl = "{rx.url}"\nsecret_env = "HOOK_SECRET"\nbackoff_s = 0.01\n\n'
            f'[[webhooks]]\nurl = "{gone.url}"\nsecret = "other"\ntopics = ["incident"]\n')
        notifier = project_notifier(root)
        assert notifier is not None and len(notifier.hooks) == 2
        waits: list[float] = []
        notifier.sleep = waits.append
        client.webhooks = notifier
        (tmp_path / "m.bin").write_text("w\n")
        client.register_model(str(tmp_path / "m.bin"), "hooked")  # ModelRegistered: no topic, no delivery
        client.set_alias("hooked", "production", "@1", reason="first")
        client.set_approval("hooked@1", "approved")
        opened = client.open_incident("hooked@1", reason="bad")
        client.close_incident(opened["id"], "fine")

    assert [e["type"] for e in rx.events()] == ["AliasSet", "AliasSet", "AliasSet", "ModelApprovalChanged",
                                                "IncidentOpened", "IncidentClosed"]  # two 5xx, then retried
    assert waits == [0.01, 0.02]  # exponential backoff
    for body, headers in rx.received:
        assert verify_signature(SECRET.encode(), body, headers[SIGNATURE_HEADER])
        assert not verify_signature(b"wrong", body, headers[SIGNATURE_HEADER])
    first = json.loads(rx.received[-1][0])
    assert first["topic"] == "incident" and first["event"]["payload"]["incident_id"] == opened["id"]
    assert [e["type"] for e in gone.events()] == ["IncidentOpened", "IncidentClosed"]  # 404: not retried

    log = read_log(root / ".mlineage" / "webhooks.log")
    alias_rows = [r for r in log if r["type"] == "AliasSet"]
    assert [(r["attempt"], r["status"], r["ok"], r["final"]) for r in alias_rows] == [
        (1, 503, False, False), (2, 500, False, False), (3, 200, True, True)]
    gone_rows = [r for r in log if r["url"] == gone.url]
    assert [(r["status"], r["ok"], r["final"]) for r in gone_rows] == [(404, False, True), (200, True, True)]


def test_an_unreachable_receiver_is_logged_and_does_not_fail_the_append(client: Client, tmp_path: Path
                                                                         ) -> None:
    with Receiver() as rx:
        url = rx.url
    hooks = parse_hooks([{"url": url, "secret": "k", "max_attempts": 2, "backoff_s": 0}], "test")
    client.webhooks = Notifier(hooks, tmp_path / "log.jsonl")
    (tmp_path / "m.bin").write_text("w\n")
    client.register_model(str(tmp_path / "m.bin"), "lonely")
    assert client.set_alias("lonely", "production", "@1")["to"] == 1
    rows = read_log(tmp_path / "log.jsonl")
    assert [(r["attempt"], r["status"], r["ok"]) for r in rows] == [(1, None, False), (2, None, False)]
    assert rows[0]["error"]


def test_bad_configuration_is_named() -> None:
    with pytest.raises(ConfigError, match="needs url"):
        parse_hooks([{"url": "ftp://x"}], "config.toml")
    with pytest.raises(ConfigError, match="needs secret_env"):
        parse_hooks([{"url": "http://x"}], "config.toml")
    with pytest.raises(ConfigError, match="unknown topic"):
        parse_hooks([{"url": "http://x", "secret": "k", "topics": ["runs"]}], "config.toml")
