"""Fixtures for the command tests: private user dirs, the CLI runner, a scripted browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from igtoken.emulator import demo
from igtoken.testing import RunningEmulator, run_emulator_on_loopback
from tests.support.cli import data_dirs, free_port, invoke, seed_account  # noqa: F401 - kept importable here


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every file igtoken writes (vault, keys, sandbox state) lands under tmp_path, never in real dirs."""
    dirs = data_dirs(tmp_path)
    for name, value in dirs.items():
        monkeypatch.setenv(name, value)
    return dirs


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """The emulator with the demo world on a loopback port (its clock runs from the real time)."""
    with run_emulator_on_loopback() as url:
        yield url


@pytest.fixture
def registered(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """IGTOKEN_META_BASE_URL points at the emulator and app 'shop' (the demo app) is registered
    with a loopback redirect URI on a free port; returns that redirect URI."""

    uri = f"http://127.0.0.1:{free_port()}/callback"
    emulator.world.update_app(demo.DEMO_IG_APP_ID, add_redirect_uris=[uri])
    monkeypatch.setenv("IGTOKEN_META_BASE_URL", emulator.url)
    monkeypatch.setenv("SHOP_SECRET", demo.DEMO_IG_APP_SECRET)
    result = invoke(
        [
            "apps",
            "add",
            "shop",
            "--app-id",
            demo.DEMO_IG_APP_ID,
            "--redirect-uri",
            uri,
            "--secret-env",
            "SHOP_SECRET",
        ]
    )
    assert result.exit_code == 0, result.output
    return uri
