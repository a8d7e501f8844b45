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
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2)
        )

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


def test_the_callback_is_not_called_per_batch(tracked: Client, tmp_path: Path) -> None:
    """Lightning skips hooks that are not callable: the callback costs a fit nothing per step."""
    from lightning.pytorch.profilers import PassThroughProfiler

    from mlineage.sdk.autolog.lightning import MlineageCallback

    class Recorder(PassThroughProfiler):
        def __init__(self) -> None:
            super().__init__()
            self.actions: list[str] = []

        def start(self, action_name: str) -> None:
            self.actions.append(action_name)

    profiler = Recorder()
    _trainer(tmp_path, callbacks=[MlineageCallback()], profiler=profiler).fit(TinyModule(), _loader())
    ours = [a.split(".")[-1] for a in profiler.actions if a.startswith("[Callback]MlineageCallback")]
    assert {"on_fit_start", "on_train_epoch_end", "on_fit_end"} <= set(ours)
    assert not [a for a in ours if "batch" in a or "backward" in a or "optimizer" in a or "zero_grad" in a]
    implemented = {name for name in dir(MlineageCallback) if name.startswith("on_")
                   and callable(getattr(MlineageCallback, name)) and name not in ("on_save_checkpoint",
                                                                                   "on_load_checkpoint")}
    assert (
        set(ours) <= implemented and "on_train_epoch_start" not in ours
    )  # unused per-epoch hooks are off too
    [run] = tracked.store.list_runs(limit=5)
    assert run.status.value == "completed" and "train_loss" in run.metrics


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


# ---------------------------------------------------------------- the data a fit trained on


class ValidatedModule(TinyModule):
    def validation_step(self, batch: tuple, batch_idx: int, dataloader_idx: int = 0) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.cross_entropy(self.net(x), y))


class CsvDataset(torch.utils.data.Dataset):
    """Reads a file once; exposes where it came from as ``.path`` (no ``.data``)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        rows = [line.split(",") for line in path.read_text().splitlines()]
        self.x = torch.tensor([[float(v) for v in row[:4]] for row in rows])
        self.y = torch.tensor([int(row[4]) for row in rows])

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple:
        return self.x[i], self.y[i]


class Generated(torch.utils.data.Dataset):
    """Makes its samples in __getitem__: nothing to digest without iterating it."""

    def __len__(self) -> int:
        return 32

    def __getitem__(self, i: int) -> tuple:
        x = torch.randn(4, generator=torch.Generator().manual_seed(i))
        return x, int(x[0] > 0)


def _inputs(client: Client, run_id: str) -> dict[str, list]:
    inputs, _ = client.store.io_of_run(run_id)
    found: dict[str, list] = {}
    for artifact, role in inputs:
        found.setdefault(role, []).append(artifact)
    return found


def test_tensor_datasets_are_recorded_as_training_and_validation_data(
    tracked: Client, tmp_path: Path
) -> None:
    from mlineage.sdk.autolog._common import data_digest

    torch.manual_seed(0)
    x, vx = torch.randn(64, 4), torch.randn(16, 4)
    train = torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())
    val = torch.utils.data.TensorDataset(vx, (vx[:, 0] > 0).long())
    autolog(sklearn=False)
    _trainer(tmp_path).fit(ValidatedModule(), torch.utils.data.DataLoader(train, batch_size=16),
                           torch.utils.data.DataLoader(val, batch_size=8))
    [run] = tracked.store.list_runs(limit=5)
    assert run.status.value == "completed"
    assert run.params["data.train.class"] == "torch.utils.data.dataset.TensorDataset"
    assert run.params["data.train.length"] == 64 and run.params["data.train.batch_size"] == 16
    assert run.params["data.train.digested"] is True and run.params["data.val.digested"] is True
    inputs = _inputs(tracked, run.id)
    [training], [validation] = inputs["training_data"], inputs["validation_data"]
    assert (
        str(training.digest) == data_digest(*train.tensors)[0]
    )  # what sklearn's autolog gives the same arrays
    assert str(validation.digest) == data_digest(*val.tensors)[0]
    assert training.kind.value == "dataset" and training.metadata["rows"] == 64
    assert training.metadata["loader"] == "train" and validation.metadata["length"] == 16


def test_files_subsets_and_undigestible_datasets(tracked: Client, tmp_path: Path) -> None:
    import hashlib

    csv = tmp_path / "val.csv"
    csv.write_text("".join(f"{i},{i % 3},{i % 5},{i % 7},{i % 2}\n" for i in range(12)))
    torch.manual_seed(0)
    x = torch.randn(40, 4)
    full = torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())
    part, _ = torch.utils.data.random_split(full, [30, 10], generator=torch.Generator().manual_seed(0))
    val_loaders = [torch.utils.data.DataLoader(CsvDataset(csv), batch_size=4),
                   torch.utils.data.DataLoader(part, batch_size=10)]
    autolog(sklearn=False)
    _trainer(tmp_path).fit(
        ValidatedModule(), torch.utils.data.DataLoader(Generated(), batch_size=8), val_loaders
    )
    [run] = tracked.store.list_runs(limit=5)
    assert run.status.value == "completed"
    assert run.params["data.train.class"].endswith("Generated") and run.params["data.train.length"] == 32
    assert run.params["data.train.digested"] is False
    assert run.params["data.val.0.digested"] is True and run.params["data.val.1.digested"] is True
    inputs = _inputs(tracked, run.id)
    assert "training_data" not in inputs
    by_loader = {a.metadata["loader"]: a for a in inputs["validation_data"]}
    assert str(by_loader["val.0"].digest) == "sha256:" + hashlib.sha256(csv.read_bytes()).hexdigest()
    assert by_loader["val.0"].metadata["source"] == "file" and by_loader["val.0"].size == csv.stat().st_size
    from mlineage.sdk.autolog._datasets import digest_dataset

    subset = by_loader["val.1"]
    assert subset.metadata["subset_of"] == digest_dataset(full).digest and subset.metadata["indices"] == 30
    assert str(subset.digest) == digest_dataset(part).digest != digest_dataset(full).digest
    whole = tracked.resolve(digest_dataset(full).digest)  # recorded too, and the split derives from it
    assert whole.kind.value == "dataset" and whole.metadata["rows"] == 40
    assert _parents(tracked, subset.digest) == {str(whole.digest)}
    assert run.id in {getattr(n, "id", None) for n in tracked.impact(whole).nodes.values()}


# ---------------------------------------------------------------- models initialised from, or resumed from, a
# checkpoint


def _checkpoint(tmp_path: Path) -> Path:
    """A Lightning checkpoint written by ModelCheckpoint during a first, untracked fit."""
    callback = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), filename="first")
    pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=str(tmp_path),
        callbacks=[callback],
    ).fit(TinyModule(), _loader())
    return Path(callback.best_model_path)


def _parents(client: Client, child: object) -> set[str]:
    events = [e.payload for e in client.store.iter_events() if e.type == "ArtifactDerived" and e.payload]
    return {p["parent"] for p in events if p["child"] == str(child)}


def _file_digest(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("torch_autolog", [True, False])
def test_a_resumed_fit_derives_from_its_checkpoint(
    tracked: Client, tmp_path: Path, torch_autolog: bool
) -> None:
    checkpoint = _checkpoint(tmp_path)
    autolog(sklearn=False, torch=torch_autolog, transformers=False)
    best = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "resumed"), filename="best")
    pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=str(tmp_path),
        callbacks=[best],
    ).fit(TinyModule(), _loader(), ckpt_path=str(checkpoint))
    [run] = tracked.store.list_runs(limit=5)
    assert run.status.value == "completed"
    inputs = _inputs(tracked, run.id)
    [resumed] = inputs["resumed_from"]
    assert str(resumed.digest) == _file_digest(checkpoint) and "base_model" not in inputs
    _, outputs = tracked.store.io_of_run(run.id)
    by_role = {role: artifact for artifact, role in outputs}
    assert _parents(tracked, by_role["model"].digest) == {str(resumed.digest)}
    assert _parents(tracked, by_role["checkpoint"].digest) == {str(resumed.digest)}


def test_load_from_checkpoint_then_fit_derives_from_it_under_autolog(tracked: Client, tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path)
    autolog(sklearn=False, transformers=False)
    model = TinyModule.load_from_checkpoint(checkpoint)  # Lightning reads it through an fsspec file object
    _trainer(tmp_path).fit(model, _loader())
    [run] = tracked.store.list_runs(limit=5)
    [base] = _inputs(tracked, run.id)["base_model"]
    assert str(base.digest) == _file_digest(checkpoint)
    _, outputs = tracked.store.io_of_run(run.id)
    [trained] = [a for a, _ in outputs]
    assert _parents(tracked, trained.digest) == {str(base.digest)}
