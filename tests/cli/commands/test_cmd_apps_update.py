"""`igtoken apps update` (scopes, redirect URIs, secret) and the https rule for redirect URIs."""

from __future__ import annotations

import json

import pytest
from click.testing import Result

from igtoken.emulator import demo
from tests.support.cli import invoke


def add(name: str, *uris: str, env: dict[str, str] | None = None) -> Result:
    args = ["apps", "add", name, "--app-id", "123", "--secret-env", "S"]
    for uri in uris:
        args += ["--redirect-uri", uri]
    return invoke(args)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S", "first-secret")
    monkeypatch.delenv("IGTOKEN_DEV", raising=False)


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://shop.example.com/ig/callback", True),
        ("http://127.0.0.1:8765/callback", True),
        ("http://localhost:8765/callback", True),
        ("http://[::1]:8765/callback", True),
        ("http://shop.example.com/ig/callback", False),
        ("https://shop.example.com/cb#frag", False),
        ("shop.example.com/cb", False),
    ],
)
def test_apps_add_refuses_plain_http_except_loopback(uri: str, ok: bool) -> None:
    result = add("x", uri)
    if ok:
        assert result.exit_code == 0, result.stderr
    else:
        assert result.exit_code == 6
        assert result.stderr.startswith("error: redirect URI") and "\nfix: " in result.stderr


def test_dev_mode_allows_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGTOKEN_DEV", "1")
    assert add("x", "http://shop.internal/cb").exit_code == 0


def test_update_scopes_uris_and_secret() -> None:
    """Scopes and URIs are replaced, added or dropped; the secret is replaced; the rest stays."""
    assert add("shop", "https://a.example/cb").exit_code == 0
    assert invoke(["apps", "update", "shop", "--scope", "instagram_business_basic"]).exit_code == 0
    both = invoke(["apps", "update", "shop", "--scope", "a", "--add-scope", "b"])
    assert both.exit_code == 2 and "not both" in both.stderr
    result = invoke(["apps", "update", "shop", "--add-scope", "instagram_business_manage_messages", "--json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["default_scopes"] == ["instagram_business_basic", "instagram_business_manage_messages"]
    assert body["redirect_uris"] == ["https://a.example/cb"]
    dropped = invoke(["apps", "update", "shop", "--remove-scope", "instagram_business_manage_messages"])
    assert dropped.exit_code == 0 and "default scopes: instagram_business_basic" in dropped.stdout
    assert "Next: igtoken doctor --app shop" in dropped.stdout

    uris = invoke(
        ["apps", "update", "shop", "--add-redirect-uri", "https://b.example/cb",
         "--remove-redirect-uri", "https://a.example/cb", "--json"]
    )  # fmt: skip
    assert json.loads(uris.stdout)["redirect_uris"] == ["https://b.example/cb"]
    http = invoke(["apps", "update", "shop", "--redirect-uri", "http://b.example/cb"])
    assert http.exit_code == 6 and "plain http" in http.stderr
    last = invoke(["apps", "update", "shop", "--remove-redirect-uri", "https://b.example/cb"])
    assert last.exit_code == 6 and "no redirect URI left" in last.stderr
    bad_scope = invoke(["apps", "update", "shop", "--scope", "user_profile"])
    assert bad_scope.exit_code == 6 and "Basic Display" in bad_scope.stderr
    assert invoke(["apps", "update", "shop"]).exit_code == 2  # nothing to change

    secret = invoke(["apps", "update", "shop", "--prompt-secret"], input="second-secret\n")
    assert secret.exit_code == 0 and "secret replaced" in secret.stdout
    from igtoken.cli._context import AppContext

    context = AppContext()
    try:
        assert context.vault.get_app("shop").app_secret.reveal() == "second-secret"
    finally:
        context.close()
    listed = json.loads(invoke(["apps", "list", "--json"]).stdout)
    assert "second-secret" not in json.dumps(listed)


def test_update_facebook_app_checks_facebook_scope_names() -> None:
    """A Facebook Login app takes Facebook permission names; both of its secrets are replaced."""
    assert invoke(["--sandbox", "apps", "list"]).exit_code == 0  # registers the demo apps
    ok = invoke(["--sandbox", "apps", "update", "demo-facebook", "--remove-scope", "business_management"])
    assert ok.exit_code == 0, ok.stderr
    wrong = invoke(["--sandbox", "apps", "update", "demo-facebook", "--scope", "instagram_business_basic"])
    assert wrong.exit_code == 6
    assert demo.DEMO_FB_APP_SECRET not in invoke(["--sandbox", "apps", "list", "--json"]).stdout
