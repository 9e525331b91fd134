"""`igtoken serve`'s start-up banner names the three URLs each app must register with Meta."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from igtoken.emulator.demo import DEMO_IG_APP_ID, DEMO_IG_APP_SECRET

IGTOKEN = str(Path(sys.executable).parent / "igtoken")


def _banner(args: list[str], env: dict[str, str], timeout: float = 30.0) -> str:
    proc = subprocess.Popen(
        [IGTOKEN, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen = ""
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
            if "Press Ctrl+C to stop" in seen:
                return seen
        raise AssertionError(f"no banner; output:\n{seen}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
        "IGTOKEN_LOG_LEVEL": "WARNING",
    }


def test_production_banner_prints_the_three_urls_per_app(env: dict[str, str]) -> None:
    env = {
        **env,
        "IGTOKEN_PUBLIC_URL": "https://tokens.example.com",
        "SHOP_SECRET": DEMO_IG_APP_SECRET,
        "IGTOKEN_ADMIN_PASSWORD": "banner-test-password",
    }
    added = subprocess.run(
        [IGTOKEN, "apps", "add", "shop", "--app-id", DEMO_IG_APP_ID, "--secret-env", "SHOP_SECRET",
         "--redirect-uri", "https://tokens.example.com/oauth/callback"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    banner = _banner(["serve", "--port", "0", "--no-worker"], env)
    assert "for app 'shop' (instagram_login)" in banner
    assert re.search(r"OAuth redirect URI:\s+https://tokens\.example\.com/oauth/callback", banner)
    assert re.search(r"Deauthorize callback URL:\s+https://tokens\.example\.com/meta/deauthorize", banner)
    assert re.search(r"Data deletion request URL:\s+https://tokens\.example\.com/meta/data-deletion", banner)
    # No verify token set: the banner says Meta's webhook check will be refused.
    assert "IGTOKEN_META_WEBHOOK_VERIFY_TOKEN is not set" in banner


def test_sandbox_banner_prints_them_on_the_local_url(env: dict[str, str]) -> None:
    banner = _banner(["serve", "--sandbox", "--port", "0", "--no-worker"], env)
    url = re.search(r"igtoken service \(sandbox\) on (\S+)", banner).group(1)  # type: ignore[union-attr]
    assert f"Deauthorize callback URL:   {url}/meta/deauthorize" in banner
    assert banner.count("Data deletion request URL") >= 2  # both demo apps
    assert f"Meta webhooks:  {url}/meta/webhooks  (verify token: igtoken-sandbox-verify-token)" in banner


def test_a_configured_verify_token_is_never_printed(env: dict[str, str]) -> None:
    """With IGTOKEN_META_WEBHOOK_VERIFY_TOKEN set, the sandbox banner names the variable, not the value."""
    env = {**env, "IGTOKEN_META_WEBHOOK_VERIFY_TOKEN": "verify-banner-0123456789"}
    banner = _banner(["serve", "--sandbox", "--port", "0", "--no-worker"], env)
    assert "verify token: the one in IGTOKEN_META_WEBHOOK_VERIFY_TOKEN" in banner
    assert "verify-banner-0123456789" not in banner
