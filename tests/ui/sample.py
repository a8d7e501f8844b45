"""A small project for the web UI tests and screenshots: data versions, training runs (one failed), two
registered model versions with gate evaluations (one recorded by another namespace), a profiled dataset
version, a 40-input fan-in, XSS plants in a name, a param, a metric key and a gate label, and another
namespace's model."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

PLANT_SCRIPT = "<script>window.__xss=1</script>"
PLANT_IMG = '<img src=x onerror="window.__xss=1">'
FAN_IN = 40
GATE_LABEL = "licences allow release"
OTHER_TEAMS_GATE = "team-b's own check"


@dataclass
class Sample:
    model_v1: str
    model_v2: str
    train_run: str
    failed_run: str
    ensemble: str
    planted: str  # the artifact whose name is a plant
    secret_model: str  # the other namespace's model name
    before_v2: str  # an ISO time between model v1 and v2
    train_data: tuple[str, str] = ("", "")  # the digests of train-data@1 and @2


def _write(path: Path, data: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)
    return path


def build(store_uri: str, folder: Path) -> Sample:
    import time

    import mlineage
    from mlineage.events import NewEvent, utc_now
    from mlineage.sdk.client import Client
    from mlineage.server.auth import Principal
    from mlineage.server.namespaces import tag_actor

    folder.mkdir(parents=True, exist_ok=True)
    client = Client.for_uri(store_uri, folder / "objects")
    try:
        raw = _write(folder / "raw.csv", "id,x\n1,2\n")
        with mlineage.run("prepare", kind="transform", client=client, capture=False) as prep:
            prep.use(raw, name="raw-data")
            prep.produce(_write(folder / "train.csv", "id,x\n1,2\n2,3\n"), kind="dataset", name="train-data")
        with mlineage.run("train", kind="train", client=client, capture=False,
                          params={"lr": 0.1, "epochs": 3, "note": PLANT_IMG}) as train:
            train.use("train-data@1", role="training_data")
            for step in range(5):
                train.log_metric("loss", 1.0 / (step + 1), step=step)
            train.log_metric(PLANT_SCRIPT, 0.5)
            train.log_param(PLANT_SCRIPT, "planted key")
            v1 = train.produce(_write(folder / "model.bin", "weights v1"), name="churn-model")
        client.register_model(str(v1.digest), "churn-model")
        time.sleep(0.01)
        between = utc_now()
        time.sleep(0.01)
        try:
            with mlineage.run("prepare", kind="transform", client=client, capture=False) as bad:
                bad.use(raw)
                raise RuntimeError("disk full")
        except RuntimeError:
            pass
        with mlineage.run("prepare", kind="transform", client=client, capture=False) as prep2:
            prep2.use(raw)
            prep2.produce(_write(folder / "train2.csv", "id,x\n1,2\n2,3\n3,4\n"), kind="dataset",
                          name="train-data")
        with mlineage.run("train", kind="train", client=client, capture=False,
                          params={"lr": 0.05, "epochs": 3}) as train2:
            train2.use("train-data@2", role="training_data")
            train2.log_metric("loss", 0.2)
            v2 = train2.produce(_write(folder / "model2.bin", "weights v2"), name="churn-model")
        client.register_model(str(v2.digest), "churn-model")
        from mlineage.registry import service

        passed = [{"gate": "licence", "label": "licences allow release", "verdict": "pass"}]
        service.set_alias(client, "churn-model", "production", "1", reason="first release", gates=passed)
        service.set_alias(client, "churn-model", "production", "2", reason="fresher data", gates=passed)
        parts = [client.artifact_event(_write(folder / "parts" / f"part{i}.csv", f"p{i}\n"), kind="dataset",
                                       name=f"part-{i:02d}") for i in range(FAN_IN)]
        client.append(parts)  # one transaction for the fan-in's inputs
        with mlineage.run("ensemble", kind="train", client=client, capture=False) as ens:
            for event in parts:
                ens.use(event.payload["digest"])
            ensemble = ens.produce(_write(folder / "ensemble.bin", "ens"), name="ensemble-model")
        with mlineage.run("label", client=client, capture=False) as plant:
            plant.produce(_write(folder / "planted.txt", "x"), kind="dataset", name=PLANT_SCRIPT)
        team_b = Principal("tb", "b", frozenset({"write"}), "team-b")
        secret = "sha256:" + hashlib.sha256(b"secret model").hexdigest()
        client.append([
            NewEvent("ArtifactRecorded", {"digest": secret, "kind": "model", "name": "secret-model"},
                     actor=tag_actor("bob", team_b)),
            NewEvent("ModelRegistered", {"name": "secret-model", "version": 1, "digest": secret},
                     actor=tag_actor("bob", team_b)),
        ])
        policy = "sha256:" + hashlib.sha256(b"policy").hexdigest()

        def evaluated(digest: str, label: str, verdict: str, actor: str | None = None) -> NewEvent:
            return NewEvent("GateEvaluated", {"gate": "licence", "label": label, "digest": digest,
                                              "verdict": verdict, "checks": [], "policy_digest": policy},
                            actor=actor)

        client.append([
            evaluated(str(v1.digest), GATE_LABEL, "fail"),
            evaluated(str(v2.digest), GATE_LABEL, "pass"),
            evaluated(str(v2.digest), PLANT_SCRIPT, "warn"),
            evaluated(str(v2.digest), OTHER_TEAMS_GATE, "pass", actor=tag_actor("bob", team_b)),
        ])
        client.profile("train-data@2")  # recorded: the artifact page shows it
        planted = client.store.get_version(PLANT_SCRIPT)
        assert planted is not None
        data = tuple(str(client.resolve(f"train-data@{n}").digest) for n in (1, 2))
        return Sample(str(v1.digest), str(v2.digest), train.id, bad.id, str(ensemble.digest),
                      str(planted.digest), "secret-model", between, (data[0], data[1]))
    finally:
        client.close()
