"""Hugging Face Transformers: ``MlineageTrainerCallback`` records a ``Trainer.train`` as a run.

Recorded: the ``TrainingArguments`` as params (``hub_token`` and other credentials redacted by the SDK), the
base model as an input with role ``base_model`` -- a local ``from_pretrained`` folder by its manifest digest;
a hub id (``"org/name"``) by the content digest of its snapshot in the local Hugging Face cache, named by the
id, with the commit in its metadata (no network: see ``_hub``); a hub id that is not in a local cache stays a
``base_model`` param with ``base_model.resolved=false`` -- every numeric value the Trainer logs (loss,
learning rate, eval metrics) with its global step, the training (and first evaluation's) dataloader's data as
a ``training_data`` (``validation_data``) input when it can be digested without iterating it (else its class
and length as ``data.train.*`` params; see ``_datasets``), and the fine-tuned model (``save_pretrained`` into
the blob store) DERIVED_FROM the base model (and, under autolog, from the checkpoint folder
``train(resume_from_checkpoint=...)`` resumed from, recorded as a ``resumed_from`` input). Inside an open
``mlineage.run()`` it records into that run; otherwise it opens one for the training.

``autolog()`` adds the callback to every ``Trainer`` and remembers the ``revision=``/``cache_dir=`` each
``from_pretrained`` was given, so the snapshot found is the one loaded (without autolog:
``config._commit_hash`` where transformers keeps it, else the cache's ``refs/main``).
"""

from __future__ import annotations

import functools
import os
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any

from ...model import Artifact
from ..run import ActiveRun, active_run
from ._common import json_param, log, log_metrics_safely, log_params_safely, record_input_digest, scratch_dir
from ._datasets import record_loaders
from ._hub import MANIFEST_MEDIA_TYPE, find_hub_snapshot, looks_like_hub_id, snapshot_of
from ._state import STATE

ROLE_BASE = "base_model"
ROLE_RESUMED = "resumed_from"
# models loaded under autolog -> (name or path, revision, how it is known, cache_dir=) from from_pretrained
_loads: weakref.WeakKeyDictionary[Any, tuple[str, str | None, str, str | None]] = weakref.WeakKeyDictionary()


def base_model_path(model: Any) -> str | None:
    """Where the model was loaded from: ``name_or_path`` (a folder or a hub id), if anything."""
    name = getattr(model, "name_or_path", None) or getattr(
        getattr(model, "config", None), "_name_or_path", None
    )
    return str(name) if name else None


def record_base_model(run: ActiveRun, model: Any, base: str, params: dict[str, Any]) -> Artifact | None:
    """Record the folder or cached hub snapshot ``model`` was loaded from as a ``base_model`` input (adding
    what it found to ``params``); None when it is neither (the hub id is then only a param)."""
    if os.path.isdir(base):
        params["base_model"] = Path(base).name
        snap = snapshot_of(base)
        metadata: dict[str, Any] = {"path": str(base), "files": snap.files}
        return _use_digest(run, snap.digest, snap.size, metadata, name=None)
    params["base_model"] = base
    if not looks_like_hub_id(base):
        params["base_model.resolved"] = False
        return None
    loaded = _loads.get(model)
    revision, origin, cache_dir = loaded[1:] if loaded is not None and loaded[0] == base else (None, "", None)
    config_commit = getattr(getattr(model, "config", None), "_commit_hash", None)
    try:
        found = find_hub_snapshot(base, revision, config_commit=config_commit, cache_dir=cache_dir,
                                  revision_from=origin or "requested")
    except OSError as exc:  # an unreadable cache: the run still records the id
        log.warning("mlineage autolog: base model %s not digested: %s", base, exc)
        found = None
    params["base_model.resolved"] = found is not None
    if found is None:
        return None
    params["base_model.revision"] = found.revision
    snap = found.snapshot
    return _use_digest(run, snap.digest, snap.size, name=base, metadata={
        "source": "huggingface-hub", "hub_id": base, "revision": found.revision,
        "revision_from": found.revision_from, "path": str(snap.folder), "files": snap.files,
    })


def _use_digest(run: ActiveRun, digest: str, size: int, metadata: dict[str, Any], name: str | None,
                role: str = ROLE_BASE) -> Artifact:
    for artifact in run.inputs:
        if str(artifact.digest) == digest:
            return artifact
    return record_input_digest(run, digest, kind="model", role=role, metadata=metadata, size=size, name=name,
                               media_type=MANIFEST_MEDIA_TYPE)


class _Hooks:
    def __init__(self, job: str | None = None, *, log_model: bool | None = None, client: Any = None) -> None:
        self.job = job
        self.log_model = log_model
        self.client = client
        self._run: ActiveRun | None = None
        self._owned = False
        self._base: list[str | Artifact] = []
        self._resume: str | None = None  # the checkpoint folder train(resume_from_checkpoint=...) reads
        self._evaluated = False  # the evaluation data of this training is recorded

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
                try:
                    recorded = record_base_model(current, model, base, params)
                except Exception as exc:  # noqa: BLE001 - tracking must never break training
                    log.warning("mlineage autolog: base model %s not recorded: %s", base, exc)
                    params.setdefault("base_model", base)
                    params["base_model.resolved"] = False
                    recorded = None
                if recorded is not None:
                    self._base.append(recorded)
            from .torch import _use_checkpoint, parents_of

            self._base.extend(_use_checkpoint(current, c) for c in parents_of(model))
        if self._resume is not None and os.path.isdir(self._resume):
            snap = snapshot_of(self._resume)
            self._base.append(_use_digest(current, snap.digest, snap.size, role=ROLE_RESUMED, name=None,
                                          metadata={"path": self._resume, "files": snap.files,
                                                    "format": "trainer checkpoint"}))
        log_params_safely(current, params)
        loader = kwargs.get("train_dataloader")
        if loader is not None:
            try:
                record_loaders(current, loader, "train")
            except Exception as exc:  # noqa: BLE001 - tracking must never break training
                log.warning("mlineage autolog: training data not recorded: %s", exc)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """The first evaluation during a training: its dataloader's data as ``validation_data``."""
        loader = kwargs.get("eval_dataloader")
        if self._run is None or self._evaluated or loader is None:
            return
        self._evaluated = True
        try:
            record_loaders(self._run, loader, "val")
        except Exception as exc:  # noqa: BLE001 - tracking must never break training
            log.warning("mlineage autolog: evaluation data not recorded: %s", exc)

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
        self._run, self._owned, self._base, self._resume, self._evaluated = None, False, [], None, False
        if run is not None and owned:
            run.__exit__(None, None, None)


@functools.cache
def callback_class() -> type:
    from transformers import TrainerCallback

    return type(
        "MlineageTrainerCallback", (_Hooks, TrainerCallback), {"__module__": __name__, "__doc__": __doc__}
    )


def __getattr__(name: str) -> Any:
    if name == "MlineageTrainerCallback":
        return callback_class()
    raise AttributeError(name)


def _resume_folder(trainer: Any, resume: Any) -> str | None:
    """The checkpoint folder ``train(resume_from_checkpoint=...)`` will read (``True``: the last one)."""
    if resume is True:
        from transformers.trainer_utils import get_last_checkpoint

        output_dir = getattr(trainer.args, "output_dir", None)
        resume = None
        if output_dir and os.path.isdir(output_dir):
            resume = get_last_checkpoint(output_dir)  # type: ignore[no-untyped-call]
    if isinstance(resume, (str, os.PathLike)) and os.path.isdir(resume):
        return os.fspath(resume)
    return None


_patched: list[tuple[type, str, Any]] = []  # (class, attribute, original), restored in reverse


def _patch(cls: type, attribute: str, replacement: Any) -> None:
    _patched.append((cls, attribute, cls.__dict__[attribute]))
    setattr(cls, attribute, replacement)


def enable_loading(module: ModuleType | None = None) -> None:
    """Remember what each ``from_pretrained`` was given (``revision=``, ``cache_dir=``). Autolog calls this as
    soon as ``transformers.modeling_utils`` is imported, since models are often loaded before the Trainer
    is."""
    from transformers import PreTrainedModel

    if any(cls is PreTrainedModel and attribute == "from_pretrained" for cls, attribute, _ in _patched):
        return
    load = PreTrainedModel.__dict__["from_pretrained"].__func__  # unwrap the classmethod

    @functools.wraps(load)
    def from_pretrained(cls: Any, *args: Any, **kwargs: Any) -> Any:
        result = load(cls, *args, **kwargs)
        try:
            name = args[0] if args else kwargs.get("pretrained_model_name_or_path")
            model = result[0] if isinstance(result, tuple) else result  # output_loading_info=True
            if isinstance(name, (str, os.PathLike)):
                revision, cache_dir = kwargs.get("revision"), kwargs.get("cache_dir")
                commit = getattr(
                    revision, "resolved", None
                )  # a huggingface_hub ResolvedRevision (Auto classes)
                if isinstance(commit, str) and commit:
                    origin = "resolved" if getattr(revision, "initial", None) is None else "requested"
                    revision = commit
                else:
                    origin = "requested"
                _loads[model] = (str(name), str(revision) if revision else None, origin,
                                 str(cache_dir) if cache_dir else None)
        except Exception:  # noqa: BLE001, S110 - tracking must never break loading
            pass
        return result

    _patch(PreTrainedModel, "from_pretrained", classmethod(from_pretrained))


def enable(module: ModuleType | None = None) -> None:
    from transformers import Trainer

    enable_loading()
    if any(cls is Trainer for cls, _, _ in _patched):
        return
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
            resume = _resume_folder(self, kwargs.get("resume_from_checkpoint", args[0] if args else None))
            for hooks in [c for c in self.callback_handler.callbacks if isinstance(c, _Hooks)]:
                hooks._resume = resume
        except Exception:  # noqa: BLE001, S110 - tracking must never break training
            pass
        try:
            return original_train(self, *args, **kwargs)
        except BaseException as exc:  # a failed training is recorded as a failed run
            for hooks in [c for c in self.callback_handler.callbacks if isinstance(c, _Hooks)]:
                run, owned = hooks._run, hooks._owned
                hooks._run, hooks._owned = None, False
                if run is not None and owned:
                    run.__exit__(type(exc), exc, exc.__traceback__)
            raise

    _patch(Trainer, "__init__", __init__)
    _patch(Trainer, "train", train)


def disable() -> None:
    while _patched:
        cls, attribute, original = _patched.pop()
        setattr(cls, attribute, original)
