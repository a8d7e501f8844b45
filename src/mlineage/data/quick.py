"""The quick path of ``mlineage status``: answer "everything is unchanged" without loading click, YAML,
SQLAlchemy or the workspace machinery.

It reads pointer files in the exact layout ``mlineage add`` writes, stats the data, and looks the stat rows
up in the stat cache. It answers only when every tracked path is provably unchanged; anything else (a change,
a hand-edited pointer, a stat-cache miss, an option it does not know) returns False and the full command
runs, so the quick path never decides anything the full one would decide differently.
"""

from __future__ import annotations

import os
import sys

_FIELDS = ("path", "kind", "digest", "size", "files", "name", "version")
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_ODD = frozenset("\u2028\u2029\ufeff\ufffe\uffff")  # YAML line breaks and non-characters
_SKIP = {".mlineage", ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".dvc"}


def _find_root() -> str | None:
    here = os.getcwd()
    while True:
        if os.path.isdir(os.path.join(here, ".mlineage")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _pointers(start: str) -> list[str]:
    found = []
    stack = [start]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            entries = list(it)
        names = {e.name for e in entries}
        for e in entries:
            if e.name.endswith(".lin") and e.is_file(follow_symlinks=False):
                found.append(e.path)
            elif (e.is_dir(follow_symlinks=False) and e.name not in _SKIP and not e.name.startswith(".")
                  and e.name + ".lin" not in names):
                stack.append(e.path)
    return sorted(found)


def _read_pointer(path: str) -> tuple[str, str] | None:
    """(kind, digest) from a pointer in the canonical layout, or None to let the full parser judge it."""
    fields: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            key, sep, value = line.rstrip("\n").partition(": ")
            if not sep or key not in _FIELDS or key in fields or not value or "\n" in value or "\r" in value:
                return None
            fields[key] = value
    name = os.path.basename(path)[:-4]
    if fields.get("path") != '"' + name + '"' or not _plain_string(fields["path"]):
        return None
    kind, digest = fields.get("kind"), fields.get("digest", "")
    if (kind not in ("file", "directory") or len(digest) != 71 or not digest.startswith("sha256:")
            or not _HEX.issuperset(digest[7:]) or not _decimal(fields.get("size", ""))):
        return None
    if (kind == "directory" and not _decimal(fields.get("files", ""))) or (
        "files" in fields and kind == "file"
    ):
        return None
    if ("name" in fields and not _plain_string(fields["name"])) or ("version" in fields
                                                                  and not _decimal(fields["version"])):
        return None
    return kind, digest


def _decimal(text: str) -> bool:
    """A non-negative integer as ``mlineage add`` writes it (no sign, no leading zero, ASCII digits)."""
    return bool(text) and _DIGITS.issuperset(text) and (text == "0" or text[0] != "0")


def _plain_string(text: str) -> bool:
    """A double-quoted string with no escapes and only printable characters: one YAML reads as written."""
    inner = text[1:-1]
    return (len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in inner and "\\" not in inner
            and all(" " <= c < "\x7f" or c > "\xa0" and c not in _ODD for c in inner))


def quick_status(args: list[str]) -> bool:
    """Print the clean-tree answer and return True, or return False to run the full command."""
    if any(a not in ("--json", "--exit-code") for a in args):  # a clean tree exits 0 with --exit-code too
        return False
    try:
        root = _find_root()
        db = os.path.join(root, ".mlineage", "statcache.db") if root else None
        if root is None or db is None or not os.path.exists(db):
            return False
        pointers = _pointers(root)
        from ..blobs.walk import TREES_DIR, checksum, read_tree_file, tree_matches, walk_rows

        trees = os.path.join(root, ".mlineage", TREES_DIR)
        conn = None  # SQLite only for single files (a directory's record is a file of its own)
        try:
            for pointer in pointers:
                parsed = _read_pointer(pointer)
                if parsed is None:
                    return False
                kind, digest = parsed
                data = pointer[:-4]
                if kind == "directory":
                    if os.path.islink(data) or not os.path.isdir(data):
                        return False
                    saved = read_tree_file(trees, data)
                    if (
                        saved is None
                        or saved[0] != digest
                        or not tree_matches(*walk_rows(data), saved[3], saved[4])
                    ):
                        return False
                    continue
                st = os.lstat(data)
                if st.st_mode & 0o170000 != 0o100000:
                    return False
                if conn is None:
                    import sqlite3

                    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                row = conn.execute("SELECT digest, checksum FROM files WHERE dev=? AND ino=? AND size=? AND "
                                   "mtime_ns=?", key).fetchone()
                if row is None or row[0] != digest or row[1] != checksum(key, digest):
                    return False
        finally:
            if conn is not None:
                conn.close()
    except (OSError, UnicodeDecodeError, Exception):  # noqa: BLE001 - any doubt: the full command decides
        return False
    if "--json" in args:
        import json

        out = [
            {
                "path": os.path.relpath(p[:-4], root).replace(os.sep, "/"),
                "pointer": os.path.relpath(p, root).replace(os.sep, "/"),
                "state": "unchanged",
            }
            for p in pointers
        ]
        sys.stdout.write(json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    elif not pointers:
        sys.stdout.write("no tracked data (add some with `mlineage add PATH`)\n")
    else:
        n = len(pointers)
        sys.stdout.write(f"up to date: {n} tracked path{'s' if n != 1 else ''} "
                         f"match{'' if n != 1 else 'es'} {'their pointers' if n != 1 else 'its pointer'}\n")
    return True
