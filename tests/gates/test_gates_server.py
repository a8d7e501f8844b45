"""Gates against a team server: a machine with nothing but MLINEAGE_URI and MLINEAGE_TOKEN records a lineage,
licences and an owner, and runs ``check`` and ``licence``; the server's /api/v1/gates router answers, on
SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.conftest import ServerProcess
from tests.team.conftest import machine, write_token

from .helpers import CARD, PHONE

SCRIPT = f"""
import json
from pathlib import Path
import mlineage
from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.gates import parse_policy

c = mlineage.Client()
Path("src.csv").write_text("id,note\\n1,ok\\n2,{CARD}\\n3,{PHONE}\\n")
src = c.record_artifact("src.csv", kind="dataset", name="srv-src.csv")
current = src
for i, kind in enumerate(["dataset", "dataset", "model"]):
    Path(f"out{{i}}").write_text(f"step {{i}}\\n")
    out = c.record_artifact(f"out{{i}}", kind=kind, name="srv-model.bin" if kind == "model" else
    f"srv-step{{i}}")
    rid = f"srvrun{{i}}-" + str(out.digest)[7:19]
    c.append([NewEvent(ev.RUN_STARTED, {{"run_id": rid, "job": f"job{{i}}", "kind": "train"}}),
              NewEvent(ev.ARTIFACT_USED, {{"run_id": rid, "digest": str(current.digest)}}),
              NewEvent(ev.ARTIFACT_PRODUCED, {{"run_id": rid, "digest": str(out.digest)}}),
              NewEvent(ev.RUN_ENDED, {{"run_id": rid, "status": "completed"}})])
    current = out
c.record_licence(src, "cc-by-nc-4.0")
c.set_owner("srv-model.bin", "ml-team")
c.store.flush()
policy = parse_policy(Path("policy.yaml").read_text())
report = c.check(["srv-model.bin", "srv-src.csv"], policy=policy)
lic = c.licence_report("srv-model.bin")
print(json.dumps({{"report": report.to_dict(), "licence": lic.to_dict(),
                  "evaluations": c.gate_evaluations("srv-model.bin"), "owner": c.owner_of("srv-model.bin")}}))
"""

POLICY = """gates:
  - gate: licence
    for: {kind: model}
    notify: owner
  - gate: auditability
    for: {kind: model}
  - gate: privacy
    for: {kind: dataset}
"""


def test_gates_through_a_team_server(server: ServerProcess, tmp_path: Path) -> None:
    m = machine(tmp_path, "ci", server.url, write_token(server.store_uri))
    (m.work / "policy.yaml").write_text(POLICY)
    done = m.python(SCRIPT)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    results = {(r["label"], r["target"]): r for r in out["report"]["results"]}
    lic = results[("licence", "srv-model.bin@1")]
    assert lic["verdict"] == "fail" and lic["owner"] == "ml-team" and lic["notify"] == "ml-team"
    message = next(c["message"] for c in lic["checks"] if c["name"] == "intended use")
    assert (
        "srv-src.csv@1 -> run job0 -> srv-step0@1 -> run job1 -> srv-step1@1 -> run job2 -> srv-model.bin@1"
        in message
    )
    assert out["licence"]["effective"]["use"] == "non-commercial"
    assert out["licence"]["obligations"][0]["hops"] == 6
    privacy = results[("privacy", "srv-src.csv@1")]
    assert {f["kind"] for c in privacy["checks"] for f in c["measured"].get("findings", [])} == {
        "card",
        "phone",
    }
    assert {e["gate"] for e in out["evaluations"]} == {"licence", "auditability"}
    assert out["owner"] == "ml-team"
    for secret in (CARD, PHONE):
        assert secret not in done.stdout and secret not in done.stderr
    cli = m.cli("check", "srv-model.bin", "--policy", "policy.yaml", "--format", "json", check=False)
    assert cli.returncode == 1, cli.stderr
    shown = json.loads(m.cli("show", "srv-model.bin", "--json").stdout)
    assert {g["gate"] for g in shown["gates"]} == {"licence", "auditability"}
    explained = m.cli("licence", "srv-model.bin").stdout
    assert "srv-src.csv@1 [cc-by-nc-4.0] brings non-commercial" in explained
    assert "path: srv-src.csv@1 -> run job0" in explained
    server_log = server.log.read_text() if server.log else ""
    assert CARD not in server_log and PHONE not in server_log
