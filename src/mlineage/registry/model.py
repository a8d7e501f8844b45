"""Pure rules of the registry: which names are allowed, how ``NAME@X`` / ``NAME#X`` split, and which alias
move was in force at a moment (``--as-of``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..errors import ValidationError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
_VERSIONISH = re.compile(r"^(v|V)?\d+(\.\d+)*([-+].*)?$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError("name", f"{name!r} is not a model name",
                              "letters, digits and . _ / -, starting with a letter or digit")
    return name


def looks_like_version(text: str) -> bool:
    """``3``, ``v3``, ``1.4.0``, ``latest``: what ``NAME@X`` would read as a version, so no alias may be
    called that (``fraud-model@3`` must mean one thing)."""
    return text == "latest" or bool(_VERSIONISH.match(text))


def check_alias(alias: str) -> str:
    if not isinstance(alias, str):
        raise ValidationError("alias", "must be a string")
    if looks_like_version(alias):
        raise ValidationError("alias", f"{alias!r} looks like a version number",
                              "name an alias with a word: production, staging, champion")
    if not _ALIAS.match(alias):
        raise ValidationError("alias", f"{alias!r} is not an alias name",
                              "start with a letter; letters, digits and . _ - after")
    return alias


def check_semver(text: str | None) -> str | None:
    if text is not None and not _SEMVER.match(text):
        raise ValidationError("semver", f"{text!r} is not MAJOR.MINOR.PATCH", "write 1.4.0")
    return text


def split_ref(ref: str) -> tuple[str, str, str] | None:
    """``NAME@X`` -> (NAME, "@", X), ``NAME#X`` -> (NAME, "#", X); None for anything else."""
    for sep in ("#", "@"):
        name, found, tail = ref.rpartition(sep)
        if found and name and tail and not name.startswith("sha256:"):
            return name, sep, tail
    return None


def parse_as_of(as_of: str | int | None) -> int | datetime | None:
    """A ledger seq (an int, ``N`` or ``seq:N``) or an RFC 3339 time (``Z`` assumed when no zone is given)."""
    if as_of is None or isinstance(as_of, int):
        return as_of
    text = str(as_of).strip().removeprefix("seq:")
    if text.isdigit():
        return int(text)
    from ..eventtime import parse_event_time

    return parse_event_time(text if re.search(r"(Z|[+-]\d\d:\d\d)$", text) else text + "Z", "as_of")


def target_at(moves: Sequence[dict[str, Any]], as_of: str | int | None) -> dict[str, Any] | None:
    """The alias's target after the last move at or before ``as_of`` (None: removed, or not set yet).
    ``moves`` are oldest first, each with ``seq``, ``ts`` and ``to`` (None for a removal)."""
    limit = parse_as_of(as_of)
    current = None
    for move in moves:
        if isinstance(limit, int) and move["seq"] > limit:
            break
        if isinstance(limit, datetime):
            from ..eventtime import parse_event_time

            if parse_event_time(move["ts"]) > limit:
                break
        current = move["to"]
    return current
