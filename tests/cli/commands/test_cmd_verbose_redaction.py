"""`igtoken -v doctor` / `-vv doctor` print no secret: the redaction filter is installed when logging is
set up, for every HTTP client logger igtoken uses. Run as a separate process, so no earlier import in
the test session has installed anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from igtoken.emulator import demo
from tests.support.cli import data_dirs

SECRETS = (demo.DEMO_FB_APP_SECRET, demo.DEMO_IG_APP_SECRET)


def igtoken(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")} | data_dirs(tmp_path)
    code = "import sys; from igtoken.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


@pytest.mark.parametrize("verbosity", ["-v", "-vv"])
def test_verbose_doctor_prints_no_app_secret(tmp_path, verbosity):
    login = igtoken(tmp_path, "--sandbox", "login", "--app", "demo-facebook", "--no-browser", "--json")
    assert login.returncode == 0, login.stderr
    doctor = igtoken(tmp_path, "--sandbox", verbosity, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "HTTP Request" in doctor.stderr  # the HTTP client did log its requests
    assert "client_secret=[redacted]" in doctor.stderr
    for secret in SECRETS:
        assert secret not in doctor.stdout and secret not in doctor.stderr
