"""``verify-attestation``'s model file hashed from the moment the console script starts.

Checking an attestation is reading the model once; the rest (loading the command, cryptography, the key) is
start-up that would otherwise come on top. The console script calls ``start_from_argv`` before it imports
anything else; a daemon thread hashes the file (hashlib releases the GIL, so it runs beside the imports) with
``filedigest``, which needs nothing but the standard library, so the thread imports nothing the main thread
is importing. The command collects the digest with ``sha256_of``, which hashes the file itself when nothing
was started.
"""

from __future__ import annotations

import os
import threading

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing before the thread starts
if TYPE_CHECKING:
    from pathlib import Path


class _Job:
    def __init__(self, path: str) -> None:
        self.value: str | None = None
        self.thread = threading.Thread(target=self._run, args=(path,), name="mlineage-prehash", daemon=True)
        self.thread.start()

    def _run(self, path: str) -> None:
        try:
            self.value = _hex(path)
        except OSError:
            pass  # sha256_of hashes it again, where the error is reported with the command's context


_started: dict[str, _Job] = {}


def _hex(path: str) -> str:
    from ..filedigest import sha256_file

    return sha256_file(path)[0]


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
        from .. import filedigest  # noqa: F401  (imported here, before the thread needs it)

        _started[os.path.realpath(positional[1])] = _Job(positional[1])


def sha256_of(path: Path) -> str:
    job = _started.pop(os.path.realpath(path), None)
    if job is not None:
        job.thread.join()
        if job.value is not None:
            return job.value
    return _hex(str(path))
