"""Hugging Face Transformers: ``MlineageTrainerCallback`` records a ``Trainer.train`` as a run.

Recorded: the ``TrainingArguments`` as params (``hub_token`` and other credentials redacted by the SDK), the
base model (a local ``from_pretrained`` folder is recorded by its manifest digest as an input with role
``base_model``; a hub id is recorded as the ``base_model`` param, since it cannot be digested without
downloading it), every numeric value the Trainer logs (loss, learning rate, eval metrics) with its global step,
and the fine-tuned model (``save_pretrained`` into the blob store) DERIVED_FROM the base model.
Inside an open ``mlineage.run()`` it records into that run; otherwise it opens one for the training.

``autolog()`` adds the callback to every ``Trainer``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from ...model import Artifact
from ..run import ActiveRun, active_run
from ._common import json_param, log_metrics_safely, log_params_safely, scratch_dir
from ._state import STATE

ROLE_BASE = "base_model"


def base_model_path(model: Any) -> str | None:
    """Where the model was loaded from: ``name_or_path`` (a folder or a hub id), if anything."""
    name = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
    return str(name) if name else None


class _Hooks:
    def __init__(self, job: str | None = None, *, log_model: bool | None = None, client: Any = None) -> None:
        self.job = job
        self.log_model = log_model
        self.client = client
        self._run: ActiveRun | None = None
        self._owned = False
        self._base: list[str | Artifact] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        current = active_run()
        if current is None:
            name = type(model).__name__ if model is not None else "model"
            job = self.job or STATE.config.job or f"transformers.{name}.train"
            current = ActiveRun(job, kind="train", client=self.client or STATE.config.client).__enter__()
            self._owned = True
        self._run = current
        params = {k: json_param(v) for k, v in (args.to_dict() if hasattr(args, "to_dict") else {}).items()}
        if model is not None:
            params["model.class"] = type(model).__name__
            params["model.parameters"] = int(sum(p.numel() for p in model.parameters()))
            base = base_model_path(model)
            if base:
                params["base_model"] = base if not os.path.isdir(base) else Path(base).name
                if os.path.isdir(base):
                    self._base.append(current.use(base, kind="model", role=ROLE_BASE, store_blob=False))
            from .torch import _use_checkpoint, parents_of

            self._base.extend(_use_checkpoint(current, c) for c in parents_of(model))
        log_params_safely(current, params)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        if self._run is not None and logs:
            log_metrics_safely(self._run, logs, step=int(getattr(state, "global_step", 0) or 0))

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        run = self._run
        if run is None:
            return
        try:
            wanted = STATE.config.log_models if self.log_model is None else self.log_model
            if wanted and model is not None and getattr(state, "is_world_process_zero", True):
                self.save_model(run, model)
        finally:
            self._finish()

    def save_model(self, run: ActiveRun, model: Any) -> Artifact:
        with scratch_dir() as folder:
            target = folder / "model"
            model.save_pretrained(target)
            return run.produce(target, kind="model", role="model", derived_from=list(self._base), metadata={
                "framework": "transformers", "class": type(model).__name__, "format": "save_pretrained",
                "path": target.name,  # a scratch folder: only the blob store keeps it
            })

    def _finish(self) -> None:
        run, owned = self._run, self._owned
        self._run, self._owned, self._base = None, False, []
        if run is not None and owned:
            run.__exit__(None, None, None)


@functools.cache
def callback_class() -> type:
    from transformers import TrainerCallback

    return type("MlineageTrainerCallback", (_Hooks, TrainerCallback), {"__module__": __name__, "__doc__": __doc__})


def __getattr__(name: str) -> Any:
    if name == "MlineageTrainerCallback":
        return callback_class()
    raise AttributeError(name)


_patched: list[tuple[type, Any, Any]] = []


def enable(module: ModuleType | None = None) -> None:
    if _patched:
        return
    from transformers import Trainer

    original_init = Trainer.__init__
    original_train = Trainer.train
    callback = callback_class()

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not any(isinstance(c, _Hooks) for c in self.callback_handler.callbacks):
            self.add_callback(callback())

    @functools.wraps(original_train)
    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_train(self, *args, **kwargs)
        except BaseException as exc:  # a failed training is recorded as a failed run
            for hooks in [c for c in self.callback_handler.callbacks if isinstance(c, _Hooks)]:
                run, owned = hooks._run, hooks._owned
                hooks._run, hooks._owned = None, False
                if run is not None and owned:
                    run.__exit__(type(exc), exc, exc.__traceback__)
            raise

    _patched.append((Trainer, original_init, original_train))
    Trainer.__init__ = __init__  # type: ignore[method-assign]
    Trainer.train = train  # type: ignore[method-assign]


def disable() -> None:
    while _patched:
        trainer_cls, original_init, original_train = _patched.pop()
        setattr(trainer_cls, "__init__", original_init)  # noqa: B010
        setattr(trainer_cls, "train", original_train)  # noqa: B010
