"""scikit-learn: every estimator's ``fit`` and ``partial_fit`` recorded, with no change to the training code.

What a ``fit`` records: the estimator's params (``get_params(deep=True)``), a digest of the training data
computed from the arrays or frames (X and y), the fitted estimator pickled and produced as a model artifact,
and score metrics when available (``training_score`` = ``estimator.score(X, y)``, plus ``best_score_`` and
``oob_score_`` when the estimator has them). Only the outermost call is recorded: a ``Pipeline`` or a
``GridSearchCV`` is one record, not one per inner fit.

``partial_fit`` inside an open run accumulates: params once, a running digest over every batch, a batch
counter; the data and the model are recorded when the run ends. Outside an open run each call is a run.

Patching needs no import of the estimators: classes already defined are found through
``BaseEstimator.__subclasses__()``, classes defined later (an ``import sklearn.ensemble`` after ``autolog()``)
are patched as they are created, through ``BaseEstimator.__init_subclass__``.

``autolog(disable=True)`` switches recording off but leaves the wrappers in place, passing straight through
(one extra call per ``fit``): putting every wrapped method back and wrapping them again on
the next ``autolog()`` reassigns class attributes, which empties CPython's attribute caches for every
estimator class, so toggling would cost each later fit more than the recording itself.
``unpatch()`` restores the original methods.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import pickle
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ...background import Background
from ...model import Artifact, Digest
from ..run import ActiveRun, active_run
from ._common import (
    data_digest,
    log,
    log_metrics_safely,
    log_params_safely,
    produce_bytes,
    record_input_digest,
    tracked_run,
)
from ._state import STATE

METHODS = ("fit", "partial_fit")
_WRAPPED = "__mlineage_wrapped__"
_inside_fit: contextvars.ContextVar[bool] = contextvars.ContextVar("mlineage_sklearn_fit", default=False)
_patched: list[tuple[type, str, Any]] = []  # (class, method name, original attribute) to undo
_init_subclass_original: list[Any] = []
_enabled = False


def _split_xy(method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    x = args[0] if args else kwargs.get("X", kwargs.get("x"))
    y = args[1] if len(args) > 1 else kwargs.get("y", kwargs.get("Y"))
    return x, y


def _estimator_params(estimator: Any) -> dict[str, Any]:
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001 - a third-party estimator with a broken get_params
        return {}
    return dict(params)


# A pickled model at least this large is hashed into the blob store on a thread while the training data is
# digested on this one: both hashes release the GIL, so on two cores they overlap. Below it a thread costs
# more than it saves (docs/benchmarks.md, autolog).
BACKGROUND_STORE_MIN = 256 << 10


def log_estimator(run: ActiveRun, estimator: Any, x: Any = None, y: Any = None, *, prefix: str = "",
                  log_model: bool = True, training_score: bool = True) -> Artifact | None:
    """Record one fitted estimator into ``run`` (the explicit API; autolog calls it after each ``fit``).

    An estimator that cannot be pickled still has its params, data and metrics recorded; then the pickling
    error is raised."""
    log_params_safely(run, _estimator_params(estimator), prefix)
    pickled: bytes | None = None
    failure: Exception | None = None
    if log_model:
        try:
            pickled = pickle.dumps(estimator, protocol=5)
        except Exception as exc:  # noqa: BLE001 - raised once the rest is recorded
            failure = exc
    stored = (Background(functools.partial(run.client.blobs.put_bytes, pickled), "mlineage-model-store")
              if pickled is not None and len(pickled) >= BACKGROUND_STORE_MIN else None)
    if x is not None:
        digest, meta = data_digest(x, y)
        record_input_digest(run, digest, kind="dataset", role="training_data", metadata=meta)
    metrics: dict[str, Any] = {}
    if training_score and y is not None and x is not None and hasattr(estimator, "score"):
        try:
            metrics[f"{prefix}training_score"] = estimator.score(x, y)
        except Exception:  # noqa: BLE001, S110 - e.g. a clusterer whose score needs other arguments
            pass
    for attribute in ("best_score_", "oob_score_"):
        value = getattr(estimator, attribute, None)
        if isinstance(value, (int, float)):
            metrics[f"{prefix}{attribute.rstrip('_')}"] = value
    log_metrics_safely(run, metrics)
    if failure is not None:
        raise failure
    if pickled is None:
        return None
    return _produce_pickle(run, estimator, pickled, stored.result() if stored is not None else None)


def save_model(run: ActiveRun, estimator: Any, *, name: str | None = None, role: str = "model") -> Artifact:
    """Pickle a fitted estimator and produce it as a model artifact of ``run``."""
    return _produce_pickle(run, estimator, pickle.dumps(estimator, protocol=5), None, name=name, role=role)


def _produce_pickle(run: ActiveRun, estimator: Any, pickled: bytes, stored: Digest | None, *,
                    name: str | None = None, role: str = "model") -> Artifact:
    cls = type(estimator)
    return produce_bytes(run, pickled, name=name, role=role, stored_as=stored,
                         media_type="application/vnd.python.pickle", metadata={
                             "framework": "scikit-learn", "class": f"{cls.__module__}.{cls.__qualname__}",
                             "format": "pickle", "protocol": 5,
                         })


class _PartialFitState:
    """What ``partial_fit`` calls inside one run add up to, written when the run ends."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.hash = hashlib.sha256(b"mlineage.batches/1\0")
        self.batches = 0
        self.rows = 0

    def add(self, x: Any, y: Any) -> None:
        digest, meta = data_digest(x, y)
        self.hash.update(digest.encode())
        self.batches += 1
        self.rows += int(meta.get("rows", 0))

    def finish(self, run: ActiveRun) -> None:
        record_input_digest(run, "sha256:" + self.hash.hexdigest(), kind="dataset", role="training_data",
                            metadata={"source": "in-memory", "batches": self.batches, "rows": self.rows})
        if STATE.config.log_models:
            save_model(run, self.estimator)


_partial: dict[tuple[str, int], _PartialFitState] = {}


def _record_partial_fit(run: ActiveRun, estimator: Any, x: Any, y: Any) -> None:
    key = (run.id, id(estimator))
    state = _partial.get(key)
    if state is None:
        state = _partial[key] = _PartialFitState(estimator)
        log_params_safely(run, _estimator_params(estimator))

        def finalize(ended: ActiveRun) -> None:
            found = _partial.pop(key, None)
            if found is not None:
                found.finish(ended)

        run.add_finalizer(finalize)
    state.add(x, y)
    log_metrics_safely(run, {"partial_fit_batches": state.batches}, step=state.batches)


def _wrap(cls: type, method_name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _enabled or _inside_fit.get():
            return original(self, *args, **kwargs)
        token = _inside_fit.set(True)
        try:
            x, y = _split_xy(original, args, kwargs)
            if method_name == "partial_fit" and active_run() is not None:
                result = original(self, *args, **kwargs)
                _record_partial_fit(active_run(), self, x, y)  # type: ignore[arg-type]
                return result
            job = f"sklearn.{type(self).__name__}.{method_name}"
            with tracked_run(job) as (run, _owned):
                result = original(self, *args, **kwargs)
                try:
                    log_estimator(run, self, x, y, log_model=STATE.config.log_models,
                                  training_score=STATE.config.log_training_score)
                except Exception as exc:  # noqa: BLE001 - the fit succeeded: recording must not undo that
                    log.warning(
                        "mlineage autolog: %s not fully recorded: %s: %s", job, type(exc).__name__, exc
                    )
            return result
        finally:
            _inside_fit.reset(token)

    setattr(wrapper, _WRAPPED, True)
    return wrapper


def _patch_class(cls: type) -> None:
    for name in METHODS:
        attribute = cls.__dict__.get(name)
        if attribute is None or getattr(attribute, _WRAPPED, False) or not callable(attribute):
            continue
        _patched.append((cls, name, attribute))
        setattr(cls, name, _wrap(cls, name, attribute))


def _all_subclasses(root: type) -> list[type]:
    seen: dict[type, None] = {}
    stack: list[type] = [root]
    while stack:
        subclasses: list[type] = stack.pop().__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen[sub] = None
                stack.append(sub)
    return list(seen)


def enable(module: ModuleType | None = None) -> None:
    """Record every estimator's fits: patch every class once, now and as new ones are defined (idempotent;
    after ``disable()`` this only switches recording back on)."""
    global _enabled
    from sklearn.base import BaseEstimator

    _enabled = True
    if _init_subclass_original:
        return  # patched before: every class defined since then was patched by the hook below
    original = inspect.getattr_static(BaseEstimator, "__init_subclass__")
    _init_subclass_original.append(BaseEstimator.__dict__.get("__init_subclass__"))

    def __init_subclass__(cls: Any, /, **kwargs: Any) -> None:
        if isinstance(original, classmethod):
            original.__func__(cls, **kwargs)
        else:
            super(BaseEstimator, cls).__init_subclass__(**kwargs)
        _patch_class(cls)  # also while recording is off: the wrapper passes through then

    setattr(BaseEstimator, "__init_subclass__", classmethod(__init_subclass__))  # noqa: B010
    for cls in _all_subclasses(BaseEstimator):
        _patch_class(cls)


def disable() -> None:
    """Stop recording. The wrappers stay and pass straight through (see the module docstring)."""
    global _enabled
    _enabled = False
    _partial.clear()


def unpatch() -> None:
    """Stop recording and put every original ``fit``/``partial_fit`` and ``__init_subclass__`` back."""
    disable()
    while _patched:
        cls, name, original = _patched.pop()
        setattr(cls, name, original)
    if _init_subclass_original:
        from sklearn.base import BaseEstimator

        previous = _init_subclass_original.pop()
        if previous is None:
            delattr(BaseEstimator, "__init_subclass__")
        else:
            setattr(BaseEstimator, "__init_subclass__", previous)  # noqa: B010
