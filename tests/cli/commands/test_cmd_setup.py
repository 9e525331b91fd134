"""``igtoken setup``: the guide, the refusals Meta would make later (with their fixes), the live check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from igtoken.cli import main
from igtoken.cli._context import AppContext
from igtoken.emulator import demo
from igtoken.testing import RunningEmulator, run_emulator_on_loopback


def run(args: list[str], *, input: str | None = None, **context: Any) -> Result:
    obj = AppContext(**context) if context else None
    return CliRunner().invoke(main, args, obj=obj, input=input, catch_exceptions=False)


def run_json(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = run([*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def failed(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["field"]: f for f in body["findings"] if not f["ok"]}


def app_names(*, sandbox: bool) -> list[str]:
    result = run(["--sandbox" if sandbox else "--no-sandbox", "apps", "list", "--json"])
    return [a["name"] for a in json.loads(result.stdout)["apps"]]


def test_sandbox_registers_a_working_app() -> None:
    """Non-interactive sandbox setup checks the demo app live, saves it, and doctor then passes."""
    code, body = run_json(["setup", "--sandbox", "--yes", "--name", "shop"])
    assert code == 0, body
    assert body["ok"] is True and body["app"]["name"] == "shop"
    assert body["urls"] == {
        "redirect_uri": "http://127.0.0.1:8000/oauth/callback",
        "deauthorize_url": "http://127.0.0.1:8000/meta/deauthorize",
        "data_deletion_url": "http://127.0.0.1:8000/meta/data-deletion",
    }
    live = {f["field"] for f in body["findings"] if "Meta" in f["detail"] and f["ok"]}
    assert {"app_id", "app_secret", "redirect_uri"} <= live
    doctor = run(["--sandbox", "doctor", "--app", "shop", "--json"])
    assert doctor.exit_code == 0, doctor.stdout


def test_http_redirect_uri_refused_with_fix() -> None:
    """A plain-http public URL outside loopback: refused before any call, with the https fix."""
    code, body = run_json(["setup", "--sandbox", "--yes", "--public-url", "http://tokens.example.com"])
    assert code == 6 and body["app"] is None
    bad = failed(body)["redirect_uri"]
    assert "plain http" in bad["detail"]
    assert "https://tokens.example.com/oauth/callback" in bad["fix"]
    assert "main" not in app_names(sandbox=True)


def test_wrong_secret_refused_with_fix(tmp_path: Path) -> None:
    """The emulator rejects the secret: nothing is saved, and the fix says where the right one is."""
    secret = tmp_path / "secret"
    secret.write_text("not-the-secret")
    code, body = run_json(["setup", "--sandbox", "--yes", "--secret-file", str(secret)])
    assert code == 6
    bad = failed(body)["app_secret"]
    assert "rejects" in bad["detail"] and "Instagram app secret" in bad["fix"]
    assert "main" not in app_names(sandbox=True)
    text = run(["setup", "--sandbox", "--yes", "--secret-file", str(secret)])
    assert text.exit_code == 6
    assert "fix: copy the Instagram app secret" in text.stderr


@pytest.mark.parametrize(
    ("flow", "scope", "words"),
    [
        ("instagram_login", "user_profile", "Basic Display"),
        ("instagram_login", "instagram_basic", "Facebook Login"),
        ("facebook_login", "instagram_business_basic", "Instagram Login"),
    ],
)
def test_scopes_meta_would_refuse(flow: str, scope: str, words: str) -> None:
    """Basic Display scopes and the other product's names are refused with the replacement."""
    code, body = run_json(["setup", "--sandbox", "--yes", "--flow", flow, "--scope", scope])
    assert code == 6
    bad = failed(body)["scope"]
    assert bad["value"] == scope and words in bad["detail"] + bad["fix"]
    assert bad["fix"]


def test_facebook_login_sandbox() -> None:
    """Facebook Login for Business: the Meta app id and secret are checked with an app token."""
    code, body = run_json(["setup", "--sandbox", "--yes", "--flow", "facebook_login", "--name", "fb"])
    assert code == 0, body
    assert body["app"]["flow"] == "facebook_login"
    assert any(f["field"] == "app_secret" and "app token" in f["detail"] for f in body["findings"])


def test_interactive_walkthrough() -> None:
    """At a terminal: the steps with the values to paste, then prompts; Enter takes the sandbox defaults."""
    answers = "\n".join(["instagram_login", "shop", demo.DEMO_IG_APP_ID, demo.DEMO_IG_APP_SECRET]) + "\n"
    result = run(["setup"], input=answers, sandbox=True, interactive=True)
    assert result.exit_code == 0, result.output
    assert "paste into 'OAuth redirect URIs'" in result.stderr
    assert "http://127.0.0.1:8000/meta/data-deletion" in result.stderr
    assert "Registered app 'shop'" in result.stdout


def test_guide_only_derives_urls_from_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """--guide-only prints each step and the three URLs from IGTOKEN_PUBLIC_URL; nothing is asked or saved."""
    monkeypatch.setenv("IGTOKEN_PUBLIC_URL", "https://tokens.example.com/")
    code, body = run_json(["setup", "--guide-only", "--flow", "facebook_login"])
    assert code == 0
    assert body["urls"]["deauthorize_url"] == "https://tokens.example.com/meta/deauthorize"
    pasted = {p["field"]: p["value"] for s in body["steps"] for p in s["paste"]}
    assert pasted["Valid OAuth Redirect URIs"] == "https://tokens.example.com/oauth/callback"
    assert pasted["Data deletion callback URL"] == "https://tokens.example.com/meta/data-deletion"


def test_no_public_url_outside_sandbox_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGTOKEN_PUBLIC_URL", raising=False)
    result = run(["setup", "--yes", "--app-id", "1"])
    assert result.exit_code == 6
    assert "IGTOKEN_PUBLIC_URL" in result.stderr


@pytest.fixture
def meta(monkeypatch: pytest.MonkeyPatch) -> Any:
    with run_emulator_on_loopback() as emulator:
        monkeypatch.setenv("IGTOKEN_META_BASE_URL", emulator.url)
        monkeypatch.setenv("IG_SECRET", demo.DEMO_IG_APP_SECRET)
        yield emulator


def test_live_against_emulator_meta_app_id_and_unregistered_uri(meta: RunningEmulator) -> None:
    """Outside sandbox (the emulator as Meta): the Meta app id is "Invalid platform app"; an unregistered
    redirect URI is named with where to paste it; the right values are saved."""
    base = ["setup", "--yes", "--secret-env", "IG_SECRET", "--public-url", "https://tokens.example.com"]
    code, body = run_json([*base, "--app-id", demo.DEMO_IG_META_APP_ID])
    assert code == 6 and "Invalid platform app" in failed(body)["app_id"]["detail"]
    code, body = run_json([*base, "--app-id", demo.DEMO_IG_APP_ID])
    assert code == 6
    assert "Business login settings" in failed(body)["redirect_uri"]["fix"]
    meta.world.update_app(
        demo.DEMO_IG_APP_ID, add_redirect_uris=["https://tokens.example.com/oauth/callback"]
    )
    code, body = run_json([*base, "--app-id", demo.DEMO_IG_APP_ID, "--name", "shop"])
    assert code == 0, body
    assert app_names(sandbox=False) == ["shop"]


def test_doctor_prints_the_three_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """doctor lists, per app, the redirect, deauthorize and data-deletion URLs to register."""
    assert run(["setup", "--sandbox", "--yes", "--name", "shop"]).exit_code == 0
    monkeypatch.setenv("IGTOKEN_PUBLIC_URL", "https://tokens.example.com")
    result = run(["--sandbox", "doctor", "--app", "shop", "--json"])
    lines = [c["detail"] for c in json.loads(result.stdout)["checks"] if c["name"] == "register with Meta"]
    assert lines == [
        "OAuth redirect URI: https://tokens.example.com/oauth/callback",
        "Deauthorize callback URL: https://tokens.example.com/meta/deauthorize",
        "Data deletion request URL: https://tokens.example.com/meta/data-deletion",
    ]
    text = run(["--sandbox", "doctor", "--app", "shop"]).stdout
    assert "Data deletion request URL: https://tokens.example.com/meta/data-deletion" in text


def test_interactive_wrong_secret_is_asked_again() -> None:
    """At a terminal, a secret Meta refuses is shown with its fix and asked for again; the right one saves."""
    answers = (
        "\n".join(["instagram_login", "shop", demo.DEMO_IG_APP_ID, "wrong", demo.DEMO_IG_APP_SECRET]) + "\n"
    )
    result = run(["setup"], input=answers, sandbox=True, interactive=True)
    assert result.exit_code == 0, result.output
    assert (
        "Meta rejects the app secret" in result.stderr
        and "fix: copy the Instagram app secret" in result.stderr
    )
    assert "Registered app 'shop'" in result.stdout


def test_interactive_gives_up_after_three_tries() -> None:
    answers = "\n".join(["instagram_login", "shop", demo.DEMO_IG_APP_ID, "wrong1", "wrong2", "wrong3"]) + "\n"
    result = run(["setup"], input=answers, sandbox=True, interactive=True)
    assert result.exit_code == 6
    assert "shop" not in app_names(sandbox=True)
