"""Fixtures for the client tests."""

from __future__ import annotations

import pytest

from igtoken import ClientConfig

from .ig_meta_fakes import make_config


@pytest.fixture
def config() -> ClientConfig:
    """A config for one Instagram app on Meta's real hosts."""
    return make_config()
