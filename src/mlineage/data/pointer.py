"""Pointer files: ``train.parquet.lin`` beside ``train.parquet``, small YAML meant to be committed to git.

They are user-editable, so reading one is strict: invalid YAML, a missing or wrong-typed field or a malformed
digest is a ValidationError naming the file and the field, and nothing is changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..blobs.placement import write_text_atomically
from ..errors import ValidationError
from ..model import Digest
from ..pathtext import path_text

SUFFIX = ".lin"
_HEADER = ("# mlineage pointer: commit this file to git; the data itself lives in the artifact store.\n"
           "# `mlineage checkout {path}` restores the data it names.\n")


@dataclass(frozen=True, slots=True)
class Pointer:
    path: str  # the data's file name, beside the pointer
    digest: Digest
    size: int
    kind: str  # "file" or "directory"
    files: int | None = None
    name: str | None = None
    version: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.kind == "directory"


def pointer_path(data: Path) -> Path:
    return data.with_name(data.name + SUFFIX)


def data_path(pointer: Path) -> Path:
    return pointer.with_name(pointer.name[: -len(SUFFIX)])


def _quote(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def dumps(p: Pointer, shown_path: str | None = None) -> str:
    # a file name that is not UTF-8 is written as git writes it (see mlineage.pathtext), and read back below
    lines = [_HEADER.format(path=path_text(shown_path or p.path)), f"path: {_quote(path_text(p.path))}\n",
             f"kind: {p.kind}\n",
             f"digest: {p.digest}\n", f"size: {p.size}\n"]
    if p.files is not None:
        lines.append(f"files: {p.files}\n")
    if p.name is not None:
        lines.append(f"name: {_quote(path_text(p.name))}\n")
    if p.version is not None:
        lines.append(f"version: {p.version}\n")
    return "".join(lines)


def _load_yaml(text: str, where: Path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise ValidationError(str(where), f"is not valid YAML ({problem})",
                              "fix the file by hand, or restore it with git") from None


# The layout ``dumps`` writes, read without YAML: each value in the one spelling YAML and this reader agree on
# (a double-quoted string with no escapes and only printable characters, a decimal integer without leading
# zeros, a bare word or digest). Anything else, e.g. a hand-edited pointer, goes through the YAML parser.
_CANONICAL_LINE = re.compile(
    r'(?:(path|name): "([^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]*)"'
    r"|(kind): (file|directory)|(digest): (sha256:[0-9a-f]{64})|(size|files|version): (0|[1-9][0-9]*))")


def _canonical(text: str) -> dict[str, Any] | None:
    """The fields of a pointer in exactly the layout ``dumps`` writes, or None (then YAML decides)."""
    doc: dict[str, Any] = {}
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.startswith("#"):
            continue
        m = _CANONICAL_LINE.fullmatch(line)
        if m is None:
            return None
        groups = m.groups()
        for i in range(0, 8, 2):
            if groups[i] is not None:
                key, value = groups[i], groups[i + 1]
                break
        if key in doc:
            return None
        doc[key] = int(value) if i == 6 else value
    return doc


def loads(text: str, where: Path) -> Pointer:
    doc = _canonical(text)
    if doc is None:
        doc = _load_yaml(text, where)
    if not isinstance(doc, dict):
        raise ValidationError(str(where), "is not a pointer file (expected keys path, kind, digest, size)",
                              "restore it with git, or re-run `mlineage add`")

    def field(key: str, types: type | tuple[type, ...], required: bool = True) -> Any:
        value = doc.get(key)
        if value is None:
            if required:
                raise ValidationError(f"{where}: {key}", "is missing", "restore the file with git")
            return None
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValidationError(
                f"{where}: {key}", f"has the wrong type ({type(value).__name__}: {value!r})"
            )
        return value

    unknown = sorted(set(doc) - {"path", "kind", "digest", "size", "files", "name", "version"})
    if unknown:
        raise ValidationError(f"{where}: {unknown[0]}", "is not a pointer field",
                              "allowed: path, kind, digest, size, files, name, version")
    path = field("path", str)
    expected = where.name[: -len(SUFFIX)]
    if path != expected and path == path_text(expected):
        path = expected
    if path != expected:
        raise ValidationError(f"{where}: path", f"is {path!r} but this pointer sits beside {expected!r}",
                              "rename the pointer or fix the path field")
    kind = field("kind", str)
    if kind not in ("file", "directory"):
        raise ValidationError(f"{where}: kind", f"{kind!r} is not 'file' or 'directory'")
    try:
        digest = Digest.parse(field("digest", str))
    except ValidationError as exc:
        raise ValidationError(f"{where}: digest", exc.problem, "restore the file with git") from None
    size = field("size", int)
    files = field("files", int, required=False)
    version = field("version", int, required=False)
    for key, value in (("size", size), ("files", files), ("version", version)):
        if value is not None and value < 0:
            raise ValidationError(f"{where}: {key}", f"must not be negative, got {value}")
    if kind == "directory" and files is None:
        raise ValidationError(f"{where}: files", "is missing for a directory")
    return Pointer(path, digest, size, kind, files, field("name", str, required=False), version)


def read(pointer: Path) -> Pointer:
    try:
        text = pointer.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError(str(pointer), "is not UTF-8 text", "restore it with git") from None
    except PermissionError:
        raise ValidationError(str(pointer), "cannot be read (permission denied)") from None
    return loads(text, pointer)


def write(pointer: Path, p: Pointer, shown_path: str | None = None) -> None:
    """Atomic: a temp file in the same folder, then rename. ``shown_path`` is the data's path in the
    header."""
    write_text_atomically(pointer, dumps(p, shown_path))
