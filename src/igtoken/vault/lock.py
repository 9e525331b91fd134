"""The single-worker rule on SQLite, made explicit: an exclusive ``flock`` on a lock file."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from igtoken._exceptions import ConflictError

__all__ = ["worker_lock"]


@contextmanager
def worker_lock(path: Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` for the duration; :class:`ConflictError` if taken.

    The kernel drops the lock when the process dies, so a crashed worker
    never leaves a stale lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(
                f"another refresh worker holds {str(path)!r}",
                fix="SQLite runs one worker; use PostgreSQL to run several",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
