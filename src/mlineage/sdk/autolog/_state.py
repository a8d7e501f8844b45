"""Autolog's process-wide switches (which integrations are on, and their options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AutologConfig:
    log_models: bool = True  # save fitted/trained models as artifacts
    log_training_score: bool = False  # sklearn: estimator.score(X, y) after fit (costs a predict pass)
    job: str | None = None  # job name for runs autolog opens itself
    client: Any = None  # a Client; None means the project's default client


@dataclass
class _State:
    enabled: dict[str, str] = field(default_factory=dict)  # integration name -> hooked module
    config: AutologConfig = field(default_factory=AutologConfig)


STATE = _State()
