"""Team mode as a user meets it: client "machines" (own HOME, own working folder, nothing but MLINEAGE_URI and
MLINEAGE_TOKEN set) against a real ``mlineage server`` process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mlineage
from tests.server.conftest import ServerProcess, admin, admin_token, backend_uri, server  # noqa: F401

SRC = str(Path(mlineage.__file__).resolve().parents[1])
_CLEARED = ("MLINEAGE_URI", "MLINEAGE_TOKEN", "MLINEAGE_ARTIFACTS", "MLINEAGE_SPOOL", "MLINEAGE_REMOTE",
            "XDG_CACHE_HOME", "MLINEAGE_OPENLINEAGE_SPEC")


@dataclass
class Machine:
    """One teammate's computer: a home folder (where the spool and queue live) and a working folder."""

    home: Path
    work: Path
    uri: str
    token: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        env.update(HOME=str(self.home), MLINEAGE_URI=self.uri, MLINEAGE_TOKEN=self.token,
                   PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH", "")])))
        return env

    def python(self, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        path = self.work / "script.py"
        path.write_text(script)
        return self._run([sys.executable, str(path)], check)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, "-m", "mlineage.cli.main", *args], check)

    def _run(self, argv: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv, cwd=self.work, env=self.env(), capture_output=True, text=True, timeout=300, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{argv[1:]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done


def machine(root: Path, name: str, uri: str, token: str) -> Machine:
    home, work = root / name / "home", root / name / "work"
    home.mkdir(parents=True)
    work.mkdir(parents=True)
    return Machine(home, work, uri, token)


def write_token(store_uri: str, scopes: str = "read,write", namespace: str = "default") -> str:
    from mlineage.server.auth import TokenStore
    from mlineage.stores.sql import SqlStore

    store = SqlStore(store_uri)
    try:
        return TokenStore(store.engine).create("teammate", scopes, namespace)[0]
    finally:
        store.close()
