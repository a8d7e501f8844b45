"""Autolog overhead on real small training jobs, with MLflow's autolog on the same jobs, in one process.

Workloads (CPU, one torch thread, fixed seeds):
- scikit-learn: ``RandomForestClassifier(n_estimators=60)`` fit on 4,000 x 20 — mlineage ``autolog()`` vs
  ``mlflow.sklearn.autolog()``, both with their defaults (both: params, training data digest / dataset, model
  saved; MLflow also computes training metrics, which mlineage does only with ``log_training_score=True``).
- PyTorch Lightning: a 2-layer MLP, 200 steps — ``autolog()`` (our callback) vs ``mlflow.pytorch.autolog()``.
- plain PyTorch: the same MLP, 200 steps in a hand-written loop, the loss logged every step and the final
  ``state_dict`` saved — ``mlineage.run`` + ``run.log_metric`` + ``torch.save`` under autolog vs MLflow's
  equivalent (``start_run`` + ``log_metric`` every step + ``log_artifact``): MLflow has no autolog for a plain
  loop.

Each timed mlineage arm turns autolog on and off around its job, as a script that calls ``autolog()`` once
would pay it once. Since ``autolog(disable=True)`` leaves the scikit-learn wrappers in place (passing
through), the untracked arms after the warm-up run with them too: 0.34 us per ``fit`` call, measured with
timeit on a ``DummyClassifier`` (84.26 against 83.92 us), ~20 us on the 61 fit calls of one forest, 0.005% of
it. The PyTorch patches stay the same way: the untracked loop's one ``torch.save`` goes through a wrapper that
checks a flag.

The untracked job, the job under mlineage's autolog and the untracked job again (an A/A control) run back to
back in each round, in every possible order equally often (36 rounds, 6 in each of six fresh processes,
pooled; 72 in twelve for the plain loop, the shortest job and so the noisiest ratio: see ``_in_processes``
for why one process is not enough, ``_rounds`` for why the order matters); overhead = the median over rounds
of arm / off - 1 within each round (see ``_paired_overhead`` for why not best against best), printed with a
90% bootstrap interval and each process's own median. A job's time moves by ~2% (~5 ms) from one round to
the next here, so 18 rounds left the median uncertain by about +-0.5 points; 36 halve the variance. MLflow,
3-10x slower than the job, runs in 2 rounds of its own against the untracked job, in the last process.
Capture cost per run (git + environment, cold and warm) and an empty tracked run (full capture vs MLflow
``start_run``/``end_run``) are measured too.

Run: ``python -m bench autolog`` (``MLINEAGE_BENCH_QUICK=1`` for fewer rounds).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .harness import REPO, Result, workdir

GOAL = "< 2% overhead, below MLflow"


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _rounds(arms: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Each arm's time in every round, the arms of a round run back to back in each possible order in turn.

    A job run right after another one is measurably slower here (alternating the order of two arms of the
    random forest showed ~15 ms on a ~430 ms fit), so the order must be balanced: a plain rotation of three
    arms puts each one after a given other two rounds in three, which biased the earlier figures (the A/A
    control came out negative more often than not). With every permutation used equally often (``rounds`` a
    multiple of 6 for three arms) each arm precedes each other one in half the rounds."""
    orders = list(itertools.permutations(arms))
    times: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(rounds):
        for name in orders[r % len(orders)]:
            times[name].append(_timed(arms[name]))
    return times


def _overhead_times(
    arms: dict[str, Callable[[], Any]], rounds: int, peer_rounds: int
) -> dict[str, list[float]]:
    """``_rounds`` for every arm but MLflow's; MLflow, 3-10x slower than the job itself, runs afterwards in
    rounds of its own against the untracked job (``off, MLflow rounds``), the two in alternating order.

    MLflow runs last, and is warmed up only then, because its autolog leaves its patches installed after
    ``autolog(disable=True)`` (they check a flag on each call): measured here, once it had run, every random
    forest fit of every arm took ~25 ms longer, and mlineage's measured overhead grew from 16 to 22 ms."""
    main = {name: fn for name, fn in arms.items() if name != "mlflow"}
    times = _rounds(main, rounds)
    if "mlflow" in arms and peer_rounds > 0:
        arms["mlflow"]()  # warm-up: its imports, experiment and first run
        times["mlflow"], times[_MLFLOW_BASE] = [], []
        for r in range(peer_rounds):
            for name in (("off", "mlflow") if r % 2 == 0 else ("mlflow", "off")):
                times["mlflow" if name == "mlflow" else _MLFLOW_BASE].append(_timed(arms[name]))
    return times


_MLFLOW_BASE = "off, MLflow rounds"


def _paired_overhead(times: dict[str, list[float]], arm: str, base: str = "off") -> float:
    """Median over rounds of arm/off - 1, each arm compared with the no-tracking run of the same round.

    The jobs here last 0.3-1 s and their own time moves by 10-25% between rounds on this shared machine, far
    more than the few milliseconds a tracker adds; comparing within a round (the two runs are back to back)
    and taking the median of those ratios is much steadier than comparing each arm's best round."""
    ratios = [ours / off - 1 for ours, off in zip(times[arm], times[base], strict=False)]
    return statistics.median(ratios) * 100


def _paired_interval(times: dict[str, list[float]], arm: str, base: str = "off") -> tuple[float, float]:
    """A 90% bootstrap interval for ``_paired_overhead`` (rounds resampled with replacement, fixed seed): how
    far the median could move on another run of the same length on this machine."""
    rng = random.Random(0)
    ratios = [ours / off - 1 for ours, off in zip(times[arm], times[base], strict=False)]
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return medians[100] * 100, medians[1899] * 100


def _paired_ms(times: dict[str, list[float]], arm: str, base: str = "off") -> float:
    """Median over rounds of arm - off in milliseconds: what the tracker costs a job, whatever its length."""
    return statistics.median(ours - off for ours, off in zip(times[arm], times[base], strict=False)) * 1000


def _overhead_rows(label: str, times: dict[str, list[float]], peer_name: str,
                   per_process: list[float]) -> list[Result]:
    base = min(times["off"])
    ours = _paired_overhead(times, "mlineage")
    low, high = _paired_interval(times, "mlineage")
    peer = _paired_overhead(times, "mlflow", _MLFLOW_BASE)
    control = _paired_overhead(times, "off again")
    print(
        f"  {label}: off best {base * 1000:.1f} ms; mlineage best {min(times['mlineage']) * 1000:.1f} ms, "
        f"paired median {ours:+.2f}% ({_paired_ms(times, 'mlineage'):+.1f} ms; 90% interval {low:+.2f} to "
        f"{high:+.2f}%) over {len(times['mlineage'])} rounds; MLflow best "
        f"{min(times['mlflow']) * 1000:.1f} ms, paired median {peer:+.2f}% "
        f"over {len(times['mlflow'])} rounds; "
        f"A/A control (no tracking twice) {control:+.2f}% ({_paired_ms(times, 'off again'):+.1f} ms); "
        f"per process: {', '.join(f'{m:+.2f}%' for m in per_process)}"
    )
    return [
        Result(
            f"{label}: overhead vs no tracking",
            ours,
            peer_name,
            peer,
            "% wall time",
            False,
            GOAL,
            ours < 2.0 and ours < peer,
        ),
        Result(
            f"{label}: A/A control, the same untracked job measured as if it were an arm",
            control,
            "-",
            None,
            "% wall time",
            False,
            "~0 (the noise floor)",
            None,
        ),
    ]


def _with_control(arms: dict[str, Callable[[], Any]]) -> dict[str, Callable[[], Any]]:
    """Add an A/A arm: the untracked job again, timed like the others. What it reports is the noise floor of
    this machine at the time of the run: an overhead smaller than it cannot be told from noise."""
    return {**arms, "off again": arms["off"]}


def _setup_mlflow(root: Path) -> Any:
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    mlflow.set_experiment("bench-autolog")
    return mlflow


def _mlflow_name(mlflow: Any, what: str) -> str:
    return f"MLflow {mlflow.__version__} {what} (SQLite)"


def times_sklearn(mlflow: Any, rounds: int, peer_rounds: int, root: Path) -> dict[str, list[float]]:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    import mlineage

    rng = np.random.RandomState(0)
    x = rng.rand(4000, 20)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0.8).astype(int)

    def fit() -> None:
        RandomForestClassifier(n_estimators=60, max_depth=10, random_state=0, n_jobs=1).fit(x, y)

    def ours() -> None:
        mlineage.autolog(torch=False, lightning=False, transformers=False)
        try:
            fit()
        finally:
            mlineage.autolog(disable=True)

    def theirs() -> None:
        mlflow.sklearn.autolog(silent=True)
        try:
            fit()
        finally:
            mlflow.sklearn.autolog(disable=True)
            if mlflow.active_run():
                mlflow.end_run()

    (
        ours(),
        ours(),
    )  # warm-up: imports, store creation, migrations, first capture (MLflow's: see _overhead_times)
    return _overhead_times(
        _with_control({"off": fit, "mlineage": ours, "mlflow": theirs}), rounds, peer_rounds
    )


def _mlp(torch: Any) -> Any:
    return torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                               torch.nn.ReLU(), torch.nn.Linear(256, 10))


def _batches(torch: Any) -> list[tuple[Any, Any]]:
    generator = torch.Generator().manual_seed(0)
    return [(torch.randn(128, 64, generator=generator), torch.randint(0, 10, (128,), generator=generator))
            for _ in range(20)]


def times_torch_loop(mlflow: Any, rounds: int, peer_rounds: int, root: Path) -> dict[str, list[float]]:
    import torch

    import mlineage

    batches = _batches(torch)
    checkpoint = root / "mlp.pt"

    def train(log: Callable[[int, float], None] | None) -> None:
        torch.manual_seed(0)
        model = _mlp(torch)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for step in range(200):
            x, y = batches[step % len(batches)]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            if log is not None:
                log(step, loss.item())
        torch.save(model.state_dict(), checkpoint)

    def off() -> None:
        # The loop reads the loss every step in all three arms (a real loop prints or logs it anyway): what
        # is compared is what the tracker adds, not the cost of materialising the scalar.
        train(lambda step, value: None)

    def ours() -> None:
        mlineage.autolog(sklearn=False, lightning=False, transformers=False)
        try:
            with mlineage.run("mlp", kind="train", params={"lr": 1e-3, "steps": 200}) as run:
                train(lambda step, value: run.log_metric("loss", value, step=step))
        finally:
            mlineage.autolog(disable=True)

    def theirs() -> None:
        with mlflow.start_run():
            mlflow.log_params({"lr": 1e-3, "steps": 200})
            train(lambda step, value: mlflow.log_metric("loss", value, step=step))
            mlflow.log_artifact(str(checkpoint))

    (
        ours(),
        ours(),
    )  # warm-up: imports, store creation, migrations, first capture (MLflow's: see _overhead_times)
    return _overhead_times(
        _with_control({"off": off, "mlineage": ours, "mlflow": theirs}), rounds, peer_rounds
    )


def times_lightning(mlflow: Any, rounds: int, peer_rounds: int, root: Path) -> dict[str, list[float]]:
    import lightning.pytorch as pl
    import torch

    import mlineage

    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)  # lightning sets its own level when imported

    batches = _batches(torch)
    dataset = torch.utils.data.TensorDataset(
        torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=128)  # the same 20 batches as the plain loop

    class MLP(pl.LightningModule):
        def __init__(self, lr: float = 1e-3) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = _mlp(torch)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.cross_entropy(self.net(x), y)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def fit() -> None:
        torch.manual_seed(0)
        trainer = pl.Trainer(
            max_steps=200,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
            default_root_dir=str(root / "pl"),
        )
        trainer.fit(MLP(), loader)

    def ours() -> None:
        mlineage.autolog(sklearn=False, torch=False, transformers=False)
        try:
            fit()
        finally:
            mlineage.autolog(disable=True)

    def theirs() -> None:
        mlflow.pytorch.autolog(silent=True)
        try:
            fit()
        finally:
            mlflow.pytorch.autolog(disable=True)
            if mlflow.active_run():
                mlflow.end_run()

    (
        ours(),
        ours(),
    )  # warm-up: imports, store creation, migrations, first capture (MLflow's: see _overhead_times)
    return _overhead_times(
        _with_control({"off": fit, "mlineage": ours, "mlflow": theirs}), rounds, peer_rounds
    )


def bench_capture(mlflow: Any, rounds: int) -> list[Result]:
    import tempfile

    import mlineage
    from mlineage.capture import run_context

    with tempfile.TemporaryDirectory() as empty:  # nothing cached anywhere: the first run after an install
        previous = os.environ.get("MLINEAGE_CACHE_DIR")
        os.environ["MLINEAGE_CACHE_DIR"] = empty
        try:
            run_context.clear_cache()
            started = time.perf_counter()
            run_context.capture_run()
            uncached = (time.perf_counter() - started) * 1000
        finally:
            if previous is None:
                os.environ.pop("MLINEAGE_CACHE_DIR", None)
            else:
                os.environ["MLINEAGE_CACHE_DIR"] = previous
    run_context.clear_cache()
    run_context.capture_run()  # fills the on-disk package cache for this environment, if it was empty
    run_context.clear_cache()
    started = time.perf_counter()
    run_context.capture_run()
    cold = (time.perf_counter() - started) * 1000
    n = 2000
    warm = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            run_context.capture_run()
        warm = min(warm, (time.perf_counter() - started) / n * 1e6)
    print(
        f"  capture: first run of a process {cold:.1f} ms (package list from the disk cache), "
        f"{uncached:.1f} ms "
        f"with nothing cached; warm {warm:.1f} us per run"
    )

    def ours(capture: bool) -> Callable[[], None]:
        def go() -> None:
            for _ in range(50):
                with mlineage.run("empty", capture=capture):
                    pass
        return go

    def theirs() -> None:
        for _ in range(50):
            with mlflow.start_run():
                pass

    ours(True)(), theirs()
    times = _rounds({"full": ours(True), "basic": ours(False), "mlflow": theirs}, 6)
    full, basic, peer = (min(times[k]) / 50 * 1000 for k in ("full", "basic", "mlflow"))
    print(f"  empty run: full capture {full:.2f} ms, basic context {basic:.2f} ms, MLflow {peer:.2f} ms")
    return [
        Result(
            "capture per run, warm (git + environment, cached)",
            warm,
            "-",
            None,
            "us/run",
            False,
            "far under 1 ms",
            warm < 1000,
        ),
        Result(
            "capture, first run of a process (package list cached on disk)",
            cold,
            "-",
            None,
            "ms",
            False,
            "-",
            None,
        ),
        Result(
            "capture, first run with nothing cached (after an install)",
            uncached,
            "-",
            None,
            "ms",
            False,
            "-",
            None,
        ),
        Result(
            "empty tracked run, full capture (start+end)",
            full,
            _mlflow_name(mlflow, "start_run/end_run"),
            peer,
            "ms/run",
            False,
            "-",
            None,
        ),
        Result(
            "empty tracked run, basic context only",
            basic,
            _mlflow_name(mlflow, "start_run/end_run"),
            peer,
            "ms/run",
            False,
            "-",
            None,
        ),
    ]


def run(quick: bool) -> list[Result]:
    from mlineage.config import init_project

    rounds = 6 if quick else 36  # a multiple of 6: every order of the three arms equally often
    root = workdir("autolog")
    for leftover in root.glob("**/*.db"):
        leftover.unlink()
    project = root / "project"
    project.mkdir(exist_ok=True)
    if not (project / ".git").exists():  # a small project of its own, as a user's would be
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        (project / "train.py").write_text("# the training script\n")
        subprocess.run(["git", "-C", str(project), "add", "train.py"], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(project),
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
                "commit",
                "-q",
                "-m",
                "bench project",
            ],
            check=True,
        )
    if not (project / ".mlineage").exists():
        init_project(project)
    previous = Path.cwd()
    os.chdir(project)
    os.environ.pop("MLINEAGE_URI", None)
    os.environ.pop("MLINEAGE_ARTIFACTS", None)
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    results: list[Result] = []
    try:
        mlflow = _setup_mlflow(root)
        results += bench_capture(mlflow, rounds)
        for job in JOBS:
            processes = 1 if quick else job.processes
            if importlib.util.find_spec(job.needs) is None:
                print(f"  {job.needs} is not installed: the {job.label} row is skipped "
                      "(make bench installs requirements-ml.txt)")
                continue
            times, per_process = _in_processes(job.name, rounds // PROCESSES, processes)
            results += _overhead_rows(job.label, times, _mlflow_name(mlflow, job.peer), per_process)
            if not quick:
                keep_rounds(root, job.name, times, rounds // PROCESSES)
    finally:
        os.chdir(previous)
    return results


@dataclass(frozen=True)
class _Job:
    name: str
    label: str
    peer: str
    needs: str  # the module the job cannot run without
    processes: int = 6  # fresh processes of ``rounds // PROCESSES`` rounds each


JOBS = (
    _Job("sklearn", "scikit-learn RandomForest fit (4000x20, 60 trees)", "sklearn.autolog", "sklearn"),
    # The shortest job, so the noisiest ratio: measured at 09:41 on 2026-12-03, one process's 12 paired rounds
    # had a standard deviation of 3.4 points (the A/A control's 3.1), i.e. ~1.2 points of uncertainty on a
    # 12-round median; twice the rounds of the others (72, ~1 more minute) halve the variance of its median.
    _Job("loop", "PyTorch MLP, 200 steps, plain loop (loss every step + checkpoint)",
         "log_metric/log_artifact (no autolog for plain loops)", "torch", processes=12),
    _Job("lightning", "PyTorch Lightning MLP, 200 steps", "pytorch.autolog", "lightning"),
)
PROCESSES = 6
_MARK = "BENCH-TIMES "


ROUNDS_FILE = "rounds.jsonl"


def keep_rounds(root: Path, job: str, times: dict[str, list[float]], rounds_per_process: int) -> None:
    """Append this run's raw round times to ``bench/.work/autolog/rounds.jsonl`` with the commit they
    measured: one run's median moves by half a point or more on this machine, and ``python -m
    bench.pool_autolog`` pools every run of the same code into one estimate (and says how many runs and rounds
    it rests on)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True, check=False).stdout.strip() or "unknown"
    dirty = subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "src",
            "bench/bench_autolog.py",
            "bench/harness.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    line = {
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit + ("+dirty" if dirty else ""),
        "job": job,
        "rounds_per_process": rounds_per_process,
        "times": times,
    }
    with open(root / ROUNDS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def _in_processes(job: str, rounds: int, processes: int) -> tuple[dict[str, list[float]], list[float]]:
    """The job's rounds split over ``processes`` fresh interpreters, pooled; and each process's own paired
    median overhead (%).

    Within one process the overhead of the very same code came out consistently different from another
    process's: the plain loop's training part alone (no logging, only the run open and the patched
    ``torch.save``) measured 0.06 to 4.27 ms slower than the untracked one from one process to the next (24
    paired rounds each), against 0.74 ms of work -- where things happen to lie in memory moves a 250 ms job by
    a millisecond or two. One process's rounds share that draw; several processes average over it. MLflow runs
    in the last process only, after its mlineage rounds (see ``_overhead_times``)."""
    pooled: dict[str, list[float]] = {}
    per_process = []
    for index in range(processes):
        peer_rounds = 2 if index == processes - 1 else 0
        done = subprocess.run(
            [sys.executable, "-m", "bench.bench_autolog", job, str(rounds), str(peer_rounds)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
        if done.returncode != 0 or not lines:
            raise RuntimeError(
                f"the {job} benchmark process failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        times: dict[str, list[float]] = json.loads(lines[-1][len(_MARK):])
        per_process.append(_paired_overhead(times, "mlineage"))
        for arm, values in times.items():
            pooled.setdefault(arm, []).extend(values)
    return pooled, per_process


def _worker(job: str, rounds: int, peer_rounds: int) -> None:
    """One process's rounds of one job (``python -m bench.bench_autolog JOB ROUNDS PEER_ROUNDS``), run in the
    project that ``run`` prepared; the times go to stdout as one JSON line."""
    root = workdir("autolog")
    os.chdir(root / "project")
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    mlflow = _setup_mlflow(root) if peer_rounds > 0 else None
    if job != "sklearn":
        import torch

        torch.set_num_threads(1)
    measure = {"sklearn": times_sklearn, "loop": times_torch_loop, "lightning": times_lightning}[job]
    times = measure(mlflow, rounds, peer_rounds, root)
    print(_MARK + json.dumps(times), flush=True)


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
