"""PyTorch Lightning: ``MlineageCallback`` records a ``Trainer.fit`` as a run.

Recorded: the module's ``hparams`` and the trainer's settings as params, the optimizer class and learning
rate, every metric in ``trainer.callback_metrics`` at the end of each training and validation epoch (step =
global step), the data of the training and validation dataloaders as ``dataset`` inputs (roles
``training_data`` and ``validation_data``) when it can be digested without iterating the loader (see
``_datasets``; otherwise the dataset's class and length are params and ``data.<stage>.digested`` is false),
the checkpoint ``fit(ckpt_path=...)`` resumed from as a ``resumed_from`` input, and the trained weights
(``state_dict``) as a model artifact and the best checkpoint written by ``ModelCheckpoint``, both DERIVED_FROM
the checkpoint the fit resumed from and any checkpoint the module was initialised from (see the torch
integration). Inside an open ``mlineage.run()`` it records into that run; otherwise it opens a run for the
fit.

``autolog()`` adds the callback to every ``Trainer`` (``lightning.pytorch`` or ``pytorch_lightning``).
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from ...errors import MlineageError
from ...model import Artifact
from ..run import ActiveRun, active_run
from ._common import log, log_metrics_safely, log_params_safely
from ._datasets import record_loaders
from ._state import STATE

ROLE_RESUMED = "resumed_from"
TRAINER_SETTINGS = ("max_epochs", "max_steps", "min_epochs", "accumulate_grad_batches", "gradient_clip_val",
                    "precision", "check_val_every_n_epoch", "val_check_interval", "num_devices", "num_nodes")


class _Hooks:
    """The callback's behaviour, independent of which Lightning package provides the ``Callback`` base."""

    def __init__(self, job: str | None = None, *, log_model: bool | None = None, client: Any = None) -> None:
        super().__init__()
        self.job = job
        self.log_model = log_model
        self.client = client
        self._run: ActiveRun | None = None
        self._owned = False
        self._data_recorded: set[str] = set()  # stages whose loaders this fit has recorded
        self._resumed: list[Artifact] = []  # the checkpoint fit(ckpt_path=...) resumed from

    # ---------------------------------------------------------- run lifecycle

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        current = active_run()
        if current is None:
            job = self.job or STATE.config.job or f"lightning.{type(pl_module).__name__}.fit"
            current = ActiveRun(job, kind="train", client=self.client or STATE.config.client).__enter__()
            self._owned = True
        self._run = current
        params: dict[str, Any] = {}
        hparams = getattr(pl_module, "hparams", None)
        if hparams:
            params.update({str(k): v for k, v in dict(hparams).items()})
        for name in TRAINER_SETTINGS:
            value = getattr(trainer, name, None)
            if value is not None:
                params[f"trainer.{name}"] = value
        params["model.class"] = f"{type(pl_module).__module__}.{type(pl_module).__qualname__}"
        log_params_safely(current, params)
        self._record_resume(trainer)

    def _record_resume(self, trainer: Any) -> None:
        """``fit(ckpt_path=...)``: the checkpoint it resumed from is an input (role ``resumed_from``) and the
        trained model's DERIVED_FROM parent. Checked at fit start and train start (some strategies restore
        after setup)."""
        path = getattr(trainer, "ckpt_path", None)
        if (
            self._run is None
            or self._resumed
            or not isinstance(path, (str, os.PathLike))
            or not os.path.isfile(path)
        ):
            return
        try:
            from .torch import checkpoint_for

            digest = checkpoint_for(path).digest
            known = [a for a in self._run.inputs if str(a.digest) == digest]
            self._resumed = known or [self._run.use(path, kind="model", role=ROLE_RESUMED, store_blob=False)]
        except Exception as exc:  # noqa: BLE001
            log.warning("mlineage autolog: checkpoint %s not recorded: %s", path, exc)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if self._run is None:
            return
        self._record_resume(trainer)
        params: dict[str, Any] = {}
        for i, optimizer in enumerate(getattr(trainer, "optimizers", []) or []):
            prefix = "optimizer" if i == 0 else f"optimizer{i}"
            params[f"{prefix}.class"] = type(optimizer).__name__
            groups = getattr(optimizer, "param_groups", [])
            if groups:
                for key in ("lr", "weight_decay", "momentum"):
                    if key in groups[0]:
                        params[f"{prefix}.{key}"] = groups[0][key]
        log_params_safely(self._run, params)
        self._record_data(trainer, "train")

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._record_data(trainer, "val")

    # ---------------------------------------------------------- training data

    def _record_data(self, trainer: Any, stage: str) -> None:
        """Record the stage's dataloaders' data once per fit; never fails the fit."""
        run = self._run
        if run is None or stage in self._data_recorded:
            return
        self._data_recorded.add(stage)
        try:
            loaders = trainer.train_dataloader if stage == "train" else trainer.val_dataloaders
            record_loaders(run, loaders, stage)
        except Exception as exc:  # noqa: BLE001
            log.warning("mlineage autolog: %s data not recorded: %s", stage, exc)

    def _log_epoch(self, trainer: Any) -> None:
        if self._run is not None:
            log_metrics_safely(self._run, dict(getattr(trainer, "callback_metrics", {}) or {}),
                               step=int(getattr(trainer, "global_step", 0)))

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._log_epoch(trainer)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if not getattr(trainer, "sanity_checking", False):
            self._log_epoch(trainer)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        run = self._run
        if run is None:
            return
        try:
            wanted = STATE.config.log_models if self.log_model is None else self.log_model
            if wanted and getattr(trainer, "is_global_zero", True):
                from .torch import _use_checkpoint, log_model, parents_of

                log_model(pl_module, run=run, metadata={"framework": "pytorch-lightning"},
                          derived_from=self._resumed)
                best = getattr(getattr(trainer, "checkpoint_callback", None), "best_model_path", "")
                if best and Path(best).is_file():
                    parents = [*(_use_checkpoint(run, c) for c in parents_of(pl_module)), *self._resumed]
                    try:
                        run.produce(
                            best,
                            kind="model",
                            role="checkpoint",
                            derived_from=parents,
                            metadata={"framework": "pytorch-lightning", "format": "lightning checkpoint"},
                        )
                    except MlineageError as exc:  # e.g. the best checkpoint is the one the fit resumed from
                        log.warning("mlineage autolog: best checkpoint %s not recorded: %s", best, exc)
        finally:
            self._finish(None)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._finish(exception)

    def _finish(self, exc: BaseException | None) -> None:
        run, owned = self._run, self._owned
        self._run, self._owned = None, False
        self._data_recorded = set()
        self._resumed = []
        if run is not None and owned:
            if exc is None:
                run.__exit__(None, None, None)
            else:
                run.__exit__(type(exc), exc, exc.__traceback__)


def _package() -> str:
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            importlib.import_module(name)
            return name
        except ImportError:
            continue
    from ...errors import ConfigError

    raise ConfigError("PyTorch Lightning is not installed: pip install 'mlineage[lightning]'")


# Lightning calls every callback's hooks (with a profiler context and a state key formatted each time) unless
# the attribute is not callable: a callback that only inherits the no-op per-batch hooks adds that cost to
# every step. So every hook the callback does not implement is
# switched off (None), per-batch and per-epoch alike; the checkpoint hooks are called directly, not skipped
# when None, so they keep the base's no-ops.
CALLED_DIRECTLY = ("on_save_checkpoint", "on_load_checkpoint")


def _unused_hooks(base: type) -> list[str]:
    return [name for name in dir(base)
            if (name.startswith("on_") or name in ("setup", "teardown")) and name not in CALLED_DIRECTLY
            and callable(getattr(base, name)) and not hasattr(_Hooks, name)]


@functools.cache
def callback_class(package: str | None = None) -> type:
    """``MlineageCallback`` for a Lightning package (``lightning.pytorch`` by default)."""
    base = importlib.import_module(package or _package()).Callback
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": __doc__}
    namespace.update(dict.fromkeys(_unused_hooks(base), None))
    return type("MlineageCallback", (_Hooks, base), namespace)


def __getattr__(name: str) -> Any:
    if name == "MlineageCallback":
        return callback_class()
    raise AttributeError(name)


_patched: dict[str, Any] = {}


def enable(module: ModuleType | None = None) -> None:
    package = module.__name__ if module is not None else _package()
    trainer_cls = importlib.import_module(package).Trainer
    if package in _patched:
        return
    original = trainer_cls.__init__
    callback = callback_class(package)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        callbacks = kwargs.get("callbacks")
        if callbacks is None:
            callbacks = []
        elif not isinstance(callbacks, list):
            callbacks = list(callbacks) if isinstance(callbacks, (tuple, set)) else [callbacks]
        if not any(isinstance(c, _Hooks) for c in callbacks):
            callbacks = [*callbacks, callback()]
        kwargs["callbacks"] = callbacks
        original(self, *args, **kwargs)

    _patched[package] = (trainer_cls, original)
    setattr(trainer_cls, "__init__", __init__)  # noqa: B010
    log.debug("mlineage autolog: %s.Trainer patched", package)


def disable() -> None:
    while _patched:
        _, (trainer_cls, original) = _patched.popitem()
        setattr(trainer_cls, "__init__", original)  # noqa: B010
