"""Integration tests run the real libraries on the CPU with tiny models built locally (never from a hub).

A missing library skips its tests with a one-line reason, except where CI=true: there it fails, because CI
must prove every integration works (``make test`` installs them from requirements-ml.txt).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from mlineage.capture import run_context


def require(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is not installed ({exc}); install it with: pip install 'mlineage[{extra}]'"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: integration tests must run)", pytrace=False)
        pytest.skip(message)


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python that must import this checkout's mlineage (not an installed one):
    a relative ``PYTHONPATH=src`` does not survive the child's ``cwd=tmp_path``."""
    import mlineage

    source = str(Path(mlineage.__file__).resolve().parents[1])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
    }


@pytest.fixture(autouse=True)
def _autolog_off_afterwards() -> Iterator[None]:
    run_context.clear_cache()
    yield
    from mlineage.sdk.autolog import autolog

    autolog(disable=True)


@pytest.fixture
def tracked(project: Path) -> Iterator[Client]:  # noqa: F821
    """The project's default client (what autolog writes to), closed after the test."""
    import mlineage

    client = mlineage.default_client()
    yield client
    client.close()
