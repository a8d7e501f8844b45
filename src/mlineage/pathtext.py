"""File names as text the ledger can hold: a name that is not valid UTF-8 is written as git writes it.

On POSIX a file name is bytes; Python decodes the bytes that are not UTF-8 to lone surrogates, which JSON (and
so the ledger's canonical form) cannot carry. Such a name is recorded quoted, with each of those bytes as an
octal escape, as ``git`` shows it with ``core.quotePath`` (``"caf\\351.csv"``); every other name is unchanged.
"""

from __future__ import annotations

import os


def path_text(path: str | os.PathLike[str]) -> str:
    """``path`` as recordable text: unchanged when it is valid UTF-8, else quoted with octal byte escapes."""
    text = os.fspath(path)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif "\ud800" <= char <= "\udfff":
            raw = char.encode("utf-8", "surrogateescape") if char >= "\udc80" and char <= "\udcff" else \
                char.encode("utf-8", "surrogatepass")
            out.extend(f"\\{byte:03o}" for byte in raw)
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
