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


def test_facts_answer_only_what_the_callers_namespace_sees(server: ServerProcess) -> None:
    """Team B records owners, a licence, a source and an evaluation on its artifact; team A's token asks the
    facts router (and the licence report) about it and learns nothing; B's own token sees all of it."""
    import hashlib
    import uuid

    import httpx

    from tests.server.conftest import admin_token

    def client(token: str) -> httpx.Client:
        return httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                            timeout=60)

    tag = uuid.uuid4().hex[:8]  # the server fixture is shared by the module's tests
    tokens = {}
    with client(admin_token(server.store_uri)) as admin:
        for ns in ("facts-a", "facts-b"):
            made = admin.post("/tokens", json={"name": ns, "scopes": ["read", "write"], "namespace": ns})
            assert made.status_code == 201, made.text
            tokens[ns] = made.json()["token"]
    b_digest = "sha256:" + hashlib.sha256(f"b's data {tag}".encode()).hexdigest()
    a_digest = "sha256:" + hashlib.sha256(f"a's data {tag}".encode()).hexdigest()
    name, check = f"b-data-{tag}", {"name": "c", "verdict": "pass", "message": "ok", "measured": {}}

    def append(c: httpx.Client, *events: tuple[str, dict[str, object]]) -> None:
        body = {"events": [{"id": uuid.uuid4().hex, "type": t, "payload": p} for t, p in events]}
        response = c.post("/events/batch", json=body)
        assert response.status_code == 200, response.text

    with client(tokens["facts-b"]) as b, client(tokens["facts-a"]) as a:
        append(b, ("ArtifactRecorded", {"digest": b_digest, "kind": "dataset", "name": name}),
               ("OwnerSet", {"target": b_digest, "owner": "b-team"}),
               ("OwnerSet", {"target": name, "owner": "b-team"}),
               ("LicenceRecorded", {"digest": b_digest, "licence": "cc-by-nc-4.0"}),
               ("SourceRecorded", {"digest": b_digest, "source": "https://b.example/secret"}),
               ("GateEvaluated", {"gate": "pins", "label": "pins", "digest": b_digest, "verdict": "pass",
                                  "checks": [check], "policy_digest": "sha256:" + "0" * 64}))
        append(a, ("ArtifactRecorded", {"digest": a_digest, "kind": "dataset", "name": f"a-data-{tag}"}),
               ("LicenceRecorded", {"digest": a_digest, "licence": "MIT"}))

        def facts(c: httpx.Client, what: str, **body: object) -> object:
            response = c.post("/gates/facts", json={"what": what, **body})
            assert response.status_code == 200, response.text
            return response.json()

        both = [b_digest, a_digest]
        assert facts(b, "owners", keys=[b_digest, name]) == {b_digest: "b-team", name: "b-team"}
        assert facts(b, "licences", keys=both) == {b_digest: "cc-by-nc-4.0"}
        assert facts(b, "sources", keys=[b_digest]) == {b_digest: "https://b.example/secret"}
        assert [e["gate"] for e in facts(b, "evaluations", keys=[b_digest])] == ["pins"]  # type: ignore[union-attr]
        assert facts(b, "select", name=f"*-data-{tag}") == [b_digest]

        assert facts(a, "owners", keys=[b_digest, name]) == {}
        assert facts(a, "licences", keys=both) == {a_digest: "MIT"}
        assert facts(a, "sources", keys=[b_digest]) == {}
        assert facts(a, "actors", keys=[b_digest]) == {}
        assert facts(a, "evaluations", keys=[b_digest]) == []
        assert facts(a, "select", name=f"*-data-{tag}") == [a_digest]
        assert a.post("/gates/licence", json={"ref": b_digest}).status_code == 404
