"""``mlineage traces`` (serving traces: which model version answered which request) and ``mlineage
explain-answer TRACE_ID`` (from an answer to its source documents and licences). docs/registry.md and
docs/llm-lineage.md. Each parses, calls the Client, formats."""

from __future__ import annotations

from typing import Any

import click

from .context import client_session
from .options import AS_OF_OPTION, JSON_OPTION, limit_option
from .output import emit_json


def _short(digest: str | None) -> str:
    return "-" if not digest else digest[:19]


def _facts(f: dict[str, Any]) -> str:
    parts = []
    if f.get("latency_ms") is not None:
        parts.append(f"{f['latency_ms']} ms")
    tokens = (f.get("input_tokens") or 0) + (f.get("output_tokens") or 0)
    if tokens:
        parts.append(f"{f.get('input_tokens') or 0}+{f.get('output_tokens') or 0} tokens")
    if f.get("cost") is not None:
        parts.append(f"cost {f['cost']}")
    for key in ("guardrail", "status", "error"):
        if f.get(key) is not None:
            parts.append(f"{key} {f[key]}")
    if f.get("tool_spans"):
        parts.append("tools " + ",".join(s["name"] for s in f["tool_spans"]))
    return "  ".join(parts)


def _model(t: dict[str, Any]) -> str:
    from ..serving.model import model_label

    label = model_label(t)
    via = t.get("model")
    return label + (f" (via {via})" if via and via != label and not via.startswith("sha256:") else "")


@click.command("traces")
@click.option("--endpoint", help="Only traces of this endpoint.")
@click.option(
    "--model", help="Only traces answered by this model: a name, NAME@N, the ref as traced, a digest."
)
@click.option(
    "--summary", is_flag=True, help="Per endpoint and model version: traces, errors, latency, cost."
)
@limit_option(50, "At most this many traces, newest first (up to 10000).")
@AS_OF_OPTION
@JSON_OPTION
def traces_command(
    endpoint: str | None, model: str | None, summary: bool, limit: int, as_of: str | None, as_json: bool
) -> None:
    """Serving traces: which registry version (and index and prompt version) answered each request."""
    with client_session() as client:
        if summary:
            found: Any = client.serving_summary(endpoint=endpoint, model=model, as_of=as_of)
        else:
            found = client.serving_traces(endpoint=endpoint, model=model, as_of=as_of, limit=limit)
    if as_json:
        emit_json(found)
        return
    if summary:
        for r in found["rows"]:
            mean = "-" if r["mean_latency_ms"] is None else f"{r['mean_latency_ms']} ms"
            click.echo(
                f"{r['endpoint'] or '-'}  {r['model']}  {_short(r['model_digest'])}  {r['traces']} traces  "
                f"{r['errors']} errors  mean {mean}  tokens {r['input_tokens']}+{r['output_tokens']}  "
                f"cost {r['cost']}"
            )
        click.echo(f"lost: {found['dropped']} dropped (queue full), {found['sampled_out']} sampled out")
        return
    if not found:
        click.echo("no serving traces" + (" match" if endpoint or model or as_of else " recorded yet"))
    for t in found:
        extra = []
        if t["index"] or t["index_digest"]:
            extra.append(f"index {t['index'] or _short(t['index_digest'])}")
        if t["prompt"] or t["prompt_digest"]:
            extra.append(f"prompt {t['prompt'] or _short(t['prompt_digest'])}")
        if t["retrieved"]:
            extra.append(f"{t['retrieved']} chunks")
        click.echo(
            f"{t['ts']}  {t['trace_id']}  {t['endpoint'] or '-'}  {_model(t)}  "
            + "  ".join(x for x in (_facts(t["facts"]), *extra) if x)
        )


@click.command("explain-answer")
@click.argument("trace_id")
@JSON_OPTION
def explain_answer_command(trace_id: str, as_json: bool) -> None:
    """Walk an answer back: model version, retrieved chunks, index version, embedding model, source
    documents (their inclusion proven) and licences."""
    with client_session() as client:
        found = client.explain_answer(trace_id)
    if as_json:
        emit_json(found)
        return
    t, m, idx = found["trace"], found["model"], found["index"]
    click.echo(f"answer {t['trace_id']} at {t['ts']} on {t['endpoint'] or '(no endpoint)'}")
    if m["digest"] or m["ref"]:
        via = f" (via {m['ref']})" if m["ref"] and m["ref"] != m["label"] else ""
        click.echo(f"  model {m['label'] or m['ref']}{via} {_short(m['digest'])}")
    if found["prompt"]["ref"] or found["prompt"]["digest"]:
        p = found["prompt"]
        click.echo(f"  prompt {p['label'] or p['ref']} {_short(p['digest'])}")
    if idx["ref"] or idx["digest"]:
        click.echo(
            f"  index {idx['label'] or idx['ref']} {_short(idx['digest'])}"
            + (f" [{idx['kind']}]" if idx["kind"] else "")
        )
        for c in idx["corpora"]:
            click.echo(f"    corpus {c['label']} {_short(c['digest'])}")
        for e in idx["embedding_models"]:
            click.echo(f"    embedding model {e['label']} {_short(e['digest'])}")
    if found["chunks"]:
        click.echo("  retrieved:")
    for i, c in enumerate(found["chunks"], 1):
        score = "" if c["score"] is None else f" score {c['score']}"
        content = "" if not c["content_hash"] else f" content {_short(c['content_hash'])}"
        click.echo(f"    {i}. chunk {c['chunk_id']}{score}{content}")
        for d in c["documents"]:
            proof = {True: "inclusion proven", False: "INCLUSION PROOF FAILS", None: "not proven"}[
                d["proof_verified"]
            ]
            click.echo(
                f"       document {c['document_id']} in {d['corpus_label'] or _short(d['corpus'])} "
                f"shard {d['shard']}, licence {d['licence'] or '-'}, {proof}"
            )
    if found["licences"]:
        click.echo("  licences:")
        for subject, licence in found["licences"].items():
            click.echo(f"    {subject}: {licence}")
    for gap in found["gaps"]:
        click.echo(f"  not known: {gap}")


COMMANDS = [traces_command, explain_answer_command]
