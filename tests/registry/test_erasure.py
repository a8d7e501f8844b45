"""Erasure requests on both metadata backends: the data's blobs and the payloads holding its content go, each
authorised by a ``PayloadErased`` event, so ``verify`` passes and names what was erased, when and by whom; the
propagation report lists what is downstream, and the erasure closes only once every affected model has a
decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlineage.errors import IntegrityError, NotFoundError, ValidationError
from mlineage.model import Digest
from mlineage.sdk.client import Client
from mlineage.sdk.run import run


def test_erase_a_dataset_verify_passes_and_the_decisions_track_it_to_closure(client: Client, tmp_path: Path
                                                                             ) -> None:
    data = tmp_path / "people.csv"
    data.write_text("email,amount\nalice@example.com,3\nbob@example.com,5\n")
    other = tmp_path / "other.csv"
    other.write_text("amount\n1\n")
    with run("train", kind="train", client=client, capture=False) as r:
        used = r.use(str(data))
        r.use(str(other))
        (tmp_path / "m.bin").write_text("weights\n")
        model = r.produce(str(tmp_path / "m.bin"), kind="model")
        (tmp_path / "features.csv").write_text("amount_z\n-1\n1\n")
        features = r.produce(str(tmp_path / "features.csv"), kind="dataset")
        (tmp_path / "index.bin").write_text("embeddings\n")
        index = r.produce(str(tmp_path / "index.bin"), kind="corpus")  # a retrieval index's corpus
    client.blobs.put_file(data)
    client.register_model(model, "clf")
    client.set_alias("clf", "production", "@1")
    client.deploy("clf@production", "scoring", "prod")
    client.profile(str(used.digest))  # a DatasetProfiled event: the profile holds the data's values
    digest = str(used.digest)
    assert client.blobs.has(Digest.parse(digest))

    with pytest.raises(ValidationError, match="needs a reason"):
        client.erase(digest, reason="")
    done = client.erase(digest, reason="GDPR art. 17 request", authorised_by="dpo@example.com",
                        ticket="DSR-7")
    assert done["report"]["models"] == [{"model": "clf@1", "digest": str(model.digest)}]
    assert [d["digest"] for d in done["report"]["datasets"]] == [str(features.digest)]
    assert [d["digest"] for d in done["report"]["indexes"]] == [str(index.digest)]
    assert [(e["endpoint"], e["now"]) for e in done["report"]["endpoints"]] == [("scoring", True)]
    assert done["report"]["runs"] >= 2  # the training run and the deploy run
    assert len(done["erased_seqs"]) == 1
    profile_blob = done["blobs"][1]  # the profile's own blob holds the top values: it goes too
    assert done["blobs_removed"] == [digest, profile_blob]
    assert not client.blobs.has(Digest.parse(profile_blob))
    assert not client.blobs.has(Digest.parse(digest))
    assert done["open"] == ["clf@1"] and done["authorised_by"] == "dpo@example.com"
    from mlineage.datasets.service import stored_profile

    assert stored_profile(client, digest) is None  # no projection keeps the erased profile

    report = client.verify()
    assert report.ok and report.redacted == 1
    (erased,) = report.erased or []
    assert erased["seq"] == done["erased_seqs"][0] and erased["type"] == "DatasetProfiled"
    assert erased["authorised_by"] == "dpo@example.com" and erased["ticket"] == "DSR-7" and erased["by"]
    (event,) = [e for e in client.store.iter_events() if e.seq == erased["seq"]]
    assert event.payload is None
    # the lineage stays (digests, not data): the model is still downstream of the erased dataset
    assert client.path(digest, str(model.digest)).found

    with pytest.raises(ValidationError, match="no decision yet for clf@1"):
        client.close_erasure(done["id"], "done")
    with pytest.raises(ValidationError, match="needs a reason"):
        client.decide_erasure(done["id"], "clf@1", "accept")
    with pytest.raises(NotFoundError, match="not a model erasure"):
        client.decide_erasure(done["id"], "other@1", "retrain")
    decided = client.decide_erasure(done["id"], "clf@1", "retrain", reason="next release drops the rows")
    assert decided["open"] == [] and decided["decisions"][0]["decision"] == "retrain"
    closed = client.close_erasure(done["id"], "retrained as clf@2")
    assert closed["resolution"] == "retrained as clf@2" and closed["closed_by"]
    client.rebuild()  # the erasure's tables are a fold of the ledger too
    assert client.erasure(done["id"])["decisions"] == closed["decisions"]


def test_payloads_go_only_with_an_erasure_event(client: Client, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    with run("r", client=client, capture=False) as r:
        used = r.use(str(tmp_path / "a.csv"))
    from mlineage.events import NewEvent

    client.append([NewEvent("ParamsLogged", {"run_id": r.id, "params": {"customer": "bob@example.com"}})])
    client.blobs.put_file(tmp_path / "a.csv")
    params = next(e for e in client.store.iter_events() if e.type == "ParamsLogged")
    started = next(e for e in client.store.iter_events() if e.type == "RunStarted")
    with pytest.raises(ValidationError, match="is a RunStarted: its payload is the ledger's structure"):
        client.erase(str(used.digest), reason="r", events=[started.seq])
    done = client.erase(str(used.digest), reason="DSR-8", events=[params.seq])
    assert done["erased_seqs"] == [params.seq] and done["report"]["runs"] == 1
    assert "customer" not in client.store.get_run(r.id).params  # type: ignore[union-attr]
    assert client.verify().ok
    store = client.store
    with pytest.raises(IntegrityError, match="no later PayloadErased"):
        store.erase_payloads([2])  # type: ignore[attr-defined]
    assert store.verify().ok
