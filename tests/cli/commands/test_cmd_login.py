"""``igtoken login`` end to end over real loopback sockets against the emulator (src/igtoken/cli/login.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from igtoken.testing import RunningEmulator
from tests.support.cli import ScriptedBrowser, invoke


def test_login_with_browser_over_loopback(registered: str, emulator: RunningEmulator) -> None:
    """A scripted browser approves on the consent page; the loopback receiver gets the code; token stored."""
    browser = ScriptedBrowser()
    result = invoke(["login", "--app", "shop"], opener=browser, interactive=True, json_output=True)
    assert result.exit_code == 0, result.output
    assert browser.final_url is not None and browser.final_url.startswith(registered + "?code=")
    body = json.loads(result.stdout)
    assert body["account"]["username"] == "demo_business"
    assert body["account"]["app"] == "shop"
    assert "…" in body["token"]  # masked without --show-token
    token = invoke(["token", "demo_business"]).stdout.strip()
    me = httpx.get(
        f"{emulator.url}/graph.instagram.com/me", params={"fields": "username", "access_token": token}
    )
    assert me.json()["username"] == "demo_business"


def test_login_denied_exits_3(registered: str) -> None:
    """Cancel on the consent page ends the login with exit code 3 and says what happened."""
    result = invoke(["login"], opener=ScriptedBrowser(decision="deny"), interactive=True, json_output=True)
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "AuthorizationDenied"
    assert invoke(["accounts", "list", "--json"]).stdout.count('"username"') == 0


def test_login_times_out_exits_3(registered: str) -> None:
    """Nobody finishes in the browser: CallbackTimeout, exit 3, with a fix."""
    result = invoke(["login", "--timeout", "0.3"], opener=lambda url: True, interactive=True)
    assert result.exit_code == 3
    assert "no login redirect arrived" in result.stderr
    assert "fix:" in result.stderr


def test_login_paste_mode_strips_hash(registered: str, private_dirs: dict[str, str], tmp_path: Path) -> None:
    """--paste takes the final URL (with Meta's #_) from the person on stdin; no receiver listens."""
    env = {**os.environ, **private_dirs}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "igtoken"), "login", "--paste", "--no-browser"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdin is not None
    url = ""
    while not url:
        line = proc.stderr.readline()
        assert line, "the command ended before printing the authorize URL"
        if line.strip().startswith("http"):
            url = line.strip()
    browser = ScriptedBrowser(follow=False)  # the redirect goes nowhere: the person copies the URL
    browser(url)
    assert browser.final_url is not None and browser.final_url.endswith("#_")
    out, err = proc.communicate(browser.final_url + "\n", timeout=60)
    assert proc.returncode == 0, err
    assert "Logged in as @demo_business" in out


def test_login_paste_rejects_other_url(registered: str) -> None:
    """A pasted URL that is not the redirect URI is refused with what to paste instead (exit 3)."""
    result = invoke(
        ["login", "--paste", "--no-browser"],
        interactive=False,
        input="https://example.com/elsewhere?code=abc#_\n",
    )
    assert result.exit_code == 3
    assert "not to the redirect URI" in result.stderr


def test_sandbox_login_then_token_in_new_process(private_dirs: dict[str, str], tmp_path: Path) -> None:
    """The README path: `igtoken login --sandbox`, then `igtoken --sandbox token` in a new process;
    the emulator's /me (sandbox world from its state file) accepts the token."""
    result = invoke(["login", "--sandbox", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "Logged in as @demo_business" in result.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    env.update(private_dirs)
    env["IGTOKEN_SANDBOX"] = "1"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "igtoken"), "token"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    # As the README says: serve the sandbox world and ask its /me with curl (here httpx).
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "igtoken"), "emulator", "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        url = banner.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), banner
        for _ in range(100):
            try:
                me = httpx.get(
                    f"{url}/graph.instagram.com/me",
                    params={"fields": "username"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "demo_business"
    finally:
        server.terminate()
        server.communicate(timeout=10)


def test_sandbox_login_with_browser_opens_consent(private_dirs: dict[str, str]) -> None:
    """With a browser, sandbox login opens the emulator's consent page; --account is ignored then."""
    browser = ScriptedBrowser(account="demo_creator")
    result = invoke(["login"], opener=browser, interactive=True, sandbox=True)
    assert result.exit_code == 0, result.output
    assert "demo_creator" in (browser.consent_html or "")
    assert "Logged in as @demo_creator (MEDIA_CREATOR)" in result.stdout


def test_sandbox_personal_account_is_refused(private_dirs: dict[str, str]) -> None:
    """The demo personal account cannot complete Instagram Login: exit 3 with the switch-account fix."""
    result = invoke(["login", "--sandbox", "--account", "demo_personal", "--timeout", "5"])
    assert result.exit_code == 3
    assert "fix:" in result.stderr
