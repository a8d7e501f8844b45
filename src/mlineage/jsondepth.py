"""How deep a JSON document may nest: refused at the door, not half-way through the pipeline.

Python parses, canonicalises and hashes JSON recursively, so a document nested a few hundred levels deep fails
with RecursionError somewhere downstream (a 500, or an event accepted into a queue and refused later). No
lineage record needs more than a few levels, so the server refuses anything deeper than ``MAX_DEPTH`` on
arrival, with the same 400 as any other bad input.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ValidationError

MAX_DEPTH = 64


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1), counted without recursion and
    only as far as ``limit + 1``: enough to know it is too deep."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def check_depth(value: Any, field: str, limit: int = MAX_DEPTH) -> None:
    if depth_of(value, limit) > limit:
        raise ValidationError(field, f"is nested more than {limit} levels deep", "flatten the document")


def loads(raw: bytes | str, field: str = "body", limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted input: malformed or too deep JSON is a ValidationError, never a crash."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValidationError(
            field, f"is nested more than {limit} levels deep", "flatten the document"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(field, f"malformed JSON: {exc}") from None
    check_depth(value, field, limit)
    return value
