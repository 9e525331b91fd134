"""The single-worker rule on SQLite, made explicit: an exclusive lock on a lock file.

The lock is :mod:`filelock`'s, so it works on every OS (``flock`` on Unix, ``msvcrt`` on Windows).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from igtoken._exceptions import ConflictError

__all__ = ["worker_lock"]


@contextmanager
def worker_lock(path: Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` for the duration; :class:`ConflictError` if taken.

    The operating system drops the lock when the process dies, so a crashed worker never leaves a
    stale lock behind. A second :func:`worker_lock` on the same path is refused even in the same
    process.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not thread-local: a worker may leave the lock from another thread than the one that took it.
    lock = FileLock(path, mode=0o600, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConflictError(
            f"another refresh worker holds {str(path)!r}",
            fix="SQLite runs one worker; use PostgreSQL to run several",
        ) from None
    try:
        yield path
    finally:
        lock.release()
