"""PyTorch Lightning: the callback records a fit (params, epoch metrics, trained weights), on the CPU."""

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
pl = require("lightning.pytorch", "lightning")


class TinyModule(pl.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

    def training_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader() -> torch.utils.data.DataLoader:
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    dataset = torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())
    return torch.utils.data.DataLoader(dataset, batch_size=16)


def _trainer(tmp_path: Path, **kwargs: object) -> pl.Trainer:
    return pl.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", default_root_dir=str(tmp_path), **kwargs)


def test_autolog_adds_the_callback_and_records_the_fit(tracked: Client, tmp_path: Path) -> None:
    assert autolog(sklearn=False)["lightning"] == "enabled"
    _trainer(tmp_path).fit(TinyModule(lr=0.05), _loader())
    [run] = tracked.store.list_runs(limit=5)
    assert run.job == "lightning.TinyModule.fit" and run.status.value == "completed"
    assert run.params["lr"] == 0.05 and run.params["hidden"] == 8 and run.params["trainer.max_epochs"] == 2
    assert run.params["optimizer.class"] == "SGD" and run.params["optimizer.lr"] == 0.05
    assert "train_loss" in run.metrics
    history = tracked.store.metric_history(run.id, "train_loss")
    assert [step for step, _, _ in history] == [4, 8]  # per epoch, at the global step
    _, outputs = tracked.store.io_of_run(run.id)
    [model] = [a for a, _ in outputs]
    assert model.kind.value == "model" and model.metadata["framework"] == "pytorch-lightning"


def test_explicit_callback_inside_an_open_run(tracked: Client, tmp_path: Path) -> None:
    from mlineage.sdk.autolog.lightning import MlineageCallback

    with mlineage.run("experiment", kind="train") as run:
        _trainer(tmp_path, callbacks=[MlineageCallback(log_model=False)]).fit(TinyModule(), _loader())
    [stored] = tracked.store.list_runs(limit=5)
    assert stored.id == run.id and stored.params["lr"] == 0.05
    _, outputs = tracked.store.io_of_run(run.id)
    assert outputs == []


def test_a_failing_fit_is_recorded_as_failed(tracked: Client, tmp_path: Path) -> None:
    class Broken(TinyModule):
        def training_step(self, batch: tuple, batch_idx: int) -> torch.Tensor:
            raise RuntimeError("diverged")

    autolog(sklearn=False)
    with pytest.raises(RuntimeError, match="diverged"):
        _trainer(tmp_path).fit(Broken(), _loader())
    [run] = tracked.store.list_runs(limit=5)
    assert run.status.value == "failed" and run.error == {"type": "RuntimeError", "message": "diverged"}
