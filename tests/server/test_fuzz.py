"""A bounded property-based fuzz run of the HTTP API (schemathesis, driven by the server's own OpenAPI spec).

Whatever hypothesis sends — valid or not — the server answers with a status below 500, and every 4xx is a JSON
error naming the problem. The run is bounded by example count, not by time.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

from .conftest import ServerProcess

MAX_EXAMPLES = 8


def test_fuzz_every_operation(server: ServerProcess, admin: httpx.Client) -> None:
    import schemathesis

    if server.store_uri.startswith("postgresql"):
        import pytest

        pytest.skip("fuzzing once (on SQLite) keeps the suite short; the handlers are backend-independent")
    token = admin.headers["Authorization"]
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures: list[str] = []
    for operation in operations:
        if operation.path in ("/api/v1/rebuild",):
            continue  # rebuild replays the whole ledger: correct, but slow to repeat under fuzzing

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=server.url, headers={"Authorization": token}, timeout=60)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                )
            elif response.status_code >= 400 and case.method.upper() != "HEAD":  # HEAD answers carry no body
                body = response.json()
                assert body["error"]["message"], body

        check()
    assert not failures, "\n".join(failures[:20])
