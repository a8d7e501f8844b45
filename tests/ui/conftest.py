"""The browser tests' fixtures: one real `mlineage server` on loopback over the sample project (``sample.py``)
and one Chromium per module, driven by Playwright's Python package.

The browser is the machine's Chromium (``/usr/bin/chromium``, or ``MLINEAGE_TEST_CHROMIUM``): Playwright
never downloads one here (`make test` installs the Debian package when it is missing). Where CI=true a missing
Chromium or Playwright fails the run; elsewhere these tests skip with a one-line reason.

Screenshots go to ``MLINEAGE_UI_SCREENSHOTS`` (``docs/img`` when regenerating docs/ui.md), else to the
test's temporary folder (kept by pytest as the run's artifacts).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import ServerProcess, admin_token
from tests.ui.sample import Sample, build

CHROMIUM = os.environ.get("MLINEAGE_TEST_CHROMIUM", "/usr/bin/chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


def chromium_path() -> str:
    chosen = "MLINEAGE_TEST_CHROMIUM" in os.environ  # an explicit choice is used or reported, never replaced
    found = CHROMIUM if os.path.isfile(CHROMIUM) else None if chosen else shutil.which("chromium")
    if not found:
        _unavailable(f"no Chromium at {CHROMIUM}: install the 'chromium' package (make test does, as root)")
    return str(found)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (it is in the dev extra)")
    path = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def ui_site(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Sample, dict[str, str]]]:
    """The server, the sample's refs, and tokens: ``admin`` (all namespaces), ``team`` (reads the default
    namespace, where the sample project lives; the other team's model is in ``team-b``)."""
    from mlineage.model import Digest
    from mlineage.server.auth import TokenStore
    from mlineage.server.blob_grants import BlobGrants
    from mlineage.stores.sql import SqlStore

    folder = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{folder / 'store.db'}"
    old = os.environ.get("MLINEAGE_CAPTURE")
    os.environ["MLINEAGE_CAPTURE"] = "basic"
    try:
        sample = build(uri, folder)
    finally:
        if old is None:
            os.environ.pop("MLINEAGE_CAPTURE", None)
        else:
            os.environ["MLINEAGE_CAPTURE"] = old
    store = SqlStore(uri)
    try:
        team = TokenStore(store.engine).create("team-reader", "read", "default")[0]
        for digest in sample.train_data:  # as if the team had uploaded them: its token may read their bytes
            BlobGrants(store.engine).grant("default", Digest.parse(digest))
    finally:
        store.close()
    tokens = {"admin": admin_token(uri), "team": team}
    server = ServerProcess(uri, folder / "objects").start()
    yield server, sample, tokens
    server.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("MLINEAGE_UI_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
