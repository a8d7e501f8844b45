"""The packing of a metric batch row gives back exactly what went in, whatever the timestamps look like."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlineage.errors import ValidationError
from mlineage.stores.metric_codec import pack_steps, pack_timestamps, pack_values, unpack, unpack_timestamps

_stamps = st.text(min_size=1, max_size=40)


@given(
    st.lists(
        st.tuples(st.integers(0, 2**63 - 1), st.floats(allow_nan=False), _stamps), min_size=1, max_size=50
    )
)
def test_round_trip(rows: list[tuple[int, float, str]]) -> None:
    steps, values, stamps = (list(column) for column in zip(*rows, strict=True))
    back = unpack(pack_steps(steps), pack_values(values), pack_timestamps(stamps))
    assert [(s, t) for s, _, t in back] == [(s, t) for s, _, t in rows]
    assert all(
        math.copysign(1, a) == math.copysign(1, b) and a == b for (_, a, _), (_, b, _) in zip(back, rows)
    )


@given(st.lists(_stamps, min_size=1, max_size=30))
def test_timestamps_of_any_shape_round_trip(stamps: list[str]) -> None:
    assert unpack_timestamps(pack_timestamps(stamps)) == stamps


def test_equal_widths_are_stored_concatenated_and_others_as_json() -> None:
    sdk = ["2026-12-03T10:00:00.000001Z", "2026-12-03T10:00:00.000002Z"]
    assert pack_timestamps(sdk) == "27:" + "".join(sdk)
    assert pack_timestamps(["[x", "a:"]) == "2:[xa:"  # brackets and colons inside are only content
    assert unpack_timestamps("2:[xa:") == ["[x", "a:"]
    assert pack_timestamps(["t", "tt"]) == '["t","tt"]'


def test_a_step_beyond_int64_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most"):
        pack_steps([2**63])
