"""SHA-256 of a file's bytes, streamed, with nothing but the standard library (``hashing.hash_file`` wraps it
in a ``Digest``).

Kept free of mlineage's own modules so that ``verify-attestation`` can start hashing its model on a thread
at the console script's first line without that thread importing anything the command's start-up imports
too (two threads importing contend for the import lock and the GIL).
"""

from __future__ import annotations

import hashlib
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable

BUFFER_SIZE = 1 << 20  # 1 MiB: large enough that hashlib (which releases the GIL) dominates the loop
READ_AHEAD = 16 << 20  # large files: ask the kernel to fetch this far ahead of the hashing
READ_AHEAD_MIN = 32 << 20


def sha256_file(path: str | os.PathLike[str],
                on_chunk: Callable[[bytes], object] | None = None) -> tuple[str, int]:
    """Hex SHA-256 and size of a file, read once. ``on_chunk`` sees every chunk (e.g. to copy while hashing).

    A large file not yet in the page cache would otherwise be read and hashed in turn; asking the kernel to
    read ahead (``POSIX_FADV_WILLNEED`` a window in front of the loop) makes the disk work while this thread
    hashes. Measured here on 1 GiB: 0.92-0.98 s from disk (1.3-1.7 s without the advice) and 0.77-0.87 s from
    the page cache, where a reader thread was slower (0.93-0.97 s: the chunks it filled had to travel to the
    hashing core's cache).
    """
    with open(path, "rb", buffering=0) as handle:
        fd = handle.fileno()
        ahead = os.fstat(fd).st_size >= READ_AHEAD_MIN and hasattr(os, "posix_fadvise")
        if ahead:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        advised = 0
        h = hashlib.sha256()
        size = 0
        buffer = bytearray(BUFFER_SIZE)
        view = memoryview(buffer)
        while True:
            if ahead and advised <= size + READ_AHEAD // 2:
                os.posix_fadvise(fd, advised, READ_AHEAD, os.POSIX_FADV_WILLNEED)
                advised += READ_AHEAD
            n = handle.readinto(buffer)
            if not n:
                break
            chunk = view[:n]
            h.update(chunk)
            if on_chunk is not None:
                on_chunk(bytes(chunk))
            size += n
    return h.hexdigest(), size
