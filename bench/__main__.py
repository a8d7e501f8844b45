"""`python -m bench [NAME ...]`: run the benchmarks and print one table with the peer side by side."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime

from .harness import Result, quick_mode

# Each module in this list exposes run(quick) -> list[Result].
MODULES = ["bench_tracking", "bench_server", "bench_autolog", "bench_data", "bench_graph", "bench_audit",
           "bench_attest", "bench_gates", "bench_datasets", "bench_import",
           "bench_reproduce", "bench_llm", "bench_registry", "bench_ui", "bench_serving"]


def main(argv: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    wanted = [m if m.startswith("bench_") else f"bench_{m}" for m in argv] or MODULES
    results: list[Result] = []
    console = Console(width=None if sys.stdout.isatty() else 200)
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        console.print(f"[dim]running {name} ...[/]")
        results.extend(module.run(quick_mode()))
    table = Table(title=f"mlineage benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for column in ("benchmark", "mlineage", "peer", "peer value", "unit", "advantage", "goal", "met"):
        table.add_column(column)
    for r in results:
        adv = r.advantage
        table.add_row(
            r.name, f"{r.ours:,.4g}", r.peer_name, "-" if r.peer is None else f"{r.peer:,.4g}", r.unit,
            "-" if adv is None else f"{adv:,.1f}x", r.goal,
            {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r.met],
        )
    console.print(table)
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
