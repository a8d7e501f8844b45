"""Data versioning side by side with DVC, in the same run: hashing, cold add, status, re-add.

Both tools run as real CLI subprocesses on their own copy of the same data, with the data in the page cache,
each in a fresh project for the "cold" figures (no stat cache, no object cache; `init` untimed). Full mode
uses the issue's sizes (a 1 GiB file; 10,000 files of 4 KiB); MLINEAGE_BENCH_QUICK=1 uses 128 MiB and 2,000.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .harness import Result, workdir

BIN = Path(sys.executable).parent
# Both tools run through their console scripts, as a user runs them (the script imports mlineage from
# PYTHONPATH first, so `PYTHONPATH=src` measures the checkout's code: the run prints which one it loaded).
MLINEAGE = (
    [str(BIN / "mlineage")] if (BIN / "mlineage").exists() else [sys.executable, "-m", "mlineage.cli.entry"]
)
DVC = [str(BIN / "dvc")]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MLINEAGE_URI",
                                                            "MLINEAGE_ARTIFACTS", "MLINEAGE_LINK")}
    env.update(DVC_NO_ANALYTICS="1", DVC_IGNORE_UPDATES="1", **extra)
    if env.get("PYTHONPATH"):  # `PYTHONPATH=src`: absolute, so that the tools' working folders still find it
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    return env


def _run(cmd: list[str], cwd: Path, **env: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return seconds


def _best(times: list[float]) -> float:
    return min(times)


def _random_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size
        while left:
            n = min(left, 16 << 20)
            out.write(os.urandom(n))
            left -= n


def _small_files(folder: Path, count: int) -> None:
    if folder.exists() and sum(1 for _ in folder.rglob("*.bin")) == count:
        return
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(count):
        sub = folder / f"{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(4096))


def _copy_tree(src: Path, dst: Path) -> None:
    if dst.is_dir():
        shutil.rmtree(dst)
    elif dst.exists():
        dst.unlink()
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _reset_mlineage(project: Path) -> None:
    for p in project.glob("*.lin"):
        p.unlink()
    (project / ".gitignore").unlink(missing_ok=True)
    shutil.rmtree(project / ".mlineage", ignore_errors=True)
    (project / "mlineage.checkpoint").unlink(
        missing_ok=True
    )  # the store is removed on purpose: its anchor too
    _run([*MLINEAGE, "init"], project)


def _reset_dvc(project: Path) -> None:
    for p in project.glob("*.dvc"):
        if p.is_file():
            p.unlink()
    (project / ".gitignore").unlink(missing_ok=True)
    shutil.rmtree(project / ".dvc", ignore_errors=True)
    _run([*DVC, "init", "--no-scm", "-q"], project)
    _run([*DVC, "config", "core.analytics", "false"], project)


def _hash_rate(path: Path, fn: Callable[[Path], object], repeat: int) -> float:
    size = path.stat().st_size
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - started)
    return size / best / 1e6


def _plain_hashlib(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _warm(project: Path) -> None:
    """Untimed runs so both tools start with compiled bytecode and a warm page cache for their code."""
    _run([*MLINEAGE, "--help"], project)
    _run([*DVC, "--version"], project)


def _cold_add(source: Path, name: str, repeat: int, link: str | None = None) -> tuple[float, float]:
    """Best cold `add` time of mlineage and of DVC, each on its own copy of ``source``."""
    ours_dir, dvc_dir = workdir(f"data-{name}-mlineage"), workdir(f"data-{name}-dvc")
    _copy_tree(source, ours_dir / source.name)
    _copy_tree(source, dvc_dir / source.name)
    _warm(ours_dir)
    ours, theirs = [], []
    env = {"MLINEAGE_LINK": link} if link else {}
    for _ in range(repeat):
        _reset_mlineage(ours_dir)
        ours.append(_run([*MLINEAGE, "add", source.name], ours_dir, **env))
        _reset_dvc(dvc_dir)
        theirs.append(_run([*DVC, "add", "-q", source.name], dvc_dir))
    return _best(ours), _best(theirs)


def run(quick: bool) -> list[Result]:
    big_size = (128 << 20) if quick else (1 << 30)
    n_small = 2000 if quick else 10_000
    repeat = 2 if quick else 3
    base = workdir("data-inputs")
    big = base / "big.bin"
    small = base / "small"
    _random_file(big, big_size)
    _small_files(small, n_small)
    big_label = f"{big_size >> 20} MiB" if big_size < (1 << 30) else "1 GiB"
    dvc_name = "DVC " + subprocess.run(DVC + ["--version"], capture_output=True, text=True, check=False,
                                       env=_env()).stdout.strip()
    results: list[Result] = []
    loaded = subprocess.run(
        [sys.executable, "-c", "import mlineage; print(mlineage.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    ).stdout.strip()
    print(f"mlineage: {' '.join(MLINEAGE)} (code from {loaded}); peer: {dvc_name}", file=sys.stderr)

    # 1. hashing throughput against plain hashlib on the same (cached) file
    from mlineage.hashing import hash_file

    _plain_hashlib(big)  # page cache
    ours_rate = lib_rate = 0.0
    for _ in range(3 * repeat):  # interleaved, so a burst of load on the shared machine hits both alike
        ours_rate = max(ours_rate, _hash_rate(big, hash_file, 1))
        lib_rate = max(lib_rate, _hash_rate(big, _plain_hashlib, 1))
    results.append(
        Result(
            f"SHA-256 of a {big_label} file",
            ours_rate,
            "hashlib sha256",
            lib_rate,
            "MB/s",
            True,
            ">= 0.9x hashlib",
            ours_rate >= 0.9 * lib_rate,
        )
    )

    # 2. cold add of one large file (default link modes, and a forced private copy for reference)
    ours, theirs = _cold_add(big, "big", repeat)
    results.append(Result(f"cold add, {big_label} file", ours, dvc_name, theirs, "s", False, ">= 4x faster",
                          theirs / ours >= 4))
    ours_copy, theirs_copy = _cold_add(big, "big-copy", max(1, repeat - 1), link="copy")
    results.append(
        Result(
            f"cold add, {big_label} file, link=copy",
            ours_copy,
            dvc_name,
            theirs_copy,
            "s",
            False,
            "(reference)",
            None,
        )
    )
    shutil.rmtree(workdir("data-big-copy-mlineage"), ignore_errors=True)
    shutil.rmtree(workdir("data-big-copy-dvc"), ignore_errors=True)

    # 3. many small files: cold add, status with nothing changed, re-add after one change
    ours, theirs = _cold_add(small, "small", repeat)
    results.append(
        Result(
            f"cold add, {n_small:,} x 4 KiB",
            ours,
            dvc_name,
            theirs,
            "s",
            False,
            ">= 3x faster",
            theirs / ours >= 3,
        )
    )
    ours_dir, dvc_dir = workdir("data-small-mlineage"), workdir("data-small-dvc")
    _run([*MLINEAGE, "status"], ours_dir)  # the first status after add primes nothing: both are warm now
    _run([*DVC, "status", "-q"], dvc_dir)
    ours_status = _best([_run([*MLINEAGE, "status"], ours_dir) for _ in range(repeat + 3)])
    dvc_status = _best([_run([*DVC, "status"], dvc_dir) for _ in range(repeat)])
    results.append(
        Result(
            f"status, nothing changed, {n_small:,} files",
            ours_status,
            dvc_name,
            dvc_status,
            "s",
            False,
            ">= 10x faster (< 80 ms)",
            dvc_status / ours_status >= 10 and ours_status < 0.08,
        )
    )
    ours_readd, dvc_readd = [], []
    for i in range(repeat):
        for folder in (ours_dir, dvc_dir):
            victim = folder / small.name / "00" / "f00000.bin"
            victim.unlink()  # replace, not edit: mlineage's cache copy may be a hardlink
            victim.write_bytes(os.urandom(4096) + str(i).encode())
        ours_readd.append(_run([*MLINEAGE, "add", small.name], ours_dir))
        dvc_readd.append(_run([*DVC, "add", "-q", small.name], dvc_dir))
    ours_r, dvc_r = _best(ours_readd), _best(dvc_readd)
    results.append(Result(f"re-add after 1 of {n_small:,} changed", ours_r, dvc_name, dvc_r, "s", False,
                          ">= 10x faster", dvc_r / ours_r >= 10))
    return results


if __name__ == "__main__":  # pragma: no cover
    for r in run(os.environ.get("MLINEAGE_BENCH_QUICK") == "1"):
        adv = r.advantage
        print(f"{r.name:45} ours {r.ours:10.4g} {r.unit:5} {r.peer_name}: {r.peer or 0:10.4g}  "
              f"{'-' if adv is None else f'{adv:.2f}x'}  goal {r.goal}  met={r.met}")
