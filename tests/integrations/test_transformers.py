"""Hugging Face Transformers: the Trainer callback, with a tiny model built from a config (never a hub)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlineage
from mlineage.sdk.autolog import autolog
from mlineage.sdk.client import Client

from .conftest import require

pytestmark = [pytest.mark.full_capture, pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]
torch = require("torch", "torch")
transformers = require("transformers", "transformers")
HUB_TOKEN = "hf_" + "PlantedHubTokenForTheTrainerArgs0123"


def _base_model(folder: Path) -> Path:
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2)
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
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.labels[i]}


def _trainer(model: object, tmp_path: Path, **kwargs: object) -> transformers.Trainer:
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-3,
        logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, hub_token=HUB_TOKEN,
        disable_tqdm=True,
    )
    return transformers.Trainer(model=model, args=args, train_dataset=_Data(), **kwargs)


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
    inputs, outputs = tracked.store.io_of_run(run.id)
    [base] = [a for a, role in inputs if role == "base_model"]
    [tuned] = [a for a, _ in outputs]
    assert base.kind.value == "model" and tuned.metadata["framework"] == "transformers"
    assert _derived_from(tracked, str(tuned.digest)) == {str(base.digest)}
    assert tracked.blobs.has(tuned.digest)  # the fine-tuned folder's manifest is in the blob store


def test_explicit_callback_inside_an_open_run(tracked: Client, tmp_path: Path) -> None:
    from mlineage.sdk.autolog.transformers import MlineageTrainerCallback

    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16)
    model = transformers.BertForSequenceClassification(config)  # from a config: no base model
    with mlineage.run("finetune", kind="train") as run:
        _trainer(model, tmp_path, callbacks=[MlineageTrainerCallback(log_model=False)]).train()
    [stored] = tracked.store.list_runs(limit=5)
    assert stored.id == run.id and "base_model" not in stored.params and stored.params["max_steps"] == 3
    export = "\n".join(str(e.payload) for e in tracked.store.iter_events())
    assert HUB_TOKEN not in export
