"""Fixtures for the worker tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.fleet import Rig


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[Rig]:
    """An in-process emulator and a SQLite vault on one frozen clock, with a worker wired to both."""
    r = Rig(tmp_path)
    yield r
    await r.close()
