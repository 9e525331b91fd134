"""Guards shared by every test: a clean environment and no retries that sleep."""

from __future__ import annotations

import logging
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


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands run in-process configure logging (``-v``, the worker quiets httpx); undo it after each test.

    Without this, a test that runs ``igtoken worker`` in-process leaves httpx's logger at WARNING,
    and a later test that checks what httpx logs sees nothing.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {
        name: (logger.level, logger.propagate, list(logger.handlers))
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, logger in logging.root.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        saved = loggers.get(name)
        if saved is None:
            logger.setLevel(logging.NOTSET)
            continue
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        for handler in logger.handlers:
            if handler not in saved[2]:
                logger.removeHandler(handler)
