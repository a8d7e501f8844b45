"""``mlineage verify-attestation ATTESTATION MODEL_FILE --key PUB`` without click: the console script's quick
path, and the command's output.

Verifying a model is reading it once; what comes on top is start-up. The console script has already started
hashing the model on a thread (``provenance.prehash``); this path then loads only what the check needs (the
attestation reader, the key, cryptography's signature primitives), not click and the command index. Anything
else (``--json``, ``--help``, a missing file, another option) goes to the full CLI, which prints the same
lines through the same functions below and handles errors the same way: ``error: ...`` on stderr and exit
status 1.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def outcome_lines(outcome: Any) -> list[str]:
    """What the command prints for one checked attestation: its checks, then what its statement says."""
    lines = [outcome.where]
    for check in outcome.checks:
        lines.append(f"  {check.name:<10} {check.status}" + (f": {check.detail}" if check.detail else ""))
    summary = outcome.summary
    if summary is None:
        return lines
    lines.append(f"  predicate  {summary.predicate_type}")
    for subject in summary.subjects:
        digest = ", ".join(f"{k}:{v}" for k, v in sorted(subject.get("digest", {}).items()))
        lines.append(f"  subject    {subject.get('name')} {digest}")
    lines.append(f"  builder    {summary.builder}")
    if summary.build_type:
        lines.append(f"  build type {summary.build_type}")
    if summary.invocation:
        lines.append(f"  invocation {summary.invocation}")
    for material in summary.materials:
        digest = ", ".join(f"{k}:{v}" for k, v in sorted((material.get("digest") or {}).items()))
        lines.append(f"  material   {material.get('uri') or material.get('name')} {digest}".rstrip())
    return lines


def first_failure(outcomes: Sequence[Any]) -> Exception | None:
    """The error the command exits with: the first check that failed, named; None when none failed."""
    from ..errors import ValidationError
    from ..provenance.attestation import FAILED

    for outcome in outcomes:
        for check in outcome.checks:
            if check.status == FAILED:
                return ValidationError(outcome.where, f"{check.name} check failed: {check.detail}")
    return None


def verdict(outcomes: Sequence[Any]) -> str:
    """The last line when nothing failed: ``verified``, or which checks could not be made."""
    unchecked = sorted({f"{c.name} {c.status}" for o in outcomes for c in o.checks if c.status != "passed"})
    return "verified" if not unchecked else f"read, not verified ({'; '.join(unchecked)})"


def plain_verify_args(args: Sequence[str]) -> tuple[str, str, str] | None:
    """(attestation, model file, key) for exactly ``ATTESTATION MODEL_FILE --key PUB`` (in any order) with
    both files present; None for anything else, which the full CLI handles."""
    positional: list[str] = []
    key = None
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--key" and rest and key is None:
            key = rest.pop(0)
        elif arg.startswith("-"):
            return None
        else:
            positional.append(arg)
    if len(positional) != 2 or key is None or not all(os.path.isfile(p) for p in (*positional, key)):
        return None
    return positional[0], positional[1], key


def quick_verify(attestation: str, model: str, key: str) -> int:
    """Run a plain ``verify-attestation`` and return the exit status (as the click command would)."""
    from pathlib import Path

    from ..errors import MlineageError
    from ..provenance.attestation import verify_file
    from ..provenance.keys import load_public
    from ..provenance.prehash import sha256_of

    try:
        outcomes = verify_file(Path(attestation), Path(model), load_public(Path(key)), sha256_of)
    except MlineageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    lines = [line for outcome in outcomes for line in outcome_lines(outcome)]
    failure = first_failure(outcomes)
    if failure is None:
        lines.append(verdict(outcomes))
    sys.stdout.write("\n".join(lines) + "\n")
    if failure is not None:
        sys.stdout.flush()
        sys.stderr.write(f"error: {failure}\n")
        return 1
    return 0
