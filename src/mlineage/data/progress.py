"""A progress meter for long data operations: files, bytes and rate as a Rich bar on an interactive
terminal, nothing at all when stderr is piped (Rich is imported only when a bar is drawn)."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any


class Meter:
    """Thread-safe: hashing and transfer threads call ``advance``."""

    def __init__(self, description: str, total_bytes: int | None = None, total_files: int | None = None,
                 enabled: bool | None = None) -> None:
        self.description = description
        self.total_bytes = total_bytes
        self.total_files = total_files
        self.files = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Meter:  # noqa: PYI034
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]} files"),
                DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description, total=self.total_bytes, files=self._files_text()
            )
        return self

    def _files_text(self) -> str:
        return f"{self.files}/{self.total_files}" if self.total_files is not None else str(self.files)

    def set_total(self, total_bytes: int, total_files: int | None = None) -> None:
        self.total_bytes = total_bytes
        self.total_files = total_files
        if self._progress is not None:
            self._progress.update(self._task, total=total_bytes, files=self._files_text())

    def add_total(self, nbytes: int, files: int) -> None:
        """Grow the totals as more work is discovered (one path after another)."""
        self.set_total((self.total_bytes or 0) + nbytes, (self.total_files or 0) + files)

    def advance(self, nbytes: int = 0, files: int = 0) -> None:
        if self._progress is None:
            return
        with self._lock:
            self.files += files
            self._progress.update(self._task, advance=nbytes, files=self._files_text())

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
