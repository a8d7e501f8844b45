"""Event times: the short path for the SDK's own form accepts exactly what the RFC 3339 pattern accepts."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from mlineage.errors import ValidationError
from mlineage.eventtime import _RFC3339, parse_event_time

SDK_FORM = "2026-12-07T13:57:08.914319Z"


def test_the_sdk_form_reads_as_its_moment() -> None:
    assert parse_event_time(SDK_FORM) == datetime(2026, 12, 7, 13, 57, 8, 914319, tzinfo=UTC)


def test_a_mutated_sdk_form_is_accepted_only_where_the_pattern_accepts_it() -> None:
    alphabet = "0123456789-:.TZ +_Wtz\u0660\u0662x/,\n"
    rng = random.Random(13)
    for _ in range(3000):
        chars = list(SDK_FORM)
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        ts = "".join(chars)
        try:
            parse_event_time(ts)
        except ValidationError:
            continue
        assert _RFC3339.match(ts), ts


@pytest.mark.parametrize("ts, words", [("2026-13-07T13:57:08.914319Z", "not a real time"),
                                       ("2026-12-07 13:57:08.914319Z", "not an RFC 3339 time")])
def test_a_bad_time_in_the_sdk_shape_says_what_is_wrong(ts: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        parse_event_time(ts)
