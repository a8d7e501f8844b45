"""A missing integration library skips its tests locally and fails them where CI=true."""

from __future__ import annotations

import pytest

from .conftest import require


def test_missing_library_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"pip install 'mlineage\[torch\]'"):
        require("mlineage_no_such_module", "torch")


def test_missing_library_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require("mlineage_no_such_module", "torch")
