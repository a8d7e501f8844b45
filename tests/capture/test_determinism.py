"""The determinism switches are recorded as JSON the ledger accepts, whatever torch reports."""

from __future__ import annotations

import sys
import types

import pytest

import mlineage
from mlineage.capture.determinism import determinism_flags
from mlineage.sdk.client import Client


def _stub_torch(seed: int) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.are_deterministic_algorithms_enabled = lambda: False  # type: ignore[attr-defined]
    torch.initial_seed = lambda: seed  # type: ignore[attr-defined]
    return torch


def test_a_64_bit_torch_seed_is_kept_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = 2**64 - 12345  # torch's default seed is any unsigned 64-bit number
    monkeypatch.setitem(sys.modules, "torch", _stub_torch(seed))
    assert determinism_flags({})["torch"]["initial_seed"] == str(seed)


@pytest.mark.full_capture
def test_a_run_records_when_torch_has_a_large_seed(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _stub_torch(13120554834702608835))
    with mlineage.run("train", kind="train", client=client) as run:
        pass
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "completed"
