"""What a side of a diff reads: one table (a file, or a folder of shards of one format) with its format and,
for CSV, its dialect; checked before any engine sees it, so a bad file is one clear line.

A file's format comes from its extension and is then verified from its bytes (Parquet's magic number, CSV
text that decodes as UTF-8, JSON Lines whose first line is a JSON object): a file that is not what its name
says is refused rather than read as garbage.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ValidationError
from . import FORMATS

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"


def format_of(name: str) -> str | None:
    """The tabular format a file name says (None: not a table)."""
    return FORMATS.get(Path(name).suffix.lower())


@dataclass(frozen=True)
class TableSource:
    """Files holding one table; ``label`` names it in messages (the ref or path the user gave)."""

    label: str
    format: str
    files: tuple[str, ...]
    delimiter: str | None = None  # CSV only
    inline: bytes | None = field(default=None, repr=False, compare=False)  # the one file's bytes, if read
    names: tuple[str, ...] = field(default=(), compare=False)  # the files' names, as messages show them

    @property
    def description(self) -> str:
        extra = f", delimiter {self.delimiter!r}" if self.delimiter else ""
        shards = f", {len(self.files)} shards" if len(self.files) > 1 else ""
        return f"{self.format}{extra}{shards}"


def check_parquet(path: Path, label: str) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(4)
        if size >= 8:
            f.seek(size - 4)
        tail = f.read(4)
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise ValidationError(
            label,
            "is not a Parquet file (no PAR1 magic number)",
            "check the file, or give it the extension of its real format",
        )


def _text_head(path: Path, label: str, what: str) -> str:
    with path.open("rb") as f:
        raw = f.read(_SNIFF_BYTES)
    if raw.startswith(b"PAR1"):
        raise ValidationError(label, f"is a Parquet file, not {what}", "rename it to .parquet")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(label, "is UTF-16 text", "re-encode it as UTF-8 (iconv -f UTF-16 -t UTF-8)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(raw) < _SNIFF_BYTES or exc.start < len(raw) - 4:  # not a character cut by the sample's end
            raise ValidationError(
                label,
                f"is not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})",
                "re-encode it as UTF-8, e.g. iconv -f latin1 -t UTF-8",
            ) from None
        text = raw[: exc.start].decode("utf-8")
    if "\0" in text:
        raise ValidationError(label, f"holds binary data, not {what}", "check the file")
    return text.removeprefix("\ufeff")


def csv_delimiter(path: Path, label: str) -> str:
    """The delimiter of a CSV file, detected from its first lines (a .tsv is tab-separated), after checking
    that its header names each column once (an engine would rename the second ``a`` to ``a_1``, and a diff
    would then report a column nobody wrote)."""
    text = _text_head(path, label, "CSV")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniffed_delimiter(text)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):
        if name in seen:
            raise ValidationError(
                label,
                f"names two columns {name!r} (columns {seen[name]} and {i} of its header)",
                "give every column its own name",
            )
        seen[name] = i
    return delimiter


def _sniffed_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith("\n") and len(text) == _SNIFF_BYTES:
        lines = lines[:-1]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def is_blank(path: Path) -> bool:
    """Whether a text table holds nothing but white space (a header line is not nothing)."""
    size = path.stat().st_size
    return size == 0 or (size <= _SNIFF_BYTES and not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip())


def check_jsonl(path: Path, label: str) -> None:
    text = _text_head(path, label, "JSON Lines")
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        return
    try:
        value = json.loads(first)
    except ValueError:
        raise ValidationError(
            label, "is not JSON Lines (its first line is not JSON)", "write one JSON object per line"
        ) from None
    if not isinstance(value, dict):
        raise ValidationError(
            label,
            "is not JSON Lines of objects (its first line is not a JSON object)",
            "write one JSON object per line",
        )


def table_source(label: str, files: list[tuple[str, Path]]) -> TableSource:
    """Check files that should form one table: (name, path) pairs, the name carrying the extension (a cached
    object has none of its own)."""
    if not files:
        raise ValidationError(label, "holds no tabular file", "diff Parquet, CSV or JSON Lines files")
    formats = {format_of(name) for name, _ in files}
    if len(formats) != 1 or None in formats:
        shown = ", ".join(sorted({Path(n).suffix or n for n, _ in files}))
        raise ValidationError(
            label, f"mixes formats ({shown}), so it is not one table", "diff the files one by one"
        )
    fmt = formats.pop()
    assert fmt is not None
    # an empty text file holds no rows and no columns (an engine would invent a column for it): an empty
    # shard adds nothing to its table, and a table with nothing in it is refused
    kept = [(n, p) for n, p in files if fmt == "parquet" or not is_blank(p)]
    if not kept:
        problem = "is empty (not even a header line)" if fmt == "csv" else "holds no JSON object"
        if len(files) > 1:
            problem = f"every shard of it is empty ({problem.partition(' ')[2]})"
        raise ValidationError(
            label,
            f"{problem}, so it is no table",
            "write its header line" if fmt == "csv" else "write one JSON object per line",
        )
    files = kept
    delimiters = set()
    for name, path in files:
        where = f"{label} ({name})" if len(files) > 1 or not label.endswith(name) else label
        if fmt == "parquet":
            check_parquet(path, where)
        elif fmt == "csv":
            delimiters.add(csv_delimiter(path, where))
        else:
            check_jsonl(path, where)
    if len(delimiters) > 1:
        shown = " and ".join(repr(d) for d in sorted(delimiters))
        raise ValidationError(
            label,
            f"its CSV shards use different delimiters ({shown})",
            "write every shard with the same delimiter",
        )
    return TableSource(
        label,
        fmt,
        tuple(str(p) for _, p in files),
        delimiters.pop() if delimiters else None,
        names=tuple(n for n, _ in files),
    )


def is_table_folder(names: list[str]) -> bool:
    """A folder counts as one table when every (visible) file in it is a table of one format."""
    visible = [n for n in names if not any(part.startswith(("_", ".")) for part in Path(n).parts)]
    formats = {format_of(n) for n in visible}
    return bool(visible) and len(formats) == 1 and None not in formats


def shard_names(names: list[str]) -> list[str]:
    """The files of a table folder that hold rows (``_SUCCESS`` and hidden files do not)."""
    return sorted(n for n in names if not any(part.startswith(("_", ".")) for part in Path(n).parts))
