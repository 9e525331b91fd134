"""Fixtures for the CLI tests: a scratch working directory, so no developer ``.env`` leaks in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _scratch_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test runs in an empty directory: ``./.env`` is whatever the test writes there."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
