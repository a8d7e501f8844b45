"""Plain PyTorch: checkpoints and state dicts as model artifacts, with DERIVED_FROM links for transfer
learning.

Explicit helpers (no autolog needed):

- ``load_checkpoint(path, model=None)`` loads a checkpoint (``torch.load``), records its digest and, when a
  module is given, loads it into the module and remembers the module was initialised from that checkpoint.
- ``log_model(model_or_state_dict, run=None)`` saves a module's ``state_dict`` (or a state dict) with
  ``torch.save`` and produces it as a model artifact of the run, DERIVED_FROM every checkpoint any of its
  submodules was initialised from (plus ``derived_from=`` given explicitly).

With ``autolog()``: a ``torch.load`` from a file (a path or an open local file, which is how Lightning's
``load_from_checkpoint`` and ``fit(ckpt_path=...)`` read) is remembered by digest,
``module.load_state_dict(that)`` marks the module, and ``torch.save(module_or_state_dict, path)`` inside an
open run records the file as a model artifact with those DERIVED_FROM links. Optimizer states and
training-loop checkpoints (dicts whose values are not all tensors) are left alone. A state dict is matched to
its module by tensor storage, so ``torch.save(model.state_dict(), path)`` finds the checkpoint the backbone
was loaded from.
"""

from __future__ import annotations

import contextvars
import functools
import io
import os
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ...capture.code import file_digest
from ...model import Artifact
from ..run import ActiveRun, active_run
from ._common import produce_bytes

ROLE_BASE = "base_model"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint file a model was initialised from: its digest, where it was read, its size."""

    digest: str
    path: str
    size: int


# id(first tensor of a loaded state dict) -> (weakref to that tensor, checkpoint)
_loaded: dict[int, tuple[weakref.ref[Any], Checkpoint]] = {}
# modules initialised from checkpoints (weakly held) -> their checkpoints
_module_parents: weakref.WeakKeyDictionary[Any, list[Checkpoint]] = weakref.WeakKeyDictionary()
_saving: contextvars.ContextVar[bool] = contextvars.ContextVar("mlineage_torch_saving", default=False)
_originals: dict[str, Any] = {}
_enabled = False  # the patches stay installed once made; this says whether they record


def _first_tensor(state: Any) -> Any:
    if isinstance(state, Mapping):
        for value in state.values():
            if hasattr(value, "data_ptr"):
                return value
            if isinstance(value, Mapping):  # {"state_dict": {...}} or {"model": {...}}
                found = _first_tensor(value)
                if found is not None:
                    return found
    return None


def _remember_load(result: Any, checkpoint: Checkpoint) -> None:
    first = _first_tensor(result)
    if first is None:
        return
    try:
        _loaded[id(first)] = (weakref.ref(first), checkpoint)
    except TypeError:
        return
    if len(_loaded) > 256:  # drop entries whose tensors are gone
        for key in [k for k, (ref, _) in _loaded.items() if ref() is None]:
            del _loaded[key]


def _checkpoint_of(state: Any) -> Checkpoint | None:
    first = _first_tensor(state)
    if first is None:
        return None
    entry = _loaded.get(id(first))
    if entry is None or entry[0]() is not first:
        return None
    return entry[1]


def mark_initialised_from(module: Any, checkpoint: Checkpoint) -> None:
    """Record that ``module`` was initialised from ``checkpoint`` (load_state_dict does this under
    autolog)."""
    parents = _module_parents.setdefault(module, [])
    if checkpoint not in parents:
        parents.append(checkpoint)


def checkpoint_for(path: str | os.PathLike[str]) -> Checkpoint:
    found = file_digest(Path(path).resolve())
    if found is None:
        raise FileNotFoundError(path)
    return Checkpoint(found[0], str(Path(path).resolve()), found[1])


def load_checkpoint(path: str | os.PathLike[str], model: Any = None, *, map_location: Any = "cpu",
                    strict: bool = True, run: ActiveRun | None = None, **load_kwargs: Any) -> Any:
    """``torch.load`` a checkpoint, remember its digest, and (given ``model``) load it into the model.

    Inside an open run the checkpoint is also recorded as an input with role ``base_model``."""
    import torch

    checkpoint = checkpoint_for(path)
    load = _originals.get("load", torch.load)
    state = load(path, map_location=map_location, **load_kwargs)
    _remember_load(state, checkpoint)
    if model is not None:
        inner = state.get("state_dict", state) if isinstance(state, Mapping) else state
        model.load_state_dict(inner, strict=strict)
        mark_initialised_from(model, checkpoint)
    current = run or active_run()
    if current is not None:
        _use_checkpoint(current, checkpoint)
    return state


def _use_checkpoint(run: ActiveRun, checkpoint: Checkpoint) -> Artifact:
    if any(str(a.digest) == checkpoint.digest for a in run.inputs):
        return next(a for a in run.inputs if str(a.digest) == checkpoint.digest)
    if Path(checkpoint.path).is_file():
        return run.use(checkpoint.path, kind="model", role=ROLE_BASE, store_blob=False)
    return run.use(checkpoint.digest, role=ROLE_BASE)


def parents_of(obj: Any) -> list[Checkpoint]:
    """The checkpoints a module (any of its submodules) or a state dict was initialised from."""
    found: list[Checkpoint] = []
    modules = list(obj.modules()) if hasattr(obj, "modules") else []
    if modules:
        for module in modules:
            found.extend(_module_parents.get(module, ()))
    elif isinstance(obj, Mapping):
        direct = _checkpoint_of(obj)
        if direct is not None:
            found.append(direct)
        pointers = {v.data_ptr() for v in obj.values() if hasattr(v, "data_ptr")}
        for module, parents in list(_module_parents.items()):
            try:
                tensors = [*module.parameters(), *module.buffers()]
            except Exception:  # noqa: BLE001, S112 - a module in a broken state has no storage to match
                continue
            if any(t.data_ptr() in pointers for t in tensors if t.numel()):
                found.extend(parents)
    unique: dict[str, Checkpoint] = {}
    for checkpoint in found:
        unique.setdefault(checkpoint.digest, checkpoint)
    return list(unique.values())


def _state_dict_like(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(hasattr(v, "data_ptr") for v in obj.values())


def log_model(model: Any, path: str | os.PathLike[str] | None = None, *, run: ActiveRun | None = None,
              name: str | None = None, derived_from: Iterable[str | Artifact] = (), role: str = "model",
              metadata: dict[str, Any] | None = None) -> Artifact:
    """Save a module's state dict (or a state dict) and produce it as a model artifact of the run.

    ``path`` keeps the file there; without it the file goes straight into the blob store. The artifact is
    DERIVED_FROM every checkpoint the model was initialised from, and from ``derived_from``."""
    import torch

    current = run or active_run()
    if current is None:
        from ...errors import MlineageError

        raise MlineageError("log_model needs a run: call it inside `with mlineage.run(...)` or pass run=")
    state = model.state_dict() if hasattr(model, "state_dict") and not isinstance(model, Mapping) else model
    meta = {"framework": "pytorch", "format": "torch.save state_dict", "torch": str(torch.__version__),
            **(metadata or {})}
    if hasattr(model, "state_dict") and not isinstance(model, Mapping):
        meta["class"] = f"{type(model).__module__}.{type(model).__qualname__}"
        meta["parameters"] = int(sum(p.numel() for p in model.parameters()))
    save = _originals.get("save", torch.save)
    token = _saving.set(True)
    try:
        if path is not None:
            save(state, path)
            return _produce(current, Path(path), model, name, derived_from, role, meta)
        buffer = io.BytesIO()  # no path: serialized in memory, written once, into the blob store
        save(state, buffer)
        parents = [str(_use_checkpoint(current, c).digest) for c in parents_of(model)]
        parents += [
            str(p.digest) if isinstance(p, Artifact) else str(current._artifact_of_ref(p).digest)
            for p in derived_from
        ]
        return produce_bytes(current, buffer.getvalue(), name=name, role=role, metadata=meta,
                             media_type="application/vnd.pytorch.state-dict", derived_from=parents)
    finally:
        _saving.reset(token)


def _produce(run: ActiveRun, path: Path, model: Any, name: str | None, derived_from: Iterable[str | Artifact],
             role: str, metadata: dict[str, Any]) -> Artifact:
    parents: list[str | Artifact] = [_use_checkpoint(run, c) for c in parents_of(model)]
    parents.extend(derived_from)
    return run.produce(path, kind="model", name=name, role=role, derived_from=parents, metadata=metadata)


# ---------------------------------------------------------------- autolog patches


def _file_path(f: Any) -> str | None:
    """The file a ``torch.load`` read: a path, or an open local file (``open()``, or the fsspec file Lightning
    loads checkpoints through) by its ``name``/``path``; None for buffers and anything not a local file."""
    if not isinstance(f, (str, os.PathLike)):
        f = getattr(f, "path", None) or getattr(f, "name", None)
        if not isinstance(f, (str, os.PathLike)):
            return None
    return os.fspath(f) if os.path.isfile(f) else None


def _patched_load(original: Any) -> Any:
    @functools.wraps(original)
    def load(f: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(f, *args, **kwargs)
        path = _file_path(f) if _enabled else None
        if path is not None:
            try:
                checkpoint = checkpoint_for(path)
                _remember_load(result, checkpoint)
                current = active_run()
                if current is not None and _first_tensor(result) is not None:
                    _use_checkpoint(current, checkpoint)
            except Exception:  # noqa: BLE001, S110 - tracking must never break loading
                pass
        return result

    return load


def _patched_load_state_dict(original: Any) -> Any:
    @functools.wraps(original)
    def load_state_dict(self: Any, state_dict: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, state_dict, *args, **kwargs)
        checkpoint = _checkpoint_of(state_dict) if _enabled else None
        if checkpoint is not None:
            mark_initialised_from(self, checkpoint)
        return result

    return load_state_dict


def _patched_save(original: Any) -> Any:
    @functools.wraps(original)
    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(obj, f, *args, **kwargs)
        current = active_run() if _enabled else None
        if (current is not None and not _saving.get() and isinstance(f, (str, os.PathLike))
                and (hasattr(obj, "state_dict") and hasattr(obj, "modules") or _state_dict_like(obj))):
            try:
                _produce(current, Path(f), obj, None, (), "model",
                         {"framework": "pytorch", "format": "torch.save"})
            except Exception as exc:  # noqa: BLE001
                from ._common import log

                log.warning("mlineage autolog: torch.save(%s) not recorded: %s", f, exc)
        return result

    return save


def enable(module: ModuleType | None = None) -> None:
    """Record checkpoints: patch ``torch.load``, ``torch.save`` and ``Module.load_state_dict`` once
    (idempotent; after ``disable()`` this only switches recording back on)."""
    global _enabled
    import torch

    _enabled = True
    if _originals:
        return
    _originals["load"] = torch.load
    _originals["save"] = torch.save
    _originals["load_state_dict"] = torch.nn.Module.load_state_dict
    torch.load = _patched_load(torch.load)
    torch.save = _patched_save(torch.save)
    torch.nn.Module.load_state_dict = _patched_load_state_dict(torch.nn.Module.load_state_dict)  # type: ignore[method-assign]


def disable() -> None:
    """Stop recording. The patches stay and pass straight through: putting ``Module.load_state_dict`` back
    reassigns a class attribute, which empties CPython's attribute caches for every module class (hundreds
    with Lightning loaded), so a script that toggles autolog around each job would pay for it in the next
    steps of training (the same reason as scikit-learn's wrappers; see ``unpatch``)."""
    global _enabled
    _enabled = False


def unpatch() -> None:
    """Stop recording and put the original ``torch.load``, ``torch.save`` and ``Module.load_state_dict``
    back."""
    disable()
    if not _originals:
        return
    import torch

    torch.load = _originals.pop("load")
    torch.save = _originals.pop("save")
    torch.nn.Module.load_state_dict = _originals.pop("load_state_dict")  # type: ignore[method-assign]
