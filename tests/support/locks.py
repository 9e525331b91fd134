"""Holding a SQLite vault's locks from elsewhere, to test what waits and what does not."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from igtoken.vault import Vault


@contextmanager
def write_gate_held(vault: Vault) -> Iterator[threading.Event]:
    """Another thread of this process holds ``vault``'s write gate (SQLite's one writer) for the
    block, or until the yielded event is set."""
    gate = vault._db._write_gate
    assert gate is not None
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with gate:
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        holding.wait(10)
        yield release
    finally:
        release.set()
        thread.join()
