"""The corpus, model and online commands: --json answers, exit codes and one-line errors (both backends)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mlineage.cli.main import cli
from mlineage.llm import OnlineRecorder


def _invoke(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def test_llm_commands(client: Any, store_uri: str, tmp_path: Path) -> None:
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    corpus = tmp_path / "c"
    corpus.mkdir()
    lines = [json.dumps({"id": f"d{i}", "text": str(i)}) for i in range(5)]
    (corpus / "a.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "m.json").write_text(json.dumps({"name": "tiny", "shards": ["c/a.jsonl"]}))
    added = _invoke(env, "corpus", "add", str(tmp_path / "m.json"), "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["name"] == "tiny"
    proof = _invoke(env, "corpus", "prove", "tiny@1", "d3", "--json")
    assert proof.exit_code == 0 and json.loads(proof.stdout)["verified"] is True
    missing = _invoke(env, "corpus", "prove", "tiny@1", "nope")
    assert missing.exit_code == 1 and "error: document 'nope' is not in this corpus version" in missing.output
    found = json.loads(_invoke(env, "corpus", "find", "d3", "--json").stdout)
    assert [f["name"] for f in found] == ["tiny"]

    (tmp_path / "w.bin").write_bytes(b"w")
    linked = _invoke(env, "model", "link", str(tmp_path / "w.bin"), "--base", "hf:org/base@r1",
                     "--relation", "finetune", "--json")
    assert linked.exit_code == 0, linked.output
    assert json.loads(linked.stdout)["relation"] == "finetune"
    bad = _invoke(env, "model", "link", str(tmp_path / "w.bin"), "--base", "hf:org/base@r1",
                  "--relation", "distilled")
    assert bad.exit_code == 2

    recorder = OnlineRecorder("m", every=4, client=client)
    digest = [recorder.update(f"p{i}".encode()) for i in range(4)][-1]
    assert digest is not None
    packet = "sha256:" + hashlib.sha256(b"p2").hexdigest()
    proved = _invoke(env, "online", "prove", digest, packet, "--json")
    assert proved.exit_code == 0 and json.loads(proved.stdout)["index"] == 2


def test_a_shard_that_cannot_be_read_is_one_line_naming_it(
    client: Any, store_uri: str, tmp_path: Path
) -> None:
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    good = json.dumps({"id": "d1", "text": "one"}) + "\n"
    cases = {
        "a.jsonl": good.encode() + b'{"id": "d2", "text": "caf\xe9"}\n',  # latin-1 on line 2
        "b.txt": b"fine\n\xff\xfe\x00binary\n",
        "c.parquet": b"PAR1 not really parquet PAR1",
    }
    for i, (name, content) in enumerate(cases.items()):
        folder = tmp_path / f"corpus{i}"
        folder.mkdir()
        (folder / "ok.jsonl").write_text(good.replace("d1", f"ok{i}"))
        (folder / name).write_bytes(content)
        head = client.store.head()
        done = _invoke(env, "corpus", "add", str(folder))
        assert done.exit_code == 1 and isinstance(done.exception, SystemExit), (name, done.exception)
        assert done.output.startswith(f"error: shard: {name}") and done.output.count("\n") == 1, done.output
        assert client.store.head() == head  # nothing written


def test_a_corpus_of_empty_shards_is_refused(client: Any, store_uri: str, tmp_path: Path) -> None:
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.jsonl").write_text("")
    (folder / "b.jsonl").write_text("\n")
    head = client.store.head()
    done = _invoke(env, "corpus", "add", str(folder))
    assert done.exit_code == 1, done.output  # it recorded a corpus of 0 documents
    assert done.output == ("error: shards: the corpus has no documents: every shard is empty (a.jsonl and 1 "
                           "more) (a corpus version needs at least one document; nothing was recorded)\n")
    assert client.store.head() == head
