"""Reading corpus shards from disk into ``corpus.Document`` records (the I/O half of ``corpus``).

A shard is a JSONL file (one document object per line), a Parquet file (one per row; pyarrow is imported
only when one is read) or a text file (one document per non-empty line, id ``<shard>:<line>``). ``add``
takes a folder (every shard file in it, recursively, named by its relative path) or a manifest: a JSON file
``{"name": ..., "shards": ["a.jsonl", ...]}`` with paths relative to the manifest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..pathtext import path_text
from .corpus import Document, document

SHARD_SUFFIXES = (".jsonl", ".parquet", ".txt")


def read_shard(path: Path, name: str) -> list[Document]:
    """Every document of one shard file."""
    return [document(record, where, canonical) for record, where, canonical in _records(path, name)]


def read_shard_texts(path: Path, name: str) -> list[tuple[Document, str]]:
    """Every document of one shard file with its text (the ``text`` field; what an embedding index
    chunks)."""
    out = []
    for record, where, canonical in _records(path, name):
        text = record.get("text")
        out.append((document(record, where, canonical), text if isinstance(text, str) else ""))
    return out


def _records(path: Path, name: str) -> Iterator[tuple[dict[str, Any], str, bytes | None]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl(path, name)
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except (pa.ArrowException, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValidationError("shard", f"{name} could not be read as Parquet: {first}",
                                  "check the file, or give it the extension of its real format") from None
        for i, row in enumerate(rows):
            yield row, f"{name} row {i + 1}", None
    elif suffix == ".txt":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise ValidationError("shard", f"{name} is not UTF-8 text (byte {exc.start})",
                                  "re-encode it as UTF-8, e.g. iconv -f latin1 -t UTF-8") from None
        for i, line in enumerate(lines):
            if line.strip():
                yield {"id": f"{name}:{i + 1}", "text": line}, f"{name} line {i + 1}", None
    else:
        raise ValidationError("shard", f"{path_text(path)} is not a shard",
                              "use .jsonl, .parquet or .txt files")


# A line the C encoder cannot render as RFC 8785 does: a character outside the BMP (JCS orders keys by UTF-16
# code units) or an escaped surrogate (which may be unpaired). Floats and long integers are caught while
# parsing (below); ``ledger._jcs_ready`` states the rules this fast path follows.
_ASTRAL = re.compile(r"[\U00010000-\U0010FFFF]")
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89abAB]")


class _Numbers:
    """Parse hooks that note whether a line holds a float, NaN/Infinity or an integer beyond 2**53 (so the
    canonical form must come from the full canonicaliser)."""

    def __init__(self) -> None:
        self.unsafe = False

    def on_float(self, text: str) -> float:
        self.unsafe = True
        return float(text)

    def on_constant(self, text: str) -> float:  # NaN, Infinity: the full canonicaliser refuses them
        self.unsafe = True
        return float(text)

    def on_int(self, text: str) -> int:
        value = int(text)
        if abs(value) >= 2**53:
            self.unsafe = True
        return value


def _jsonl(path: Path, name: str) -> Iterator[tuple[dict[str, Any], str, bytes | None]]:
    """Each record with its canonical JSON, made by the C encoder when the line allows it (the same bytes as
    ``ledger.canonical_json``, without walking the record first: a million documents cost half as much)."""
    numbers = _Numbers()
    decoder = json.JSONDecoder(parse_float=numbers.on_float, parse_int=numbers.on_int,
                               parse_constant=numbers.on_constant)
    dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             allow_nan=False).encode
    with path.open(encoding="utf-8") as handle:
        lines = enumerate(handle, 1)
        while True:
            try:
                i, line = next(lines)
            except StopIteration:
                break
            except UnicodeDecodeError:  # read a block at a time: the block is known, not the line
                raise ValidationError("shard", f"{name} is not UTF-8 text",
                                      "re-encode it as UTF-8, e.g. iconv -f latin1 -t UTF-8") from None
            if not line.strip():
                continue
            numbers.unsafe = False
            try:
                record: Any = decoder.decode(line)
            except json.JSONDecodeError as exc:
                raise ValidationError("shard", f"{name} line {i} is not JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise ValidationError("shard", f"{name} line {i} is not a JSON object")
            fast = (not numbers.unsafe and (line.isascii() or _ASTRAL.search(line) is None)
                    and ("\\u" not in line or _SURROGATE_ESCAPE.search(line) is None))
            canonical = dumps(record).encode("utf-8") if fast else None
            yield record, f"{name} line {i}", canonical


def shard_files(source: Path) -> tuple[str | None, list[tuple[str, Path]]]:
    """The corpus name a manifest gives (None for a folder) and its shards as ``(name, path)``."""
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in SHARD_SUFFIXES)
        if not files:
            raise ValidationError("source", f"{path_text(source)} holds no .jsonl, .parquet or .txt shards")
        return None, [(p.relative_to(source).as_posix(), p) for p in files]
    if not source.is_file():
        raise ValidationError("source", f"{path_text(source)} does not exist")
    try:
        manifest = json.loads(source.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError("manifest", f"{path_text(source)} is not a JSON manifest: {exc}") from None
    shards = manifest.get("shards") if isinstance(manifest, dict) else None
    if not isinstance(shards, list) or not all(isinstance(s, str) for s in shards) or not shards:
        raise ValidationError("manifest", 'expected {"name": ..., "shards": ["path", ...]}')
    name = manifest.get("name") if isinstance(manifest.get("name"), str) else None
    out = []
    for s in shards:
        path = source.parent / s
        if not path.is_file():
            raise ValidationError("manifest", f"shard {s} does not exist",
                                  "shard paths are relative to the manifest")
        out.append((s, path))
    return name, out
