"""Fixtures for the emulator's own tests (the flow helpers are in tests.support.emulator_flows).

The public fixtures (``emulator_client``, ``emulator_url``, …) come from the ``igtoken.testing.plugin``
pytest plugin, which the ``pytest11`` entry point loads: nothing to import here.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def client(emulator_client: httpx.Client) -> httpx.Client:
    """Short name for the in-process sync client."""
    return emulator_client
