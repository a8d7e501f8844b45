"""The shard reader's fast canonical form of a JSONL record is byte for byte ``ledger.canonical_json`` (RFC
8785), whatever the line holds: floats, big integers, NaN, characters outside the BMP, escaped surrogates."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage.ledger import canonical_json
from mlineage.llm.corpus_source import _jsonl

_LEAVES = (st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.dictionaries(st.text(max_size=4), _VALUES, max_size=4), min_size=1, max_size=4),
       ascii_only=st.booleans())
def test_fast_canonical_form_is_rfc8785(records: list[dict[str, object]], ascii_only: bool,
                                        tmp_path: Path) -> None:
    shard = tmp_path / "s.jsonl"
    shard.write_text("".join(json.dumps({"id": "x", **r}, ensure_ascii=ascii_only) + "\n" for r in records),
                     encoding="utf-8")
    for record, _, canonical in _jsonl(shard, "s.jsonl"):
        try:
            expected = canonical_json(record)
        except Exception:  # noqa: BLE001  (the reference refuses it: the fast path must have declined it too)
            assert canonical is None
            continue
        assert canonical is None or canonical == expected


def test_lines_the_fast_path_declines(tmp_path: Path) -> None:
    shard = tmp_path / "s.jsonl"
    lines = ['{"id": "a", "x": 1.5}', '{"id": "b", "x": 9007199254740993}',
             '{"id": "c", "\\ud83d\\ude00": 1}', '{"id": "d", "\U0001F600": 1, "\uffff": 2}',
             '{"id": "e", "x": "plain \u00e9"}', '{"id": "f", "x": NaN}']
    shard.write_text("\n".join(lines) + "\n")
    fast = [canonical is not None for _, _, canonical in _jsonl(shard, "s.jsonl")]
    assert fast == [False, False, False, False, True, False]
