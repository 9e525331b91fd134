"""Guards shared by every test: a clean environment and no retries that sleep."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No IGTOKEN_* variable of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("IGTOKEN_") and name != "IGTOKEN_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    yield


@pytest.fixture(autouse=True)
def _stamina_testing() -> Iterator[None]:
    """Retries run their attempts without sleeping."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)
