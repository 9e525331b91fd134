"""The SQLite single-worker file lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from igtoken._exceptions import ConflictError
from igtoken.vault import worker_lock


def test_second_worker_is_refused_until_first_leaves(tmp_path: Path) -> None:
    """While one worker holds the lock a second gets ConflictError; afterwards it may take it."""
    path = tmp_path / "worker.lock"
    with worker_lock(path), pytest.raises(ConflictError, match="another refresh worker"), worker_lock(path):
        pytest.fail("a second worker got the lock")
    with worker_lock(path) as held:
        assert held == path
