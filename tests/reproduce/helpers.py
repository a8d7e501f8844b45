"""A git repository made by a test, with scripts run as real subprocesses recording into one store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlineage

SRC = str(Path(mlineage.__file__).resolve().parents[1])


class Repo:
    def __init__(self, root: Path, store_uri: str | None, objects: Path | None) -> None:
        """``store_uri`` None: a project of its own (``mlineage init``), found from the folder."""
        self.root, self.store_uri, self.objects = root, store_uri, objects
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "t@example.com")
        self.git("config", "user.name", "t")
        self.write(".gitignore", "data/\nout/\n.mlineage/\n")

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_") or k == "MLINEAGE_CACHE_DIR"
        }
        if self.store_uri is not None:
            env.update(MLINEAGE_URI=self.store_uri, MLINEAGE_ARTIFACTS=str(self.objects))
        env.update(
            MLINEAGE_CAPTURE="full",
            PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH", "")])),
            **extra,
        )
        return env

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def commit(self, message: str = "code") -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        return self.git("rev-parse", "HEAD").strip()

    def python(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, *args], check)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, "-m", "mlineage.cli.main", *args], check)

    def cli_json(self, *args: str, code: int = 0) -> Any:
        done = self.cli(*args, "--json", check=False)
        assert done.returncode == code, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)

    def _run(self, argv: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv, cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=300, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{argv[1:]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def status(self) -> str:
        return self.git("status", "--porcelain")


SCORE = """
import json, sys
from pathlib import Path
import mlineage
scale = float(sys.argv[1])
with mlineage.run("score", params={"scale": scale, "seed": 0}) as run:
    run.use("data/in.json")
    values = json.loads(Path("data/in.json").read_text())
    Path("out").mkdir(exist_ok=True)
    Path("out/metrics.json").write_text(json.dumps({"total": sum(values) * scale * FACTOR}))
    run.produce("out/metrics.json", kind="metrics")
"""

NOISY = """
import json, sys
from pathlib import Path
import numpy as np
import mlineage
noise = float(sys.argv[1])
with mlineage.run("noisy", params={"noise": noise}) as run:
    run.use("data/in.json")
    x = np.array(json.loads(Path("data/in.json").read_text()), dtype=float)
    pred = x * 2 + np.random.default_rng().normal(0.0, noise, x.shape)  # unseeded, as GPU kernels can be
    Path("out").mkdir(exist_ok=True)
    np.save("out/pred.npy", pred)
    Path("out/metrics.json").write_text(json.dumps({"mean": float(pred.mean())}))
    run.produce("out/pred.npy", kind="dataset")
    run.produce("out/metrics.json", kind="metrics")
"""
