"""Hugging Face Transformers: the Trainer callback, with a tiny model built from a config (never a hub)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlineage
from mlineage.sdk.autolog import autolog
from mlineage.sdk.client import Client

from .conftest import require, subprocess_env

pytestmark = [pytest.mark.full_capture, pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]
torch = require("torch", "torch")
transformers = require("transformers", "transformers")
HUB_TOKEN = "hf_" + "PlantedHubTokenForTheTrainerArgs0123"


def _base_model(folder: Path) -> Path:
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    return folder


class _Data(torch.utils.data.Dataset):
    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 40, (16, 8), generator=generator)
        self.labels = (self.ids[:, 0] > 20).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {
            "input_ids": self.ids[i],
            "attention_mask": torch.ones(8, dtype=torch.long),
            "labels": self.labels[i],
        }


class _InMemory(_Data):
    """The same samples, exposing its tensors as ``.data``/``.targets`` (torchvision's convention)."""

    @property
    def data(self) -> torch.Tensor:
        return self.ids

    @property
    def targets(self) -> torch.Tensor:
        return self.labels


def _trainer(
    model: object, tmp_path: Path, extra: dict | None = None, **kwargs: object
) -> transformers.Trainer:
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-3,
        logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, hub_token=HUB_TOKEN,
        disable_tqdm=True, **(extra or {}),
    )
    kwargs.setdefault("train_dataset", _Data())
    return transformers.Trainer(model=model, args=args, **kwargs)


def _derived_from(client: Client, child: str) -> set[str]:
    events = [e.payload for e in client.store.iter_events() if e.type == "ArtifactDerived" and e.payload]
    return {p["parent"] for p in events if p["child"] == child}


def test_fine_tune_is_derived_from_its_base_model(tracked: Client, tmp_path: Path) -> None:
    base_dir = _base_model(tmp_path / "tiny-bert")
    assert autolog(sklearn=False)["transformers"] in ("enabled", "on import")
    model = transformers.BertForSequenceClassification.from_pretrained(base_dir)
    _trainer(model, tmp_path).train()
    [run] = tracked.store.list_runs(limit=5)
    assert run.job == "transformers.BertForSequenceClassification.train" and run.status.value == "completed"
    assert run.params["learning_rate"] == 1e-3 and run.params["max_steps"] == 3
    assert run.params["hub_token"] == "[REDACTED]" and run.params["base_model"] == "tiny-bert"
    assert "loss" in run.metrics and run.metrics.get("train_loss") is not None
    assert run.params["data.train.class"].endswith("._Data") and run.params["data.train.length"] == 16
    assert run.params["data.train.digested"] is False  # its tensors are not where a digest can see them
    inputs, outputs = tracked.store.io_of_run(run.id)
    [base] = [a for a, role in inputs if role == "base_model"]
    [tuned] = [a for a, _ in outputs]
    assert base.kind.value == "model" and tuned.metadata["framework"] == "transformers"
    assert _derived_from(tracked, str(tuned.digest)) == {str(base.digest)}
    assert tracked.blobs.has(tuned.digest)  # the fine-tuned folder's manifest is in the blob store


def test_explicit_callback_inside_an_open_run(tracked: Client, tmp_path: Path) -> None:
    from mlineage.sdk.autolog.transformers import MlineageTrainerCallback

    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    model = transformers.BertForSequenceClassification(config)  # from a config: no base model
    with mlineage.run("finetune", kind="train") as run:
        _trainer(model, tmp_path, callbacks=[MlineageTrainerCallback(log_model=False)]).train()
    [stored] = tracked.store.list_runs(limit=5)
    assert stored.id == run.id and "base_model" not in stored.params and stored.params["max_steps"] == 3
    export = "\n".join(str(e.payload) for e in tracked.store.iter_events())
    assert HUB_TOKEN not in export


# ---------------------------------------------------------------- base models loaded by hub id (local cache
# only)

COMMIT_OLD, COMMIT_NEW = "1" * 40, "2" * 40


def _publish(cache: Path, repo_id: str, folder: Path, commit: str, *, main: bool = True) -> Path:
    """Put ``folder`` into a Hugging Face cache the way ``huggingface_hub`` lays it out: the content in
    ``blobs/<sha256>``, ``snapshots/<commit>/<name>`` symlinks to it, ``refs/main`` holding the commit."""
    import hashlib

    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for file in sorted(folder.iterdir()):
        data = file.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / file.name).symlink_to(Path("..", "..", "blobs", blob.name))
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline hub cache in tmp_path (the env as a user sets it, and huggingface_hub's copy read at
    import)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def _folder_digest(folder: Path) -> str:
    from mlineage.hashing import directory_manifest, manifest_digest

    return str(manifest_digest(directory_manifest(folder)))  # plain files: the digest `mlineage add` gives


def test_a_hub_model_is_recorded_by_its_cached_snapshot_content(tracked: Client, tmp_path: Path,
                                                                hub_cache: Path) -> None:
    written = _base_model(tmp_path / "written")
    snapshot = _publish(hub_cache, "org/tiny", written, COMMIT_NEW)
    assert all(f.is_symlink() for f in snapshot.iterdir())
    autolog(sklearn=False)
    model = transformers.BertForSequenceClassification.from_pretrained("org/tiny", local_files_only=True)
    data = _InMemory()
    _trainer(model, tmp_path, {"eval_strategy": "steps", "eval_steps": 2}, train_dataset=data,
             eval_dataset=_Data()).train()
    [run] = tracked.store.list_runs(limit=5)
    assert run.status.value == "completed" and run.params["base_model"] == "org/tiny"
    from mlineage.sdk.autolog._common import data_digest

    [training] = [a for a, role in tracked.store.io_of_run(run.id)[0] if role == "training_data"]
    assert str(training.digest) == data_digest(data.ids, data.labels)[0] and run.params["data.train.digested"]
    assert run.params["data.val.class"].endswith("._Data") and run.params["data.val.digested"] is False
    assert "eval_loss" in run.metrics
    assert run.params["base_model.resolved"] is True and run.params["base_model.revision"] == COMMIT_NEW
    inputs, outputs = tracked.store.io_of_run(run.id)
    [base] = [a for a, role in inputs if role == "base_model"]
    [tuned] = [a for a, _ in outputs]
    assert str(base.digest) == _folder_digest(written)  # the content behind the links, not the links
    assert base.name == "org/tiny" and base.kind.value == "model"
    assert base.metadata["hub_id"] == "org/tiny" and base.metadata["revision"] == COMMIT_NEW
    assert base.metadata["revision_from"] == "refs/main" and base.metadata["files"] == 2
    assert _derived_from(tracked, str(tuned.digest)) == {str(base.digest)}
    assert str(tracked.resolve("org/tiny@1").digest) == str(base.digest)


def test_an_unresolvable_hub_id_stays_a_param_and_says_so(
    tracked: Client, tmp_path: Path, hub_cache: Path
) -> None:
    from mlineage.sdk.autolog.transformers import MlineageTrainerCallback

    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    model = transformers.BertForSequenceClassification(config)
    model.config._name_or_path = "org/not-cached"  # as if loaded from a hub this machine no longer caches
    with mlineage.run("finetune", kind="train"):
        _trainer(model, tmp_path, callbacks=[MlineageTrainerCallback()]).train()
    [run] = tracked.store.list_runs(limit=5)
    assert run.params["base_model"] == "org/not-cached" and run.params["base_model.resolved"] is False
    inputs, outputs = tracked.store.io_of_run(run.id)
    assert [a for a, role in inputs if role == "base_model"] == []
    [tuned] = [a for a, _ in outputs]
    assert _derived_from(tracked, str(tuned.digest)) == set()


def test_the_snapshot_is_the_revision_asked_for(tmp_path: Path, hub_cache: Path) -> None:
    from mlineage.sdk.autolog._hub import find_hub_snapshot

    old = _base_model(tmp_path / "old")
    new = tmp_path / "new"
    new.mkdir()
    (new / "config.json").write_text(
        (old / "config.json").read_text().replace('"num_labels"', '"x": 1, "num_labels"')
    )
    _publish(hub_cache, "org/tiny", old, COMMIT_OLD, main=False)
    _publish(hub_cache, "org/tiny", new, COMMIT_NEW)
    assert find_hub_snapshot("org/tiny").snapshot.digest == _folder_digest(new)
    pinned = find_hub_snapshot("org/tiny", COMMIT_OLD)
    assert (pinned.revision, pinned.revision_from, pinned.snapshot.digest) == (COMMIT_OLD, "requested",
                                                                              _folder_digest(old))
    by_config = find_hub_snapshot("org/tiny", config_commit=COMMIT_OLD)  # transformers 4: config._commit_hash
    assert (by_config.revision, by_config.revision_from) == (COMMIT_OLD, "config")
    assert find_hub_snapshot("org/tiny", "v9") is None and find_hub_snapshot("org/other") is None
    assert find_hub_snapshot(str(tmp_path / "old")) is None  # a folder is not a hub id


def test_autolog_remembers_the_revision_given_to_from_pretrained(tracked: Client, tmp_path: Path,
                                                                 hub_cache: Path) -> None:
    from mlineage.sdk.autolog import transformers as integration

    old = _base_model(tmp_path / "old")
    _publish(hub_cache, "org/tiny", old, COMMIT_OLD, main=False)
    torch.manual_seed(1)
    _publish(hub_cache, "org/tiny", _base_model(tmp_path / "new"), COMMIT_NEW)
    original = vars(transformers.PreTrainedModel)["from_pretrained"]
    autolog(sklearn=False)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        "org/tiny", revision=COMMIT_OLD, local_files_only=True)
    assert integration._loads[model] == ("org/tiny", COMMIT_OLD, "requested", None)
    with mlineage.run("pinned", kind="train") as run:
        params: dict = {}
        base = integration.record_base_model(run, model, "org/tiny", params)
    assert params["base_model.revision"] == COMMIT_OLD and str(base.digest) == _folder_digest(old)
    assert base.metadata["revision_from"] == "requested"
    resolved = transformers.AutoModelForSequenceClassification.from_pretrained(
        "org/tiny", local_files_only=True
    )
    # transformers 5 resolves main to a commit before loading, and says so; transformers 4 passes None on
    assert integration._loads[resolved][1:3] in ((COMMIT_NEW, "resolved"), (None, "requested"))
    autolog(disable=True)
    assert vars(transformers.PreTrainedModel)["from_pretrained"] is original


def test_a_resumed_training_derives_from_the_checkpoint_folder(tracked: Client, tmp_path: Path) -> None:
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    args = {
        "output_dir": str(tmp_path / "out"),
        "per_device_train_batch_size": 4,
        "report_to": [],
        "use_cpu": True,
        "disable_tqdm": True,
        "save_strategy": "steps",
        "save_steps": 2,
    }
    torch.manual_seed(0)
    first = transformers.BertForSequenceClassification(config)
    transformers.Trainer(model=first, args=transformers.TrainingArguments(max_steps=2, **args),
                         train_dataset=_Data()).train()
    checkpoint = tmp_path / "out" / "checkpoint-2"
    assert checkpoint.is_dir()
    autolog(sklearn=False)
    model = transformers.BertForSequenceClassification(config)
    transformers.Trainer(model=model, args=transformers.TrainingArguments(max_steps=3, **args),
                         train_dataset=_Data()).train(resume_from_checkpoint=True)
    [run] = tracked.store.list_runs(limit=5)
    inputs, outputs = tracked.store.io_of_run(run.id)
    [resumed] = [a for a, role in inputs if role == "resumed_from"]
    [tuned] = [a for a, role in outputs if role == "model"]
    assert resumed.metadata["path"] == str(checkpoint)
    assert str(resumed.digest) == _folder_digest(checkpoint)
    assert _derived_from(tracked, str(tuned.digest)) == {str(resumed.digest)}


def test_autolog_before_import_patches_loading_before_the_trainer_is_imported(tmp_path: Path) -> None:
    import subprocess
    import sys

    _base_model(tmp_path / "tiny")
    code = (
        "import sys, mlineage\n"
        "mlineage.autolog(sklearn=False, torch=False, lightning=False)\n"
        "import transformers\n"
        "model = transformers.BertForSequenceClassification.from_pretrained('tiny', revision='v1')\n"
        "assert 'transformers.trainer' not in sys.modules\n"
        "from mlineage.sdk.autolog.transformers import _loads\n"
        "print(_loads[model])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env=subprocess_env(),
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("('tiny', 'v1', 'requested', None)"), (
        done.stderr
    )
