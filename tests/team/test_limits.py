"""One size limit for param values, enforced at the call on every backend and by the server alike."""

from __future__ import annotations

import httpx
import pytest

import mlineage
from mlineage import limits
from mlineage.errors import ValidationError
from mlineage.sdk.client import Client

from .conftest import ServerProcess, write_token

BIG = "x" * (limits.DEFAULT_MAX_VALUE_BYTES + 1)


def test_a_param_over_the_limit_is_refused_at_the_call(client: Client) -> None:
    with mlineage.run("train", client=client) as run:
        run.log_param("lr", 0.1)
        with pytest.raises(ValidationError, match="log it as an artifact instead") as caught:
            run.log_param("vocabulary", BIG)
        assert caught.value.field == "params.vocabulary"
        assert "vocabulary" not in run.params
    assert client.store.get_run(run.id).params == {"lr": 0.1}  # the run itself was recorded normally
    with pytest.raises(ValidationError, match="log it as an artifact instead"):
        mlineage.run("train", client=client, params={"vocabulary": BIG})


def test_many_values_in_one_call_are_bounded_too(client: Client) -> None:
    each = "y" * (limits.DEFAULT_MAX_VALUE_BYTES - 100)
    with mlineage.run("train", client=client) as run, pytest.raises(ValidationError, match="in one call"):
        run.log_params({f"p{i}": each for i in range(limits.VALUES_PER_EVENT + 1)})


def test_the_limit_is_one_setting_and_the_server_body_limit_derives_from_it(
        monkeypatch: pytest.MonkeyPatch, client: Client) -> None:
    assert limits.max_body_bytes() == 16 * 1024 * 1024  # the documented default
    monkeypatch.setenv(limits.ENV, "1000")
    assert limits.max_body_bytes() == 1000 * limits.VALUES_PER_EVENT * limits.EVENTS_PER_BODY
    with mlineage.run("train", client=client) as run, pytest.raises(ValidationError, match="1000-byte limit"):
        run.log_param("prompt", "z" * 1000)
    monkeypatch.setenv(limits.ENV, "lots")
    with pytest.raises(mlineage.ConfigError, match=limits.ENV):
        limits.max_value_bytes()


def test_the_server_refuses_the_same_value_with_a_400_not_a_413(server: ServerProcess) -> None:
    token = write_token(server.store_uri)
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as c:
        started = c.post("/events", json={"type": "RunStarted", "payload": {
            "run_id": "a" * 32, "job": "train", "kind": "train", "params": {"vocabulary": BIG}}})
    assert started.status_code == 400, started.text
    assert started.json()["error"]["field"].endswith("params.vocabulary")
    assert "artifact" in started.json()["error"]["message"]
