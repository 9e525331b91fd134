"""Fixtures for the Facebook Login tests."""

from __future__ import annotations

import pytest

from igtoken import ClientConfig

from .fb_fakes import make_config


@pytest.fixture
def config() -> ClientConfig:
    """A config with an Instagram app and a separate Meta app for Facebook Login, on Meta's real hosts."""
    return make_config()
