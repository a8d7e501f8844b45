"""``verify-attestation``'s model file hashed from the moment the console script starts.

Checking an attestation is reading the model once; the rest (loading click, cryptography, the key) is
start-up that would otherwise come on top. The console script calls ``start_from_argv`` before it imports
anything else, a daemon thread hashes the file (hashlib releases the GIL, so it runs beside the imports),
and the command collects the digest with ``sha256_of``, which hashes the file itself when nothing was started.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_started: dict[str, Any] = {}


def _hex(path: str) -> str:
    from ..hashing import hash_file

    return hash_file(path)[0].hex


def start_from_argv(args: list[str]) -> None:
    """``verify-attestation ATTESTATION MODEL_FILE [--key PUB]``: start hashing MODEL_FILE if it is a file."""
    positional: list[str] = []
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg == "--key":
            takes_value = True
        elif not arg.startswith("-"):
            positional.append(arg)
    if len(positional) >= 2 and os.path.isfile(positional[1]):
        from functools import partial

        from ..background import Background

        job = Background(partial(_hex, positional[1]), "mlineage-prehash")
        _started[os.path.realpath(positional[1])] = job


def sha256_of(path: Path) -> str:
    job = _started.pop(os.path.realpath(path), None)
    if job is not None:
        try:
            return str(job.result())
        except OSError:
            pass  # hash it here, where the error is reported with the command's context
    return _hex(str(path))
