"""Redaction of URLs and text: credential parameters, bearer tokens, token shapes and known secrets."""

from __future__ import annotations

import httpx
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from igtoken import Secret, redact_text, redact_url
from igtoken._redact import secrets_in


def test_url_query_credentials_are_masked() -> None:
    """access_token, client_secret, code, appsecret_proof… are masked; other parameters stay readable."""
    url = (
        "https://graph.instagram.com/access_token?grant_type=ig_exchange_token&client_secret=abc123"
        "&access_token=tok456&code=c789&appsecret_proof=p000&fields=id,username"
    )
    out = redact_url(url)
    for value in ("abc123", "tok456", "c789", "p000"):
        assert value not in out
    assert "grant_type=ig_exchange_token" in out and "fields=id,username" in out
    assert "user:pw" not in redact_url("https://user:pw@example.com/x")
    assert "tok456" not in redact_url(httpx.URL("https://x.example/?ACCESS_TOKEN=tok456"))


def test_text_patterns_are_masked() -> None:
    """Query pairs, JSON pairs, bearer headers, Meta token shapes and given secrets are masked in text."""
    text = (
        'GET /x?access_token=aaa1111 {"client_secret": "bbb2222"} Authorization: Bearer ccc3333 '
        "Malformed access token IGAAdddd4444dddd4444dddd EAABeeee5555eeee5555eeee plain-fff6666"
    )
    out = redact_text(text, [Secret("plain-fff6666"), None, "ab"])
    for value in ("aaa1111", "bbb2222", "ccc3333", "dddd4444", "eeee5555", "fff6666"):
        assert value not in out
    assert "Malformed access token" in out


def test_secrets_in_reads_query_form_and_bearer() -> None:
    """secrets_in finds every credential a request carries, wherever it travels."""
    get = httpx.Request(
        "GET", "https://x.example/?access_token=t1&fields=id", headers={"Authorization": "Bearer t2"}
    )
    assert secrets_in(get) == ("t1", "t2")
    post = httpx.Request(
        "POST", "https://x.example/", data={"client_secret": "s1", "code": "c1", "client_id": "9"}
    )
    assert secrets_in(post) == ("s1", "c1")


@settings(deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=8, max_size=40))
def test_any_token_value_is_masked_in_urls(token: str) -> None:
    """Whatever the token value, a URL carrying it as access_token never shows it."""
    base = "https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token="
    # A value that the redacted URL holds anyway (e.g. "[redacte", part of the placeholder) proves nothing.
    assume(token not in base + "[redacted]")
    url = base + token
    assert f"access_token={token}" not in redact_url(url)
    assert token not in redact_url(url, [token])


@settings(deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_raises(text: str) -> None:
    """Arbitrary text and URLs are redacted without error."""
    redact_text(text)
    redact_url(text)
