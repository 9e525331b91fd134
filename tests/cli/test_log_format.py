"""``IGTOKEN_LOG_FORMAT=text|json`` is honoured by the worker and by ``-v``, from the environment or .env."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

IGTOKEN = [sys.executable, "-c", "from igtoken.cli import main; main()"]


def _run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    environ.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"), **env)
    return subprocess.run(
        [*IGTOKEN, *args], env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def _worker_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "igtoken.worker" in line]


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_json_format_makes_every_log_line_json(tmp_path, verbose):
    """Each stderr line is one JSON object, without colour codes, with or without -v."""
    done = _run(tmp_path, *verbose, "--sandbox", "worker", "--until-idle", IGTOKEN_LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines
    parsed = [json.loads(line) for line in lines]
    assert any(p["logger"] == "igtoken.worker" and "started" in p["msg"] for p in parsed)
    assert "\x1b" not in done.stderr


def test_text_is_the_default(tmp_path):
    """Without the setting, the worker logs plain text lines."""
    done = _run(tmp_path, "--sandbox", "worker", "--until-idle")
    assert done.returncode == 0, done.stderr
    [started, *_] = _worker_lines(done.stderr)
    assert " INFO igtoken.worker worker " in started and not started.startswith("{")


def test_a_dotenv_format_applies_to_v_logging(tmp_path):
    """``-v`` sets logging up before the settings are read; the .env file's format still applies."""
    (tmp_path / ".env").write_text("IGTOKEN_LOG_FORMAT=json\n")
    done = _run(tmp_path, "-v", "--sandbox", "worker", "--until-idle")
    assert done.returncode == 0, done.stderr
    lines = _worker_lines(done.stderr)
    assert lines and all(json.loads(line)["logger"] == "igtoken.worker" for line in lines)
