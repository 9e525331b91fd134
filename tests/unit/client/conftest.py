"""Fixtures for the client tests."""

from __future__ import annotations

import pytest
from ig_meta_fakes import make_config

from igtoken import ClientConfig


@pytest.fixture
def config() -> ClientConfig:
    """A config for one Instagram app on Meta's real hosts."""
    return make_config()
