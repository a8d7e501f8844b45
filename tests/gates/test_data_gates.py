"""The data gates on real CSV files, on SQLite and PostgreSQL: schema, pins, freshness (fixed clock),
privacy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlineage.gates import parse_policy
from mlineage.gates.model import CheckReport
from mlineage.sdk.client import Client

from .helpers import CARD, PHONE, record, write_csv

ROWS = [
    {
        "id": i,
        "country": "DE" if i % 2 else "FR",
        "age": 20 + i,
        "loaded_at": f"2026-12-0{1 + i % 5}T10:00:00Z",
    }
    for i in range(1, 8)
]


def _check(client: Client, ref: str, policy: str, **kw: object) -> CheckReport:
    return client.check([ref], policy=parse_policy(policy), **kw)  # type: ignore[arg-type]


@pytest.fixture
def customers(client: Client, tmp_path: Path) -> str:
    path = write_csv(tmp_path, "customers.csv", ROWS)
    client.record_artifact(path, kind="dataset", name="customers.csv")
    return "customers.csv"


SCHEMA = """
gates:
  - gate: schema
    for: {name: "customers*"}
    columns:
      id: {type: int64, nullable: false, unique: true}
      country: {type: string, allowed: %s}
      age: {type: int, min: 0, max: %d}
"""


def test_schema_contract_passes_and_fails(client: Client, customers: str) -> None:
    ok = _check(client, customers, SCHEMA % ("[DE, FR]", 130))
    assert ok.passed and ok.results[0].verdict == "pass"
    assert {c.name for c in ok.results[0].checks} >= {
        "id: type",
        "id: unique",
        "country: allowed values",
        "age: range",
    }
    bad = _check(client, customers, SCHEMA % ("[DE]", 22))
    assert not bad.passed and bad.exit_code() == 1
    failed = {c.name: c.measured for c in bad.results[0].checks if c.verdict == "fail"}
    assert failed["country: allowed values"]["outside"] == 3
    assert failed["age: range"]["above"] == 5
    missing = _check(
        client,
        customers,
        "gates:\n  - gate: schema\n    for: {kind: dataset}\n"
        "    columns: {email: {type: string}}\n    allow_extra_columns: false\n",
    )
    names = {c.name: c.verdict for c in missing.results[0].checks}
    assert names == {"email: present": "fail", "no extra columns": "fail"}


def test_row_and_digest_pins(client: Client, customers: str) -> None:
    digest = str(client.resolve(customers).digest)
    ok = _check(
        client,
        customers,
        f"gates:\n  - gate: pins\n    for: {{kind: dataset}}\n    rows: 7\n    digest: {digest}\n",
    )
    assert ok.passed and len(ok.results[0].checks) == 2
    bad = _check(
        client,
        customers,
        "gates:\n  - gate: pins\n    for: {kind: dataset}\n    min_rows: 8\n"
        "    digest: sha256:" + "0" * 64 + "\n",
    )
    assert [c.verdict for c in bad.results[0].checks] == ["fail", "fail"]
    assert bad.results[0].checks[1].measured == {"rows": 7, "min": 8, "max": None}


FRESH = """
gates:
  - gate: freshness
    for: {kind: dataset}
    loaded_at: loaded_at
    warn_after: {count: 12, period: hour}
    error_after: {count: 3, period: day}
"""


@pytest.mark.parametrize(
    ("now", "status", "verdict"),
    [
        (datetime(2026, 12, 5, 18, 0, tzinfo=UTC), "pass", "pass"),
        (datetime(2026, 12, 6, 9, 0, tzinfo=UTC), "warn", "warn"),
        (datetime(2026, 12, 9, 10, 0, 1, tzinfo=UTC), "error", "fail"),
    ],
)
def test_freshness_with_a_fixed_clock(
    client: Client, customers: str, now: datetime, status: str, verdict: str
) -> None:
    report = client.check([customers], policy=parse_policy(FRESH), clock=lambda: now)
    check = report.results[0].checks[0]
    assert check.measured["max_loaded_at"] == "2026-12-05T10:00:00+00:00"
    assert check.measured["status"] == status and check.verdict == verdict
    assert report.passed is (verdict != "fail")  # a warning does not block


def test_freshness_on_the_recorded_time(client: Client, customers: str) -> None:
    created = client.resolve(customers).created_at
    assert created is not None
    policy = parse_policy(
        "gates:\n  - gate: freshness\n    for: {kind: dataset}\n    error_after: {count: 1, period: minute}\n"
    )
    late = datetime.fromisoformat(created).replace(year=2099)
    assert client.check([customers], policy=policy, clock=lambda: late).results[0].verdict == "fail"
    early = datetime.fromisoformat(created)
    assert client.check([customers], policy=policy, clock=lambda: early).results[0].verdict == "pass"


PRIVACY = """
gates:
  - gate: privacy
    for: {kind: dataset}
    phone_regions: [US]
    %s
"""


def test_privacy_finds_planted_pii_and_never_repeats_it(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    rows = [{"id": i, "note": "nothing to see", "contact": "n/a"} for i in range(50)]
    rows[17]["note"] = f"paid with {CARD} yesterday"
    rows[31]["contact"] = f"call {PHONE}"
    record(
        client,
        tmp_path,
        "leads.csv",
        "\n".join(["id,note,contact"] + [f"{r['id']},{r['note']},{r['contact']}" for r in rows]) + "\n",
    )
    report = client.check(["leads.csv"], policy=parse_policy(PRIVACY % ""))
    assert not report.passed
    findings = {
        (f["column"], f["kind"]): f["count"]
        for c in report.results[0].checks
        for f in c.measured.get("findings", [])
    }
    assert findings == {("note", "card"): 1, ("contact", "phone"): 1}
    # the values appear nowhere: not in any format, not in the ledger, not in logs
    from mlineage.gates import report as formats

    outputs = [
        formats.to_json(report),
        formats.to_junit(report),
        formats.to_sarif(report),
        json.dumps([r.to_dict() for r in report.results]),
    ]
    outputs += [json.dumps(e.payload) for e in client.store.iter_events()]
    outputs += [json.dumps(client.gate_evaluations("leads.csv")), capsys.readouterr().out, caplog.text]
    for text in outputs:
        for secret in (CARD, CARD.replace(" ", ""), PHONE, "4155552671", "555-2671"):
            assert secret not in text
    allowed = client.check(["leads.csv"], policy=parse_policy(PRIVACY % "allow_columns: [id, note, contact]"))
    assert allowed.results[0].verdict == "fail"  # nothing left to scan: zero checks fail
    only_note = client.check(["leads.csv"], policy=parse_policy(PRIVACY % "allow_columns: [contact]"))
    assert [f["kind"] for c in only_note.results[0].checks for f in c.measured.get("findings", [])] == [
        "card"
    ]


def test_privacy_passes_clean_data_and_samples(client: Client, customers: str) -> None:
    report = client.check([customers], policy=parse_policy(PRIVACY % "sample_rows: 3"))
    assert report.passed
    assert all(c.measured["rows"] == 3 for c in report.results[0].checks)


def test_every_verdict_is_recorded_and_rebuilt(client: Client, customers: str) -> None:
    client.set_owner("customers.csv", "data-team")
    client.check([customers], policy=parse_policy(SCHEMA % ("[DE, FR]", 130)))
    before = client.gate_evaluations(customers)
    assert [(e["gate"], e["verdict"]) for e in before] == [("schema", "pass")]
    assert before[0]["policy_digest"].startswith("sha256:")
    client.rebuild()
    assert client.gate_evaluations(customers) == before
    assert client.owner_of(customers) == "data-team"


def test_the_data_gates_load_neither_pandas_nor_scipy(tmp_path: Path) -> None:
    """PyArrow imports pandas when it builds an array from Python values, and scipy's BFS and t quantile
    cost more than the gates: ``mlineage check`` avoids both (the values it computes are the same)."""
    import subprocess
    import sys

    path = write_csv(tmp_path, "c.csv", ROWS)
    script = f"""
import sys
from datetime import UTC, datetime
from pathlib import Path
from mlineage.gates.freshness import max_loaded_at
from mlineage.gates.pii import Scanner, scan_table
from mlineage.gates.release import t_quantile
from mlineage.gates.schema_contract import check_schema
from mlineage.gates.tables import read_table
table = read_table(open({str(path)!r}, "rb"), "csv")
checks = check_schema(table, {{"country": {{"allowed": ["DE"]}}, "age": {{"min": 22, "max": 26}}}})
assert [c.measured for c in checks if c.name.endswith(("allowed values", "range"))] == [
    {{"outside": 3, "allowed": 1}}, {{"below": 1, "above": 1}}], checks
assert max_loaded_at(table.column("loaded_at")) == datetime(2026, 12, 5, 10, tzinfo=UTC)
scan_table(table, Scanner(), sample_rows=3)
assert abs(t_quantile(0.95, 4) - 2.7764451051977987) < 1e-9
print(sorted(m for m in ("pandas", "scipy") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
