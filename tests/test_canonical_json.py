"""The fast canonical JSON path must match the RFC 8785 reference implementation byte for byte."""

from __future__ import annotations

import json
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from mlineage.ledger import canonical_json, canonical_json_and_value, envelope, envelope_json

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(),
    st.sampled_from([0.0, -0.0, 1.0, 1e-7, 1e-5, 1e-4, 0.1, 1e15, 1.5e16, 1e20, 1e21, 123456789.125, 5e-324]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                            st.dictionaries(st.text(), inner, max_size=5)),
                           max_leaves=30)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_fast_path_matches_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_value_handed_to_projections_is_what_the_bytes_parse_to(value: Any) -> None:
    canonical, parsed = canonical_json_and_value(value)
    assert parsed == json.loads(canonical)
    assert json.dumps(parsed, sort_keys=True) == json.dumps(json.loads(canonical), sort_keys=True)  # 1 vs 1.0


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 2**53 - 1), st.text(), st.text(), st.integers(0, 100), st.text(),
       st.one_of(st.none(), st.text()), st.text())
def test_envelope_formatting_matches_rfc8785(seq: int, event_id: str, type_: str, v: int, ts: str,
                                             actor: str | None, psha: str) -> None:
    expected = rfc8785.dumps(envelope(seq, event_id, type_, v, ts, actor, psha))
    assert envelope_json(seq, event_id, type_, v, ts, actor, psha) == expected


def test_keys_outside_the_bmp_sort_by_utf16() -> None:
    value = {"\U0001f600": 1, "\ufb01": 2, "a": 3}
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "key": st.one_of(st.text(max_size=5), st.integers()),
    "value": st.one_of(st.floats(), st.integers(-3, 3), st.booleans(), st.none()),
    "step": st.one_of(st.integers(-2, 10**6), st.booleans(), st.floats(0, 5)),
    "ts": st.one_of(st.text(max_size=4), st.just(" "), st.just("2026-11-25T00:00:00.000000Z"), st.none()),
}, optional={"extra": st.integers()}), min_size=1, max_size=4))
def test_metric_events_validate_alike_on_the_short_path(metrics: list[dict[str, Any]]) -> None:
    """The inline checks for SDK-shaped metrics give what the general checks give, or the same refusal."""
    from mlineage.core_events import _metrics_logged, _opt_int, _str
    from mlineage.errors import ValidationError
    from mlineage.jsonvalues import check_metric

    def general(m: dict[str, Any]) -> dict[str, Any]:
        return {"key": m.get("key"), "value": check_metric(m.get("key"), m.get("value")),
                "step": _opt_int(m, "step") or 0, "ts": _str(m, "ts", required=False) or "now"}

    try:
        expected: Any = [general(m) for m in metrics]
    except ValidationError:
        expected = ValidationError
    try:
        got: Any = _metrics_logged({"run_id": "r", "metrics": metrics})["metrics"]
    except ValidationError:
        got = ValidationError
    if expected is not ValidationError and got is not ValidationError:
        got = [dict(m, ts="now") if m["ts"] not in {x.get("ts") for x in metrics} else m for m in got]
    assert got == expected


_losses = st.floats(1e-4, 1e16, exclude_max=True)  # where the direct path applies, unless integral
metric_floats = st.one_of(
    _losses,
    _losses.map(lambda x: -x),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-4, 9.999e-5, 0.5, 1.0, -2.0, 1e16, 9.99e15, 1e-7, -0.0]),
)


@settings(max_examples=800, deadline=None)
@given(
    st.text(),
    st.lists(
        st.fixed_dictionaries(
            {
                "key": st.text(),
                "value": metric_floats,
                "step": st.one_of(st.integers(0, 10**6), st.integers(0, 2**53 + 5)),
                "ts": st.text(),
            }
        ),
        max_size=4,
    ),
)
def test_metrics_payloads_formatted_directly_match_rfc8785(
    run_id: str, metrics: list[dict[str, Any]]
) -> None:
    from mlineage.ledger import metrics_payload_json

    payload = {"run_id": run_id, "metrics": metrics}
    fast = metrics_payload_json(payload)
    if fast is not None:
        assert fast == rfc8785.dumps(payload)
        assert json.loads(fast) == payload


def test_sdk_metrics_take_the_direct_path() -> None:
    """The shape the SDK writes is formatted directly (so the property test above is not vacuous), and what
    the direct path declines (an integral float, written ``1`` by JCS) still gets the reference's bytes."""
    from mlineage.events import METRICS_LOGGED, NewEvent
    from mlineage.ledger import metrics_payload_json, seal

    payload = {"run_id": "r1", "metrics": [{"key": "loss", "value": 0.25, "step": 3,
                                             "ts": "2026-12-03T00:00:00.000001Z"}]}
    assert metrics_payload_json(payload) == rfc8785.dumps(payload)
    integral = {"run_id": "r1", "metrics": [dict(payload["metrics"][0], value=1.0)]}
    assert metrics_payload_json(integral) is None
    sealed = seal([NewEvent(METRICS_LOGGED, integral)], 0, "0" * 64)[0]
    assert sealed.payload_json.encode() == rfc8785.dumps(integral)
    assert sealed.event.payload["metrics"][0]["value"] == 1
