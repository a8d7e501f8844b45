"""``mlineage index`` (embedding index versions: build, show), ``mlineage edit`` (human-in-the-loop edits:
record, import-labels, list) and ``mlineage federated`` (federated rounds: rounds). Thin: parse, call the
Client, print; the embedding model and LanceDB load only inside ``index build``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from .context import client_session
from .options import JSON_OPTION
from .output import emit_json


def _short(digest: str | None) -> str:
    return "-" if digest is None else digest.removeprefix("sha256:")[:12]


def _progress() -> Callable[[str], None] | None:
    """Progress lines on a terminal's stderr; nothing when stderr is a pipe or a file."""
    import sys

    return (lambda m: click.echo(m, err=True)) if sys.stderr.isatty() else None


@click.group("index")
def index_group() -> None:
    """Embedding index versions: corpus + embedding model + chunker + parameters, chunk by chunk."""


@index_group.command("build")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--name", required=True, help="The index's name (and the LanceDB table's).")
@click.option("--corpus", help="The recorded corpus version SOURCE must be (default: record it if new).")
@click.option("--embedder", default="minilm", show_default=True,
              help="minilm (all-MiniLM-L6-v2, offline), hashing[:DIM], or a sentence-transformers folder.")
@click.option("--splitter", type=click.Choice(["characters", "words", "sentences"]), default="words",
              show_default=True)
@click.option("--chunk-size", type=int, default=200, show_default=True, help="Units of the splitter.")
@click.option("--overlap", type=int, default=20, show_default=True)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="An index parameter (repeat).")
@click.option("--vectors", "vectors_uri", metavar="DIR",
              help="A LanceDB folder to write the vectors to (default: lineage only).")
@JSON_OPTION
def index_build(source: Path, name: str, corpus: str | None, embedder: str, splitter: str, chunk_size: int,
                overlap: int, params: tuple[str, ...], vectors_uri: str | None, as_json: bool) -> None:
    """Chunk, embed and record an index version of the corpus at SOURCE (a folder of shards or a manifest)."""
    from ..errors import ValidationError
    from ..llm.chunking import ChunkerConfig
    from ..llm.embedders import embedder_from_spec

    parsed = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise ValidationError("param", f"{p!r} is not KEY=VALUE")
        parsed[key] = value
    with client_session() as client:
        result = client.build_index(source, embedder=embedder_from_spec(embedder),
                                    chunker=ChunkerConfig(splitter, chunk_size, overlap), name=name,
                                    corpus=corpus, params=parsed, store_uri=vectors_uri,
                                    progress=_progress())
    if as_json:
        emit_json(result)
        return
    click.echo(f"index {result['name']}@{result['version']}  {result['digest']}")
    click.echo(f"  {result['chunks']} chunks of {result['documents']} documents; corpus "
               f"{_short(result['corpus'])}, embedding model {result['embedder']} "
               f"{_short(result['embedding_model'])}")
    store = result["store"]
    if store.get("table"):
        click.echo(f"  lancedb {store['uri']} table {store['table']} version {store['version']}, "
                   f"{store['rows']} rows x {store['dimension']} dimensions")


@index_group.command("show")
@click.argument("ref")
@JSON_OPTION
def index_show(ref: str, as_json: bool) -> None:
    """What index version REF was built from, and where it was written."""
    with client_session() as client:
        info = client.index_info(ref)
    if as_json:
        emit_json(info)
        return
    chunker = info["chunker"]
    click.echo(f"index {info['name']}@{info['version']}  {info['digest']}")
    click.echo(f"  corpus:          {info['corpus']['label']} {_short(info['corpus']['digest'])}")
    click.echo(f"  embedding model: {info['embedding_model']['label']} "
               f"{_short(info['embedding_model']['digest'])}")
    click.echo(f"  chunker:         {chunker['splitter']}, size {chunker['size']}, "
               f"overlap {chunker['overlap']}")
    click.echo(f"  parameters:      {', '.join(f'{k}={v}' for k, v in info['params'].items()) or '-'}")
    click.echo(f"  chunks:          {info['chunks']} of {info['documents']} documents")
    store = info["store"]
    if store.get("table"):
        click.echo(f"  store:           lancedb {store['uri']} table {store['table']} "
                   f"version {store['version']}")


@click.group("edit")
def edit_group() -> None:
    """Human-in-the-loop edits: label corrections, weight and prompt edits, approvals, with who and why."""


@edit_group.command("record")
@click.argument("kind", type=click.Choice(["label_correction", "weight_edit", "prompt_edit", "approval"]))
@click.option("--person", required=True, help="Who made the edit (the run's agent).")
@click.option("--reason", required=True, help="Why.")
@click.option("--before", required=True, help="The artifact before the edit (a file or a ref).")
@click.option("--after", help="The artifact after the edit (a file or a ref; none for an approval).")
@click.option("--item", help="The item edited (a sample id, a layer, a prompt's name).")
@click.option("--name", help="A name for files recorded now.")
@click.option("--artifact-kind", default="file", show_default=True,
              help="The kind of files recorded now (model, dataset, file, ...).")
@JSON_OPTION
def edit_record(kind: str, person: str, reason: str, before: str, after: str | None, item: str | None,
                name: str | None, artifact_kind: str, as_json: bool) -> None:
    """Record one edit as a human_edit run by PERSON from BEFORE to AFTER."""
    with client_session() as client:
        result = client.record_edit(kind, person=person, reason=reason, before=before, after=after, item=item,
                                    name=name, kind=artifact_kind)
    if as_json:
        emit_json(result)
        return
    click.echo(f"{kind} by {person}: {_short(result['before'])} -> {_short(result['after'])}  "
               f"(run {result['run_id'][:12]})")


@edit_group.command("import-labels")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--export-format", type=click.Choice(["csv", "json"]),
              help="How EXPORT is written (default: by the file's suffix).")
@click.option("--reason", help="The reason for changes that give none.")
@JSON_OPTION
def edit_import_labels(export: Path, export_format: str | None, reason: str | None, as_json: bool) -> None:
    """Import a labelling round: each label change in EXPORT becomes a label correction by its annotator."""
    with client_session() as client:
        result = client.import_labels(export, fmt=export_format, reason=reason)
    if as_json:
        emit_json(result)
        return
    state = "recorded" if result["written"] else "already recorded"
    click.echo(f"{result['changes']} label changes from {result['export']} {state}")
    for e in result["edits"]:
        click.echo(f"  {e['item']}: {e['before']} -> {e['after']} by {e['person']}")


@edit_group.command("list")
@click.option("--person", help="Only this person's edits.")
@JSON_OPTION
def edit_list(person: str | None, as_json: bool) -> None:
    """The recorded edits, oldest first."""
    with client_session() as client:
        found = client.human_edits(person)
    if as_json:
        emit_json(found)
        return
    for e in found:
        item = f" [{e['item']}]" if e["item"] else ""
        click.echo(f"{e['edit']}{item} by {e['person']}: {_short(e['before'])} -> {_short(e['after'])}  "
                   f"{e['reason']}")


@click.group("federated")
def federated_group() -> None:
    """Federated learning: rounds as runs, client updates by digest and pseudonymous id."""


@federated_group.command("rounds")
@click.argument("federation")
@JSON_OPTION
def federated_rounds(federation: str, as_json: bool) -> None:
    """FEDERATION's recorded rounds: strategy, global model, each client's update digest and size."""
    with client_session() as client:
        found = client.federated_rounds(federation)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(f"no rounds of {federation} are recorded")
    for r in found:
        s = r["strategy"]
        click.echo(f"round {r['round']}: global {_short(r['global'])} <- previous {_short(r['previous'])}; "
                   f"{s['name']} {_short(s['code_digest'])} {s['params']}")
        for u in r["updates"]:
            click.echo(f"  {u['client']}  {_short(u['digest'])}  {u['size']} bytes  {u['examples']} examples")


COMMANDS = [index_group, edit_group, federated_group]
