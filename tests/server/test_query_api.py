"""The query endpoints over raw HTTP: errors name their class, and a ref is never read as a file on the
server."""

from __future__ import annotations

import uuid

import httpx

from .conftest import ServerProcess


def test_errors_name_their_class_and_carry_what_the_client_needs(
    server: ServerProcess, admin: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    events = [{"type": "RunStarted", "payload": {"run_id": f"q{tag}-{i}", "job": "j", "kind": "other"}}
              for i in (1, 2)]
    assert admin.post("/events/batch", json={"events": events}).status_code == 200
    ambiguous = admin.post("/query/lineage", json={"ref": f"run:q{tag}"})
    assert ambiguous.status_code == 409
    error = ambiguous.json()["error"]
    assert error["type"] == "AmbiguousRefError" and len(error["detail"]["candidates"]) == 2
    missing = admin.post("/query/closure", json={"ref": f"nothing-{tag}@1"})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFoundError"
    bad = admin.post("/query/path", json={"source": f"run:q{tag}-1", "target": f"run:q{tag}-2",
                                             "as_of": "not a time"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "ValidationError"
    assert admin.get("/graph/state").status_code == 404  # the storage primitives are not on the wire


def test_a_ref_is_never_a_file_on_the_servers_disk(server: ServerProcess, admin: httpx.Client) -> None:
    for ask in (lambda: admin.get("/trace", params={"ref": "/etc/hostname"}),
                lambda: admin.post("/query/lineage", json={"ref": "/etc/hostname"})):
        answer = ask()
        assert answer.status_code == 404
        assert "is a file" not in answer.json()["error"]["message"]
