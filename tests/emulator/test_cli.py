"""The ``igtoken emulator`` command: it starts, prints the demo world, serves, and keeps --state."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from igtoken.cli import main


def test_help_lists_switches():
    """--help names every option and the switches with their values."""
    result = CliRunner().invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0
    for text in ("--host", "--port", "--state", "--switch", "refresh_under_24h=noop|error"):
        assert text in result.output


def test_bad_switch_is_a_usage_error():
    """An unknown switch stops the command with a clear message."""
    result = CliRunner().invoke(main, ["emulator", "--switch", "nope=1"])
    assert result.exit_code == 2 and "unknown switch 'nope'" in result.output


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "igtoken"), "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            break
    assert lines and " on " in lines[0], lines
    base = lines[0].split(" on ")[1].strip()
    for _ in range(100):
        try:
            httpx.get(f"{base}/_emulator/clock", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    return proc, base, lines


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()


def test_serves_and_keeps_state(tmp_path: Path):
    """The command prints the demo credentials, serves, and a --state file survives a restart."""
    state = tmp_path / "world.json"
    proc, base, lines = _start(["--state", str(state)])
    try:
        banner = "".join(lines)
        assert "990600000000001 / demo-instagram-app-secret" in banner and "demo_business" in banner
        httpx.post(
            f"{base}/_emulator/apps", json={"name": "kept", "redirect_uris": ["http://127.0.0.1:1/cb"]}
        )
    finally:
        _stop(proc)
    assert "kept" in state.read_text()
    proc, base, lines = _start(["--state", str(state)])
    try:
        world = httpx.get(f"{base}/_emulator/world", timeout=5).json()
        assert "kept" in {a["name"] for a in world["apps"]}
    finally:
        _stop(proc)
