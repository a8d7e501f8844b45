"""Recording human-in-the-loop edits through the Client (the I/O half of ``hitl``).

An edit is one batch: the artifacts before and after (files recorded now, or refs already recorded), a
``human_edit`` run with the person as its agent that used the one and produced the other, and the
``HumanEdit`` record with the reason. A labelling round imports from a tool's export with deterministic event
ids (from the export's digest and the change's position), so importing the same export again writes nothing.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..errors import ValidationError
from ..events import NewEvent
from ..importers.ids import event_id
from ..model import Artifact
from ..pathtext import path_text
from . import hitl
from . import special_events as se

if TYPE_CHECKING:
    from ..sdk.client import Client


def _artifact(client: Client, value: str, batch: list[NewEvent], kind: str | None, name: str | None) -> str:
    path = Path(value)
    if path.exists():
        event = client.artifact_event(path, kind=kind or "file", name=name)
        batch.append(event)
        return str(event.payload["digest"])
    node = client.resolve(value)
    if not isinstance(node, Artifact):
        raise ValidationError("artifact", f"{value} is a run: name the artifact before or after the edit")
    return str(node.digest)


def _edit_events(run_id: str, edit: str, person: str, reason: str, before: str, after: str | None,
                 item: str | None, ids: Any = None) -> list[NewEvent]:
    """The run and record of one edit; ``ids(n)`` gives the n-th event's id (deterministic imports)."""
    hitl.check_edit(edit, before, after, person, reason)
    params: dict[str, Any] = {"edit": edit, "reason": reason[:1000]}
    if item is not None:
        params["item"] = item
    payload: dict[str, Any] = {"run_id": run_id, "edit": edit, "person": person, "before": before,
                               "reason": reason}
    if after is not None:
        payload["after"] = after
    if item is not None:
        payload["item"] = item
    job = f"{edit.replace('_', ' ')} by {person}"
    out: list[tuple[str, dict[str, Any]]] = [
        (ev.RUN_STARTED, {"run_id": run_id, "job": job, "kind": "human_edit", "agent": person,
                          "params": params}),
        (ev.ARTIFACT_USED, {"run_id": run_id, "digest": before,
                            "role": "approved" if edit == "approval" else "before"})]
    if after is not None:
        out.append((ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": after, "role": "after"}))
    out += [(se.HUMAN_EDIT, payload), (ev.RUN_ENDED, {"run_id": run_id, "status": "completed"})]
    return [NewEvent(t, dict(p)) if ids is None else NewEvent(t, dict(p), id=ids(i))
            for i, (t, p) in enumerate(out)]


def record_edit(client: Client, edit: str, *, person: str, reason: str, before: str,
                after: str | None = None, item: str | None = None, kind: str | None = None,
                name: str | None = None) -> dict[str, Any]:
    """Record one edit: ``before``/``after`` are files (recorded now, as ``kind`` named ``name``) or refs.
    An approval names only ``before`` (what was approved)."""
    placeholder_after = None if after is None else "sha256:" + "1" * 64  # checked before hashing anything
    hitl.check_edit(edit, "sha256:" + "0" * 64, placeholder_after, person, reason)
    batch: list[NewEvent] = []
    before_digest = _artifact(client, before, batch, kind, name)
    after_digest = None if after is None else _artifact(client, after, batch, kind, name)
    run_id = uuid.uuid4().hex
    batch += _edit_events(run_id, edit, person, reason, before_digest, after_digest, item)
    client.append(batch)
    client.write_checkpoint()
    return {"run_id": run_id, "edit": edit, "person": person, "reason": reason, "before": before_digest,
            "after": after_digest, "item": item}


def import_labels(client: Client, export: str | os.PathLike[str], *, fmt: str | None = None,
                  reason: str | None = None) -> dict[str, Any]:
    """Import a labelling round: each changed label becomes a ``label_correction`` by its annotator, from
    the item's old label record to its new one (artifacts of kind ``label`` named by item)."""
    path = Path(export)
    if not path.is_file():
        raise ValidationError("export", f"{path_text(path)} does not exist")
    data = path.read_bytes()
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("export", f"{path_text(path)} is not UTF-8 text") from None
    changes = hitl.parse_label_export(text, fmt=fmt, default_reason=reason)
    source = "labels:" + hashlib.sha256(data).hexdigest()
    batch: list[NewEvent] = []
    runs = []
    for i, c in enumerate(changes):
        before, after = hitl.label_digest(c.item, c.before), hitl.label_digest(c.item, c.after)
        for digest, label, tag in ((before, c.before, "before"), (after, c.after, "after")):
            batch.append(NewEvent(ev.ARTIFACT_RECORDED, {
                "digest": digest, "kind": se.LABEL.value, "name": c.item,
                "size": len(hitl.label_record(c.item, label)), "metadata": {"item": c.item, "label": label}},
                id=event_id(source, i, tag)))
        run_id = uuid.UUID(event_id(source, i, "run")).hex
        batch += _edit_events(run_id, "label_correction", c.person, c.reason, before, after, c.item,
                              ids=lambda n, i=i: event_id(source, i, "edit", n))
        runs.append({"run_id": run_id, "item": c.item, "before": c.before, "after": c.after,
                     "person": c.person})
    stored = client.append(batch)
    client.write_checkpoint()
    return {"export": path_text(path), "changes": len(changes), "written": len(stored) > 0, "edits": runs}


def edits(client: Client, person: str | None = None) -> list[dict[str, Any]]:
    """The recorded edits (of ``person``, or everyone's), oldest first."""
    from .records import records_for
    from .service import _remote

    remote = _remote(client, "/llm/edits", {"person": person} if person else {})
    if remote is not None:
        return list(remote["edits"])

    sql = "SELECT run_id, edit, person, before_digest, after_digest, reason, item FROM human_edits"
    params: dict[str, Any] = {}
    if person is not None:
        sql += " WHERE person = :p"
        params["p"] = person
    rows = records_for(client.store).rows(sql + " ORDER BY seq", params)
    return [dict(zip(("run_id", "edit", "person", "before", "after", "reason", "item"), r, strict=True))
            for r in rows]
