"""The UI ships as package data and needs nothing from the network: every asset the pages load is in the
package, no page names another host, and no script writes HTML."""

from __future__ import annotations

import re
from pathlib import Path

import mlineage
from mlineage.server.ui.pages import STATIC

PACKAGE = Path(mlineage.__file__).resolve().parent


def test_every_asset_is_package_data_and_local() -> None:
    assert STATIC == PACKAGE / "server" / "ui" / "static"
    pages = [STATIC / "index.html", STATIC / "login.html"]
    for page in pages:
        text = page.read_text()
        for asset in re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', text):
            assert (STATIC / asset.removeprefix("/ui/static/")).is_file(), asset
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"https?://", text), f"{path.name} names another host"
    assert 'packages = ["src/mlineage"]' in (PACKAGE.parents[1] / "pyproject.toml").read_text()


def test_no_script_writes_html() -> None:
    for script in STATIC.glob("*.js"):
        code = script.read_text()
        sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
        for sink in sinks:
            assert sink not in code, f"{script.name} uses {sink}"
