"""Human-in-the-loop edits, pure: the kinds of edit, label records and a labelling tool's export.

A label correction, a manual weight edit, a prompt edit or an approval is a transformation with a person as
its agent: a ``human_edit`` run that used the artifact before the edit and produced the one after, with the
reason. A label has no file of its own, so a label record is content-addressed as the canonical JSON
``{"item": ..., "label": ...}``; a labelling round exported by a tool (a CSV or JSON list of changes) becomes
one edit per changed label.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError

EDIT_KINDS = ("label_correction", "weight_edit", "prompt_edit", "approval")

_ALIASES = {
    "item": ("item", "item_id", "id", "sample", "sample_id", "task_id"),
    "before": ("old_label", "before", "from", "previous_label", "old"),
    "after": ("new_label", "after", "to", "label", "new"),
    "person": ("annotator", "person", "user", "reviewer", "completed_by"),
    "reason": ("reason", "comment", "note"),
}


def label_record(item: str, label: str) -> bytes:
    from ..ledger import canonical_json  # not at import time: the catalogue imports this package

    return canonical_json({"item": item, "label": label})


def label_digest(item: str, label: str) -> str:
    return "sha256:" + hashlib.sha256(label_record(item, label)).hexdigest()


@dataclass(frozen=True, slots=True)
class LabelChange:
    item: str
    before: str
    after: str
    person: str
    reason: str


def _field(row: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    for alias in _ALIASES[key]:
        value = row.get(alias)
        if value is not None and str(value).strip():
            return str(value).strip()
    if default is not None:
        return default
    raise ValidationError(key, f"{where} has no {key} (a column {', '.join(_ALIASES[key])})",
                          "pass --reason for changes without one; nothing was recorded" if key == "reason"
                          else "nothing was recorded")


def parse_label_export(text: str, *, fmt: str, default_reason: str | None = None) -> list[LabelChange]:
    """The label changes of a tool's export: CSV with a header, or a JSON list of objects (one per change).
    Every change needs an item, the old and new label and the annotator; the reason defaults to
    ``default_reason`` when the export has none, else the change is refused."""
    if fmt == "csv":
        rows: list[Any] = list(csv.DictReader(io.StringIO(text)))
    elif fmt == "json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError("export", f"is not JSON: {exc.msg}") from None
        if not isinstance(rows, list):
            raise ValidationError("export", "must be a JSON list of label changes")
    else:
        raise ValidationError("export", f"{fmt!r} is not a format", "use csv or json")
    out, seen = [], set()
    for i, row in enumerate(rows):
        where = f"change {i + 1}"
        if not isinstance(row, Mapping):
            raise ValidationError("export", f"{where} is not an object")
        change = LabelChange(_field(row, "item", where), _field(row, "before", where),
                             _field(row, "after", where), _field(row, "person", where),
                             _field(row, "reason", where, default_reason))
        if change.before == change.after:
            raise ValidationError("export", f"{where} ({change.item}) changes nothing: {change.before!r}")
        if change.item in seen:
            raise ValidationError("export", f"item {change.item!r} is changed twice in one round")
        seen.add(change.item)
        out.append(change)
    if not out:
        raise ValidationError("export", "holds no label changes")
    return out


def check_edit(edit: str, before: str, after: str | None, person: str, reason: str) -> None:
    """The rules every edit follows, whatever records it."""
    if edit not in EDIT_KINDS:
        raise ValidationError("edit", f"{edit!r} is not an edit kind", f"use one of {', '.join(EDIT_KINDS)}")
    if not person.strip():
        raise ValidationError("person", "an edit needs the person who made it")
    if not reason.strip():
        raise ValidationError("reason", "an edit needs a reason")
    if edit == "approval":
        if after is not None and after != before:
            raise ValidationError("after", "an approval changes nothing: give only what was approved")
    elif after is None or after == before:
        raise ValidationError("after", f"a {edit} needs the content after the edit, different from before")
