"""``mlineage.autolog()``: one line turns on tracking for every installed ML library.

Each integration lives in its own module and imports its library lazily: ``autolog()`` itself imports none of
them. A library that is already imported is patched at once; one that is installed but not yet imported is
patched right after the program imports it (a post-import hook), so ``autolog()`` at the top of a script costs
microseconds. Integrations are also usable explicitly:

- ``mlineage.sdk.autolog.sklearn``: ``fit``/``partial_fit`` of every estimator → params, training-data digest,
  the fitted model as an artifact, score metrics.
- ``mlineage.sdk.autolog.torch``: ``log_model`` / ``load_checkpoint`` helpers; with autolog, ``torch.load`` +
  ``load_state_dict`` + ``torch.save`` record checkpoints with DERIVED_FROM links (transfer learning).
- ``mlineage.sdk.autolog.lightning``: ``MlineageCallback`` for PyTorch Lightning.
- ``mlineage.sdk.autolog.transformers``: ``MlineageTrainerCallback`` for the Hugging Face ``Trainer``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ._hooks import when_imported
from ._state import STATE, AutologConfig

__all__ = ["INTEGRATIONS", "AutologConfig", "autolog"]


@dataclass(frozen=True)
class Integration:
    name: str
    modules: tuple[str, ...]  # the first of these that is installed is hooked
    extra: str  # pip install mlineage[extra]
    implementation: str  # our module with enable(module) / disable()
    early: tuple[str, str] | None = None  # (module, our function): patched as soon as that module is imported


INTEGRATIONS: dict[str, Integration] = {
    "sklearn": Integration("sklearn", ("sklearn",), "sklearn", "mlineage.sdk.autolog.sklearn"),
    "torch": Integration("torch", ("torch",), "torch", "mlineage.sdk.autolog.torch"),
    "lightning": Integration("lightning", ("lightning.pytorch", "pytorch_lightning"), "lightning",
                             "mlineage.sdk.autolog.lightning"),
    "transformers": Integration("transformers", ("transformers.trainer",), "transformers",
                                "mlineage.sdk.autolog.transformers",
                                early=("transformers.modeling_utils", "enable_loading")),
}


def _installed(module: str) -> bool:
    top = module.split(".", 1)[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _enabler(integration: Integration, function: str = "enable") -> Callable[[ModuleType], None]:
    def enable(module: ModuleType) -> None:
        if STATE.enabled.get(integration.name) is not None:
            getattr(importlib.import_module(integration.implementation), function)(module)

    return enable


def autolog(*, sklearn: bool | None = None, torch: bool | None = None, lightning: bool | None = None,
            transformers: bool | None = None, disable: bool = False, log_models: bool = True,
            log_training_score: bool = False, job: str | None = None, client: Any = None) -> dict[str, str]:
    """Turn on every installed integration (pass ``name=False`` to leave one off, ``name=True`` to require
    it).

    Inside an open ``mlineage.run()`` the integrations record into that run; outside one, each training call
    (``fit``, ``Trainer.fit``, ``Trainer.train``) opens and closes a run of its own, named ``job`` if given.
    Returns ``{integration: status}`` where status is ``enabled``, ``on import`` (patched when the program
    imports the library), ``not installed`` or ``off``. ``autolog(disable=True)`` stops recording (the
    scikit-learn wrappers and the PyTorch patches stay, passing straight through; ``unpatch()`` in
    ``.sklearn`` and ``.torch`` removes them).
    """
    from ...errors import ConfigError

    choices = {"sklearn": sklearn, "torch": torch, "lightning": lightning, "transformers": transformers}
    if disable:
        for name, integration in INTEGRATIONS.items():
            if STATE.enabled.pop(name, None) is not None:
                module = importlib.import_module(integration.implementation)
                module.disable()
        STATE.config = AutologConfig()
        return {name: "off" for name in INTEGRATIONS}
    STATE.config = AutologConfig(log_models=log_models, log_training_score=log_training_score, job=job,
                                 client=client)
    report: dict[str, str] = {}
    for name, integration in INTEGRATIONS.items():
        wanted = choices[name]
        if wanted is False:
            report[name] = "off"
            continue
        target = next((m for m in integration.modules if _installed(m)), None)
        if target is None:
            if wanted is True:
                raise ConfigError(
                    f"autolog({name}=True): {integration.modules[0].split('.')[0]} is not installed; "
                    f"install it with: pip install 'mlineage[{integration.extra}]'"
                )
            report[name] = "not installed"
            continue
        STATE.enabled[name] = target
        if integration.early is not None:
            when_imported(integration.early[0], _enabler(integration, integration.early[1]))
        report[name] = "enabled" if when_imported(target, _enabler(integration)) else "on import"
    return report
