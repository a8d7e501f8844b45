"""Dataset commands: ``diff``, ``profile``, ``drift`` and ``rollback`` (``versions`` and ``checkout`` take
semantic versions too). Each parses its options, calls one Client method and prints the answer."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from .context import client_session
from .options import JSON_OPTION
from .output import emit_json

if TYPE_CHECKING:
    from ..datasets.model import DatasetDiff, TableDiff


def _keys(text: str | None) -> list[str] | None:
    if text is None:
        return None
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise click.BadParameter("name at least one column", param_hint="--key")
    return keys


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _table_lines(t: TableDiff, rows: int | None, columns: bool, indent: str = "") -> list[str]:
    s, r = t.schema, t.rows
    out = []
    parts = [
        f"{_plural(len(x), 'column')} {label}"
        for x, label in (
            (s.added, "added"),
            (s.removed, "removed"),
            (s.renamed, "renamed"),
            (s.types, "retyped"),
        )
        if x
    ]
    out.append(
        f"{indent}schema: "
        + (", ".join(parts) if parts else "same columns")
        + (
            ""
            if not (s.became_nullable or s.became_required)
            else f"; nullability changed: {', '.join(s.became_nullable + s.became_required)}"
        )
    )
    out += [f"{indent}  + {c.name} {c.type}" for c in s.added]
    out += [f"{indent}  - {c.name} {c.type}" for c in s.removed]
    out += [f"{indent}  ~ {o} -> {n} (renamed: same values)" for o, n in s.renamed]
    out += [
        f"{indent}  ~ {tc.column} {tc.old} -> {tc.new} ({'narrowed' if tc.narrowed else 'widened'})"
        for tc in s.types
    ]
    how = f"by key {', '.join(r.key)}" if r.mode == "key" else "by content"
    line = f"{indent}rows ({how}): {r.rows_a:,} -> {r.rows_b:,}: {r.added:,} added, {r.removed:,} removed"
    if r.mode == "key":
        cells = ", ".join(f"{c} {n:,}" for c, n in r.changed_cells.items() if n)
        line += f", {r.changed:,} changed" + (f" ({cells})" if cells else "")
    out.append(line)
    if columns:
        out.append(
            f"{indent}columns compared: "
            + (
                ", ".join(
                    f"{c} ({r.changed_cells.get(c, 0):,} changed)" if r.mode == "key" else c
                    for c in r.compared
                )
                or "none"
            )
        )
    if rows:
        for label in ("added", "removed", "changed"):
            for sample in r.samples.get(label, [])[:rows]:
                out.append(f"{indent}  {label}: {_sample_text(sample, label)}")
    out += [f"{indent}note: {n}" for n in t.notes]
    return out


def _sample_text(sample: dict[str, Any], label: str) -> str:
    import json

    if label == "changed":
        key = ", ".join(f"{k}={json.dumps(v)}" for k, v in sample["key"].items())
        values = ", ".join(
            f"{c}: {json.dumps(v[0])} -> {json.dumps(v[1])}" for c, v in sample["values"].items()
        )
        return f"{key}: {values}"
    return json.dumps(sample, ensure_ascii=False)


def diff_lines(d: DatasetDiff, rows: int | None, columns: bool) -> list[str]:
    out = [f"{d.a.label} -> {d.b.label}: " + ("the same" if d.empty and d.same_bytes else d.kind)]
    if d.kind == "table" and d.table is not None:
        t = d.table
        fmt = t.format_a if t.format_a == t.format_b else f"{t.format_a} -> {t.format_b}"
        out[0] += f" ({fmt})"
        out += _table_lines(t, rows, columns)
    elif d.kind == "folder" and d.folder is not None:
        f = d.folder
        out.append(f"files: {len(f.added)} added, {len(f.removed)} removed, {len(f.modified)} modified")
        out += [f"  + {p}" for p in f.added[:50]] + [f"  - {p}" for p in f.removed[:50]]
        for p in f.modified[:50]:
            out.append(f"  M {p}")
            if p in f.tables:
                out += _table_lines(f.tables[p], rows, columns, "      ")
    else:
        out.append(
            "bytes: "
            + ("identical" if d.same_bytes else "differ")
            + (
                f" ({d.a.size:,} -> {d.b.size:,} bytes)"
                if d.a.size is not None and d.b.size is not None
                else ""
            )
        )
    out.append(f"semver: {d.verdict.level}" + ("" if d.verdict.reasons else " (no change)"))
    out += [f"  {r}" for r in d.verdict.reasons[:50]]
    return out


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--key", "key", metavar="COL[,COL]", help="Compare rows by these columns (else by content).")
@click.option(
    "--rows",
    "rows",
    type=click.IntRange(min=0),
    metavar="N",
    help="Show up to N sample rows of each kind (added, removed, changed).",
)
@click.option("--columns", "columns", is_flag=True, help="Show every compared column and its changed cells.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the two differ (as git diff --exit-code).")
@JSON_OPTION
def diff_command(
    a: str, b: str, key: str | None, rows: int | None, columns: bool, exit_code: bool, as_json: bool
) -> None:
    """Show what changed between two dataset versions: schema, rows, and the semantic-version level.

    A and B are any REF (name@2, name@1.4.0, sha256:..., a .lin pointer), a file or folder on disk, or
    REF:data for the dataset that trained REF (model@3:data). Tables are Parquet, CSV or JSON Lines files, or
    folders of shards of one format; other folders are compared file by file, anything else by bytes.
    """
    from ..datasets import service

    samples = rows if rows is not None else 5 if as_json else 0  # the text summary shows none unless asked
    if service.is_local(a) and service.is_local(b):  # two files on disk: no ledger to open
        d = service.diff(None, a, b, key=_keys(key), samples=samples)
    else:
        with client_session() as client:
            d = client.dataset_diff(a, b, key=_keys(key), samples=samples)
    if as_json:
        emit_json(d.to_dict())
    else:
        for line in diff_lines(d, rows, columns):
            click.echo(line)
    sys.exit(1 if exit_code and not d.empty else 0)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@click.command("profile")
@click.argument("ref")
@click.option("--no-record", is_flag=True, help="Compute only; do not store the profile in the ledger.")
@JSON_OPTION
def profile_command(ref: str, no_record: bool, as_json: bool) -> None:
    """Show a table's profile: rows and, per column, type, NULLs, distinct values, range, mean, top values.

    A recorded version's profile is stored (a small content-addressed object linked to the version) the
    first time it is computed; later calls read it back.
    """
    from ..datasets import service

    with client_session() as client:
        side, prof, stored = service.profile(client, ref, record=not no_record)
    if as_json:
        emit_json(dict(prof.to_dict(), ref=ref, digest=side.digest, stored=stored))
        return
    from rich.markup import escape
    from rich.table import Table

    from .output import console

    out = console()
    origin = (
        "stored profile"
        if stored
        else ("profiled and recorded" if side.digest and not no_record else "profiled")
    )
    out.print(
        f"{escape(side.label)}: {prof.rows:,} rows, {len(prof.columns)} columns ({prof.format}; {origin})"
    )
    table = Table("column", "type", "nulls", "distinct", "min", "max", "mean", "top values", box=None)
    for c in prof.columns:
        top = ", ".join(f"{v} ({n:,})" for v, n in (c.get("top") or [])[:3])
        table.add_row(
            escape(c["name"]),
            c["type"],
            f"{c['nulls']:,}",
            f"~{c['distinct']:,}",
            escape(_number(c.get("min"))),
            escape(_number(c.get("max"))),
            _number(c.get("mean")),
            escape(top) or "-",
        )
    out.print(table)


@click.command("drift")
@click.argument("a")
@click.argument("b")
@click.option("--columns", "columns", metavar="COL[,COL]", help="Only these columns (default: all shared).")
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Change a threshold (psi=0.2, ks=0.1, js=0.1 by default; chi2_p=0.01, wasserstein_std=0.1 "
    "add one; ks=off drops one). Repeatable.",
)
@JSON_OPTION
def drift_command(a: str, b: str, columns: str | None, thresholds: tuple[str, ...], as_json: bool) -> None:
    """Measure per-column drift from A to B (PSI, KS, Wasserstein; Jensen-Shannon, chi-squared), from the
    stored profiles (from the data when a side has none). Exit status 1 when a threshold is crossed."""
    from ..datasets.drift import parse_thresholds

    limits = parse_thresholds(thresholds)
    with client_session() as client:
        from ..datasets import service

        side_a, side_b, report = service.drift(client, a, b, columns=_keys(columns), thresholds=limits)
    if as_json:
        emit_json(dict(report.to_dict(), a=side_a.label, b=side_b.label))
    else:
        from rich.markup import escape
        from rich.table import Table

        from .output import console

        out = console()
        out.print(
            f"{escape(side_a.label)} ({report.rows_a:,} rows) -> {escape(side_b.label)} "
            f"({report.rows_b:,} rows); thresholds: "
            + ", ".join(f"{k} {'<' if k == 'chi2_p' else '>'} {v:g}" for k, v in report.thresholds.items())
        )
        table = Table("column", "kind", "psi", "ks", "wasserstein", "js", "chi2 p", "drift", box=None)
        for c in report.columns:
            m = c.metrics
            table.add_row(
                escape(c.column),
                c.kind,
                *(_number(m.get(k)) for k in ("psi", "ks", "wasserstein", "js", "chi2_p")),
                escape("; ".join(c.crossed)) if c.crossed else (c.note or "no"),
            )
        out.print(table)
        out.print(f"{len(report.drifted)} of {len(report.columns)} column(s) drifted")
    sys.exit(1 if report.drifted else 0)


@click.command("rollback")
@click.argument("name")
@click.argument("alias", required=False)
@click.option(
    "--to",
    "to",
    metavar="REF",
    help="The version to go back to: NAME@N, NAME@1.4.0, or a digest of one of NAME's versions.",
)
@click.option("--reason", default="", help="Why (kept in the ledger with who did it and when).")
@click.option(
    "-f", "--force", is_flag=True, help="Overwrite changes that are not in the cache (they are lost)."
)
@click.option("--excluding", metavar="REF|INCIDENT",
              help="A registered model's alias instead: move NAME@ALIAS to the newest version whose ancestry "
                   "does not contain this bad artifact (as `mlineage alias rollback`).")
@JSON_OPTION
def rollback_command(name: str, alias: str | None, to: str | None, reason: str, force: bool,
                     excluding: str | None, as_json: bool) -> None:
    """Put dataset NAME back to an earlier version (--to), or model NAME's ALIAS past a bad artifact.

    `rollback NAME --to REF`: the data and its pointer file become that version, as `mlineage checkout
    NAME@N` does; the ledger keeps a rollback event, so `mlineage versions NAME` shows it instead of hiding
    it.

    `rollback NAME ALIAS --excluding REF`: the registry's rollback (docs/incidents.md), the same as
    `mlineage alias rollback`.
    """
    if excluding is not None:
        if alias is None or to is not None:
            raise click.UsageError("rollback NAME ALIAS --excluding REF moves a model's alias (no --to)")
        from .registry_commands import rollback_alias

        rollback_alias(name, alias, excluding, reason, as_json)
        return
    if to is None or alias is not None:
        raise click.UsageError("rollback NAME --to REF (a dataset), or rollback NAME ALIAS --excluding REF")
    from ..data.workspace import Workspace
    from ..datasets.rollback import rollback

    ws = Workspace()
    try:
        done = rollback(ws, name, to, reason=reason, force=force, quiet=as_json)
    finally:
        ws.close()
    if as_json:
        emit_json(done)
        return

    def label(v: dict[str, Any] | None) -> str:
        if v is None:
            return "nothing"
        return f"@{v['version']}" + (f" ({v['semver']})" if v.get("semver") else "")

    click.echo(
        f"rolled back {name} from {label(done['from'])} to {label(done['to'])}; "
        f"{done['path']} now holds it and the rollback is recorded"
        + (f" (reason: {done['reason']})" if done["reason"] else "")
    )


COMMANDS = [diff_command, profile_command, drift_command, rollback_command]
