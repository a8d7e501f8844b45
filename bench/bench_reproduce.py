"""Reproduce and reuse: the reuse look-up per step on a large store, and a no-op pipeline re-run beside DVC.

* Reuse look-up: a store holding N keyed runs (100,000; MLINEAGE_BENCH_QUICK=1: 10,000), on SQLite and on
  PostgreSQL (``MLINEAGE_BENCH_PG``, a fresh schema). One look-up is what a reusable step pays before it
  runs: build the key from its terms, find the keyed run, check its outputs are stored (a hit), or find the
  nearest run of the same job and the terms that differ (a miss). Goal: under 2 ms.
* No-op pipeline: a 50-step chain (each step a Python script reading the previous step's output) recorded
  by mlineage in a git repository, and the same chain written as a dvc.yaml and run once by ``dvc repro``.
  Then, with nothing changed, ``mlineage reproduce LAST --upstream`` beside ``dvc repro``, both as CLI
  subprocesses in their own copy of the repository. Goal: at least 10 times faster than DVC.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .harness import Result, workdir

BIN = Path(sys.executable).parent
BENCH_BIN = Path(os.environ.get("MLINEAGE_BENCH_VENV", "/work/main/.venv-bench")) / "bin"
PG = os.environ.get("MLINEAGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
STEPS = 50
HIT_RUNS = 200  # runs whose outputs are stored (the rest are recorded by digest only)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def _pg_schema() -> Iterator[str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _populate(client: object, runs: int) -> list[tuple[str, dict[str, str]]]:
    """Record ``runs`` completed, keyed runs in batches; returns (key, terms) of the stored-output runs."""
    from mlineage import events as ev
    from mlineage.events import NewEvent
    from mlineage.reproduce.key import make_key
    from mlineage.reproduce.records import RUN_KEYED

    keys = []
    batch: list[NewEvent] = []
    for i in range(runs):
        run_id = f"run{i:08d}"
        job = f"job{i % 1000}"
        out = f"output {i}"
        digest = _digest(out)
        key = make_key(job, _digest("code"), _digest("env"), {"i": i}, [("", _digest(f"input {i}"))])
        if i < HIT_RUNS:
            client.blobs.put_bytes(out.encode())  # type: ignore[attr-defined]
            keys.append((key.key, key.terms))
        batch += [
            NewEvent(
                ev.RUN_STARTED,
                {"run_id": run_id, "job": job, "kind": "train", "params": {"i": i}, "context": {}},
            ),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "model", "size": len(out)}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": digest}),
            NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
            NewEvent(
                RUN_KEYED,
                {
                    "run_id": run_id,
                    "key": key.key,
                    "terms": key.terms,
                    "outputs": [
                        {"digest": digest, "path": None, "kind": "model", "media_type": None, "role": None}
                    ],
                },
            ),
        ]
        if len(batch) >= 5000:
            client.append(batch)  # type: ignore[attr-defined]
            batch = []
    if batch:
        client.append(batch)  # type: ignore[attr-defined]
    return keys


def _lookup_ms(store_uri: str, folder: Path, runs: int) -> tuple[float, float]:
    """(ms per hit, ms per miss): median over repeated look-ups, key building included."""
    from mlineage.reproduce.key import CacheKey, make_key
    from mlineage.reproduce.reuse import lookup
    from mlineage.sdk.client import Client

    client = Client.for_uri(store_uri, folder / "objects")
    try:
        keys = _populate(client, runs)
        hits, misses = [], []
        for round_ in range(3):
            for i, (key, terms) in enumerate(keys):
                started = time.perf_counter()
                made = make_key(
                    f"job{i % 1000}", _digest("code"), _digest("env"), {"i": i}, [("", _digest(f"input {i}"))]
                )
                found = lookup(client, made)
                hits.append(time.perf_counter() - started)
                assert found.hit == f"run{i:08d}" and made.key == key, (found, i)
                started = time.perf_counter()
                found = lookup(client, CacheKey(_digest(f"other {round_} {i}"), dict(terms)))
                misses.append(time.perf_counter() - started)
                assert found.hit is None
    finally:
        client.close()
    hits.sort()
    misses.sort()
    return hits[len(hits) // 2] * 1000, misses[len(misses) // 2] * 1000


STEP_SCRIPT = """
import sys
from pathlib import Path
i = int(sys.argv[1])
source = Path("data/raw.txt") if i == 0 else Path(f"out/{i - 1}.txt")
Path("out").mkdir(exist_ok=True)
Path(f"out/{i}.txt").write_text(source.read_text() + f"{i}\\n")
"""

RECORD = """
import subprocess, sys
from pathlib import Path
import mlineage
for i in range({steps}):
    with mlineage.run(f"step{{i}}", reproduce=[sys.executable, "step.py", str(i)]) as run:
        run.use("data/raw.txt" if i == 0 else f"out/{{i - 1}}.txt")
        subprocess.run([sys.executable, "step.py", str(i)], check=True)
        run.produce(f"out/{{i}}.txt", kind="dataset")
"""


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLINEAGE_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(DVC_NO_ANALYTICS="1", DVC_IGNORE_UPDATES="1", **extra)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    return env


def _sh(cmd: list[str], cwd: Path, **env: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return seconds


def _pipeline(base: Path) -> Path:
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    (base / "step.py").write_text(STEP_SCRIPT)
    (base / "data").mkdir()
    (base / "data" / "raw.txt").write_text("raw\n")
    for args in (["init", "-q"], ["config", "user.email", "b@e"], ["config", "user.name", "bench"]):
        _sh(["git", *args], base)
    return base


def _noop_seconds(quick: bool) -> tuple[float, float, float, str]:
    root = workdir("reproduce")
    ours = _pipeline(root / "mlineage")
    (ours / ".gitignore").write_text("data/\nout/\n.mlineage/\n")
    _sh(["git", "add", "-A"], ours)
    _sh(["git", "commit", "-qm", "pipeline"], ours)
    _sh([sys.executable, "-m", "mlineage.cli.main", "init"], ours)
    _sh([sys.executable, "-c", RECORD.format(steps=STEPS)], ours)
    mlineage = [
        sys.executable,
        "-m",
        "mlineage.cli.entry",  # what the console script runs
        "reproduce",
        f"out/{STEPS - 1}.txt",
        "--upstream",
        "--json",
    ]
    repeat = 2 if quick else 5
    done = subprocess.run(mlineage, cwd=ours, env=_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0 or done.stdout.count('"up-to-date"') < STEPS:
        raise RuntimeError(f"the no-op reproduce re-ran something:\n{done.stdout[-2000:]}\n{done.stderr}")
    ours_s = min(_sh(mlineage, ours) for _ in range(repeat))  # the kept no-op answer (stamp.py)

    def full_check() -> float:  # the same question with no kept answer: the whole ancestry is compared
        for kept in (ours / ".mlineage" / "reproduce").glob("upstream-*.json"):
            kept.unlink()
        return _sh(mlineage, ours)

    full_s = min(full_check() for _ in range(repeat))

    theirs = _pipeline(root / "dvc")
    stages = {
        f"step{i}": {
            "cmd": f"{sys.executable} step.py {i}",
            "deps": ["step.py", "data/raw.txt" if i == 0 else f"out/{i - 1}.txt"],
            "outs": [f"out/{i}.txt"],
        }
        for i in range(STEPS)
    }
    import yaml

    (theirs / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    dvc = str(BENCH_BIN / "dvc")
    _sh(["git", "add", "-A"], theirs)
    _sh(["git", "commit", "-qm", "pipeline"], theirs)
    _sh([dvc, "init", "-q"], theirs)
    _sh([dvc, "repro", "-q"], theirs)
    theirs_s = min(_sh([dvc, "repro", "-q"], theirs) for _ in range(repeat))
    version = subprocess.run([dvc, "--version"], capture_output=True, text=True, env=_env(), check=False)
    return ours_s, full_s, theirs_s, f"DVC {version.stdout.strip()}"


def run(quick: bool) -> list[Result]:
    runs = 10_000 if quick else 100_000
    out: list[Result] = []
    for backend in ("sqlite", "postgresql"):
        folder = workdir(f"reproduce-lookup-{backend}")
        shutil.rmtree(folder)
        folder.mkdir()
        if backend == "sqlite":
            hit, miss = _lookup_ms(f"sqlite:///{folder / 'store.db'}", folder, runs)
        else:
            with _pg_schema() as uri:
                hit, miss = _lookup_ms(uri, folder, runs)
        for what, ms in (("hit", hit), ("miss, explained", miss)):
            out.append(
                Result(
                    f"reuse look-up ({what}), {runs:,} runs, {backend}",
                    ms,
                    "-",
                    None,
                    "ms/step",
                    False,
                    "< 2 ms",
                    ms < 2.0,
                )
            )
    ours_s, full_s, theirs_s, dvc_name = _noop_seconds(quick)
    out.append(
        Result(
            f"no-op reproduce --upstream, {STEPS}-step pipeline",
            ours_s,
            f"{dvc_name} (dvc repro)",
            theirs_s,
            "s",
            False,
            ">= 10x faster",
            theirs_s / ours_s >= 10,
        )
    )
    out.append(
        Result(
            f"  the same, first check (no kept answer: {STEPS} keys compared)",
            full_s,
            f"{dvc_name} (dvc repro)",
            theirs_s,
            "s",
            False,
            "-",
            None,
        )
    )
    print(
        f"reproduce: {STEPS} steps; ours {ours_s:.3f} s (first check {full_s:.3f} s), dvc {theirs_s:.3f} s",
        file=sys.stderr,
    )
    return out
