"""``igtoken worker`` leaves the heap to the operating system at exit (no last full garbage collection)."""

from __future__ import annotations

import importlib

import pytest

worker_cli = importlib.import_module("igtoken.cli.worker")


def test_the_worker_registers_one_exit_handler_that_freezes_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[object] = []
    frozen: list[bool] = []
    monkeypatch.setattr(worker_cli.atexit, "register", registered.append)
    monkeypatch.setattr(worker_cli, "_quick_exit_registered", False)
    worker_cli._register_quick_exit()
    worker_cli._register_quick_exit()  # a second worker command in one process adds none
    assert registered == [worker_cli._quick_exit]
    monkeypatch.setattr(worker_cli.gc, "freeze", lambda: frozen.append(True))
    worker_cli._quick_exit()
    assert frozen == [True]
