"""Fixtures for the Facebook Login tests."""

from __future__ import annotations

import pytest
from fb_fakes import make_config

from igtoken import ClientConfig


@pytest.fixture
def config() -> ClientConfig:
    """A config with an Instagram app and a separate Meta app for Facebook Login, on Meta's real hosts."""
    return make_config()
