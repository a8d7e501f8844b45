"""Work started on a daemon thread now and collected later (``result`` re-raises what it raised).

Used to overlap work that mostly waits or releases the GIL with the caller's own: ``add`` opens the ledger
while it hashes, and a tracked run captures its code and environment (``git status``, on a process's first
run) while the job starts. (The walk of a folder is mostly a Python loop, so the console script runs it in a
child process instead: ``blobs.walk.start_walk``.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    def __init__(self, fn: Callable[[], T], name: str = "mlineage-background") -> None:
        self._value: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller in result()
                self._error = exc

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
