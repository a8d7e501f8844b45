"""``mlineage corpus`` (corpus versions as Merkle trees: add, prove, find), ``mlineage model`` (fine-tune and
transfer chains: link, import-peft) and ``mlineage online`` (online-learning checkpoints: prove). Thin: parse,
call the Client, print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .context import client_session
from .options import JSON_OPTION
from .output import emit_json


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def _print_proof(result: dict[str, Any], levels: list[tuple[str, dict[str, Any]]]) -> None:
    for label, proof in levels:
        click.echo(f"  {label}: leaf {proof['index'] + 1} of {proof['size']}, "
                   f"{len(proof['path'])} sibling hashes")
        for sibling in proof["path"]:
            click.echo(f"    {sibling}")
    click.echo("verified: yes" if result["verified"]
               else "verified: NO (the proof does not reach the digest)")


@click.group("corpus")
def corpus_group() -> None:
    """Training corpus versions: Merkle roots over shards and documents, proofs, takedown look-ups."""


@corpus_group.command("add")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="The corpus name (default: the manifest's name, or the folder's).")
@JSON_OPTION
def corpus_add(source: Path, name: str | None, as_json: bool) -> None:
    """Record a corpus version from a folder of shards (.jsonl, .parquet, .txt) or a JSON manifest."""
    with client_session() as client:
        result = client.add_corpus(source, name=name)
    if as_json:
        emit_json(result)
        return
    click.echo(f"corpus {result['name']}@{result['version']}  {result['digest']}")
    click.echo(f"  {result['shards']} shards, {result['documents']} documents; licences: "
               f"{', '.join(result['licences']) or '-'}")


@corpus_group.command("prove")
@click.argument("corpus")
@click.argument("doc_id")
@JSON_OPTION
def corpus_prove(corpus: str, doc_id: str, as_json: bool) -> None:
    """Print and verify the inclusion proof of document DOC_ID in CORPUS (name@version or digest)."""
    with client_session() as client:
        result = client.prove_document(corpus, doc_id)
    if as_json:
        emit_json(result)
    else:
        doc = result["document"]
        click.echo(f"document {doc['id']} (sha256:{_short(doc['digest'])}, licence {doc['licence'] or '-'}) "
                   f"in shard {result['shard']}")
        click.echo(f"corpus {result['corpus']}")
        _print_proof(result, [("in shard", result["in_shard"]), ("in corpus", result["in_corpus"])])
    if not result["verified"]:
        raise SystemExit(1)


@corpus_group.command("find")
@click.argument("doc_id")
@JSON_OPTION
def corpus_find(doc_id: str, as_json: bool) -> None:
    """Which corpus versions (and which models downstream of them) include document DOC_ID."""
    with client_session() as client:
        found = client.find_document(doc_id)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(f"no recorded corpus version includes {doc_id}")
    for f in found:
        click.echo(f"{f['name']}@{f['version']}  {_short(f['corpus'])}  shard {f['shard']}  "
                   f"licence {f['licence'] or '-'}")
        click.echo(f"  models: {', '.join(f['models']) or '-'}")


@click.group("model")
def model_group() -> None:
    """Fine-tune and transfer chains: base → fine-tune → adapter → merge → quantized."""


@model_group.command("link")
@click.argument("child")
@click.option("--base", "bases", multiple=True, required=True,
              help="A base model: a ref, a path, or hf:org/name@revision for one trained elsewhere "
                   "(repeat for a merge).")
@click.option("--relation", type=click.Choice(["finetune", "adapter", "merge", "quantized"]), required=True,
              help="Hugging Face's base_model_relation.")
@click.option("--name", help="A name for CHILD when it is a file or folder recorded now.")
@JSON_OPTION
def model_link(child: str, bases: tuple[str, ...], relation: str, name: str | None, as_json: bool) -> None:
    """Record that model CHILD derives from its base model(s)."""
    with client_session() as client:
        result = client.link_model(child, list(bases), relation, name=name)
    if as_json:
        emit_json(result)
        return
    parents = ", ".join(_short(p) for p in result["parents"])
    click.echo(f"{_short(result['child'])} <-{relation}- {parents}")


@model_group.command("import-peft")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--base", help="The base model when the config names none (a ref or hf:org/name@revision).")
@click.option("--name", help="The adapter's name (default: the folder's or file's name).")
@JSON_OPTION
def model_import_peft(path: Path, base: str | None, name: str | None, as_json: bool) -> None:
    """Record a PEFT adapter (a folder with adapter_config.json, or the file) as an adapter of its base."""
    with client_session() as client:
        result = client.import_peft(path, base=base, name=name)
    if as_json:
        emit_json(result)
        return
    click.echo(f"adapter {result['name']} ({result['peft_type'] or 'peft'}) {_short(result['child'])} "
               f"<-adapter- {_short(result['parents'][0])}")


@click.group("online")
def online_group() -> None:
    """Online-learning checkpoints: packet digests batched under one Merkle root."""


@online_group.command("prove")
@click.argument("checkpoint")
@click.argument("packet")
@JSON_OPTION
def online_prove(checkpoint: str, packet: str, as_json: bool) -> None:
    """Print and verify the inclusion proof of PACKET (a sha256 digest) in CHECKPOINT."""
    with client_session() as client:
        result = client.prove_packet(checkpoint, packet)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"packet {result['packet']}")
        click.echo(f"checkpoint {result['model']} #{result['number']} {result['checkpoint']}")
        _print_proof(result, [("in checkpoint", result)])
    if not result["verified"]:
        raise SystemExit(1)


COMMANDS = [corpus_group, model_group, online_group]
