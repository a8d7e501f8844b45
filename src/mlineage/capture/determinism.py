"""The determinism switches a run executed under: what decides whether a re-run can be bit-identical.

Read on every tracked run, so it only looks: three environment variables, and torch's flags when the program
has already imported torch (mlineage never imports it). Seeds a program passes as parameters (``seed``,
``random_state``) are read from the params by the reproducibility predicate, not here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

ENV_FLAGS = ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "CUDA_LAUNCH_BLOCKING")


def determinism_flags(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"env": {...}, "torch": {...}}`` with only what is set or visible (an empty dict when nothing is).

    ``environ``: the run's already filtered variables (``environment.relevant_environ``, cached per process
    on the raw environment), so that this costs three dictionary look-ups."""
    source = os.environ if environ is None else environ
    flags: dict[str, Any] = {}
    env = {name: value for name in ENV_FLAGS if (value := source.get(name)) is not None}
    if env:
        flags["env"] = env
    torch = sys.modules.get("torch")
    if torch is not None:
        flags["torch"] = _torch_flags(torch)
    return flags


def _torch_flags(torch: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        found["deterministic_algorithms"] = bool(torch.are_deterministic_algorithms_enabled())
        # a 64-bit unsigned seed is past what JSON numbers carry exactly: kept as its decimal text
        found["initial_seed"] = str(int(torch.initial_seed()))
        cudnn = getattr(getattr(torch, "backends", None), "cudnn", None)
        if cudnn is not None:
            found["cudnn_deterministic"] = bool(cudnn.deterministic)
            found["cudnn_benchmark"] = bool(cudnn.benchmark)
    except Exception:  # noqa: BLE001, S110 - a partly initialised or stub torch must not fail the capture
        pass
    return found
