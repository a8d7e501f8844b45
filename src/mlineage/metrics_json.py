"""RFC 8785 text of a metrics payload as the SDK writes it, formatted directly (pure).

A training run writes thousands of metric values, and formatting them directly spares the general
canonicaliser in ``ledger.py`` its copy and key sorting; the ``MetricsLogged`` spec names this as its
``canonical`` formatter."""

from __future__ import annotations

import json.encoder
from typing import Any

_dump_string = (
    json.encoder.encode_basestring
)  # (C) what json.dumps(ensure_ascii=False) does to a str: JCS's escaping

_METRIC = '{"key":%s,"step":%d,"ts":%s,"value":%r}'


def metrics_payload_json(payload: Any) -> bytes | None:
    """``canonical_json`` of a metrics payload as the SDK writes it (``{"run_id", "metrics": [{"key", "value",
    "step", "ts"}]}``), formatted directly; None for any other shape or value, which then takes the general
    path.

    The keys are fixed (written here in JCS order), and a float is kept only
    where ``repr`` is its JCS text (see ``_jcs_ready``). The parsed-back value is the payload itself. A
    property test checks the bytes against RFC 8785."""
    if type(payload) is not dict or len(payload) != 2 or type(run_id := payload.get("run_id")) is not str:
        return None
    metrics = payload.get("metrics")
    if type(metrics) is not list:
        return None
    parts = []
    for m in metrics:
        if type(m) is not dict or len(m) != 4:
            return None
        key, value, step, ts = m.get("key"), m.get("value"), m.get("step"), m.get("ts")
        if (type(key) is not str or type(ts) is not str or type(step) is not int or not 0 <= step < 2**53
                or type(value) is not float or value.is_integer() or not 1e-4 <= abs(value) < 1e16):
            return None
        parts.append(_METRIC % (_dump_string(key), step, _dump_string(ts), value))
    try:
        return f'{{"metrics":[{",".join(parts)}],"run_id":{_dump_string(run_id)}}}'.encode()
    except UnicodeEncodeError:
        return None  # a lone surrogate: the reference decides (and refuses it)
