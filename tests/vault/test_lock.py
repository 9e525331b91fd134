"""The SQLite single-worker file lock."""

from __future__ import annotations

import subprocess
import sys
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


def test_lock_of_a_killed_worker_is_free_again(tmp_path: Path) -> None:
    """Another process holding the lock refuses us; once it is killed (no clean exit) the lock is ours."""
    path = tmp_path / "worker.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from igtoken.vault import worker_lock\n"
            "with worker_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConflictError, match="another refresh worker"), worker_lock(path):
            pytest.fail("got the lock while another process held it")
    finally:
        holder.kill()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()
    with worker_lock(path) as held:
        assert held == path
