"""Plain PyTorch: checkpoints as model artifacts with DERIVED_FROM links (transfer learning), on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlineage
from mlineage.sdk.autolog import autolog
from mlineage.sdk.client import Client

from .conftest import require

pytestmark = pytest.mark.full_capture
torch = require("torch", "torch")


class Net(torch.nn.Module):
    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU())
        self.head = torch.nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def _train(model: torch.nn.Module, steps: int = 5) -> None:
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def _derived_from(client: Client, child: str) -> set[str]:
    events = [e.payload for e in client.store.iter_events() if e.type == "ArtifactDerived" and e.payload]
    return {p["parent"] for p in events if p["child"] == child}


def test_explicit_helpers_link_fine_tuned_model_to_its_base(tracked: Client, tmp_path: Path) -> None:
    from mlineage.sdk.autolog.torch import load_checkpoint, log_model

    base_path = tmp_path / "pretrained.pt"
    with mlineage.run("pretrain", kind="train"):
        pretrained = Net()
        _train(pretrained)
        base = log_model(pretrained, base_path)
    assert base.kind.value == "model" and base.metadata["class"].endswith("Net")

    with mlineage.run("finetune", kind="train") as run:
        model = Net(classes=3)
        backbone_state = {k.removeprefix("backbone."): v for k, v in
                          load_checkpoint(base_path).items() if k.startswith("backbone.")}
        model.backbone.load_state_dict(backbone_state)
        from mlineage.sdk.autolog.torch import checkpoint_for, mark_initialised_from

        mark_initialised_from(model.backbone, checkpoint_for(base_path))
        _train(model)
        tuned = log_model(model)  # no path: straight into the blob store
    assert tracked.blobs.has(tuned.digest)
    assert _derived_from(tracked, str(tuned.digest)) == {str(base.digest)}
    inputs, _ = tracked.store.io_of_run(run.id)
    assert (str(base.digest), "base_model") in {(str(a.digest), r) for a, r in inputs}


def test_load_checkpoint_into_a_model(tracked: Client, tmp_path: Path) -> None:
    from mlineage.sdk.autolog.torch import load_checkpoint, log_model

    path = tmp_path / "weights.pt"
    torch.save(Net().state_dict(), path)
    with mlineage.run("resume"):
        model = Net()
        load_checkpoint(path, model)
        child = log_model(model)
    [parent] = _derived_from(tracked, str(child.digest))
    assert tracked.artifact(parent).metadata["path"] == str(path.resolve())


def test_autolog_follows_load_state_dict_and_save(tracked: Client, tmp_path: Path) -> None:
    assert autolog(sklearn=False)["torch"] == "enabled"
    base_path, tuned_path, optim_path = tmp_path / "base.pt", tmp_path / "tuned.pt", tmp_path / "optim.pt"
    torch.save(Net().state_dict(), base_path)  # outside a run: not recorded
    assert tracked.store.list_runs(limit=1) == []

    pretrained = torch.load(base_path)  # loaded before the run starts, as scripts usually do
    model = Net(classes=3)
    model.backbone.load_state_dict({k.removeprefix("backbone."): v for k, v in pretrained.items()
                                    if k.startswith("backbone.")})
    with mlineage.run("transfer", kind="train") as run:
        _train(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.save(optimizer.state_dict(), optim_path)  # not a model: left alone
        torch.save(model.state_dict(), tuned_path)
    _, outputs = tracked.store.io_of_run(run.id)
    [tuned] = [a for a, _ in outputs]
    assert tuned.metadata["path"] == str(tuned_path)
    [parent] = _derived_from(tracked, str(tuned.digest))
    assert tracked.artifact(parent).metadata["path"] == str(base_path.resolve())

    patched = (torch.save, torch.load, torch.nn.Module.load_state_dict)
    autolog(disable=True)  # the patches stay, passing straight through
    assert (torch.save, torch.load, torch.nn.Module.load_state_dict) == patched
    with mlineage.run("after autolog was turned off") as quiet:
        torch.save(model.state_dict(), tmp_path / "quiet.pt")
        model.load_state_dict(torch.load(tuned_path))
    inputs, outputs = tracked.store.io_of_run(quiet.id)
    assert outputs == [] and {role for _, role in inputs} == {"code", "environment"}  # no checkpoint

    assert autolog(sklearn=False)["torch"] == "enabled"  # on again: the same patches record again
    assert (torch.save, torch.load, torch.nn.Module.load_state_dict) == patched
    with mlineage.run("on again") as again:
        torch.save(model.state_dict(), tmp_path / "again.pt")
    assert len(tracked.store.io_of_run(again.id)[1]) == 1

    from mlineage.sdk.autolog import torch as torch_autolog

    torch_autolog.unpatch()
    assert not hasattr(torch.save, "__wrapped__") and not hasattr(torch.load, "__wrapped__")
    assert not hasattr(torch.nn.Module.load_state_dict, "__wrapped__")


def test_environment_manifest_reports_accelerators_once_torch_is_loaded(tmp_path: Path) -> None:
    from mlineage.capture import environment, hardware

    environment.clear_cache()
    hardware.accelerators.cache_clear()
    doc = environment.environment_manifest(tmp_path)
    accelerators = doc["accelerators"]
    assert accelerators["torch"] == str(torch.__version__)
    assert accelerators["gpus"] == [] or all(isinstance(g, str) for g in accelerators["gpus"])
    assert "cuda" in accelerators and "cudnn" in accelerators
