"""Shared values for the Facebook Login tests: a Meta app, a fixed clock, Meta-shaped answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from igtoken import AppCredentials, ClientConfig, Secret

IG_APP_ID = "990602627938098"
IG_APP_SECRET = "ig-app-s3cr3t-f00dbabe"
IG_REDIRECT_URI = "https://app.example.com/ig/callback/"
META_APP_ID = "770600000000042"
META_APP_SECRET = "meta-app-s3cr3t-c0ffee99"
REDIRECT_URI = "https://app.example.com/fb/callback"
FB_CODE = "AQDfbCODEvalue_0123456789abcdef"
SHORT_USER_TOKEN = "EAAshortUSERtoken0123456789abcdef"
LONG_USER_TOKEN = "EAAlongUSERtoken0123456789abcdefgh"
PAGE_TOKEN_LINKED = "EAApageTOKENlinked0123456789abcdef"
PAGE_TOKEN_UNLINKED = "EAApageTOKENunlinked0123456789abcd"
USER_ID = "10218560180051171"
PAGE_LINKED = "134895793791914"
PAGE_UNLINKED = "134895793791915"
IG_ID = "17841405822304914"
IG_USERNAME = "acme.shop"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: Everything secret the tests use; none may appear in a message or log line.
ALL_SECRETS = (
    IG_APP_SECRET,
    META_APP_SECRET,
    FB_CODE,
    SHORT_USER_TOKEN,
    LONG_USER_TOKEN,
    PAGE_TOKEN_LINKED,
    PAGE_TOKEN_UNLINKED,
)


def make_config(*, facebook: bool = True, **kwargs: Any) -> ClientConfig:
    """A config with an Instagram app and, unless ``facebook=False``, a separate Meta app."""
    if not facebook:
        return ClientConfig(AppCredentials(META_APP_ID, Secret(META_APP_SECRET), REDIRECT_URI), **kwargs)
    return ClientConfig(
        AppCredentials(IG_APP_ID, Secret(IG_APP_SECRET), IG_REDIRECT_URI),
        facebook_app=AppCredentials(META_APP_ID, Secret(META_APP_SECRET), REDIRECT_URI),
        **kwargs,
    )


def proof(token: str, secret: str = META_APP_SECRET) -> str:
    """The appsecret_proof Meta expects for ``token``, computed independently of igtoken."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def assert_authenticated(request: httpx.Request, token: str) -> None:
    """The token is in the header only, and the query carries its correct appsecret_proof."""
    assert request.headers["authorization"] == f"Bearer {token}"
    assert "access_token" not in request.url.params
    assert request.url.params["appsecret_proof"] == proof(token)


def meta(status: int = 200, body: Any = None, *, headers: dict[str, str] | None = None) -> httpx.Response:
    """A response as Meta sends it: JSON body, JSON content type."""
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(
        status,
        content=content,
        headers={"content-type": "application/json; charset=UTF-8", **(headers or {})},
    )


def graph_error(
    code: int, message: str, *, subcode: int | None = None, status: int = 400, headers=None
) -> httpx.Response:
    """A Graph-style error: {"error": {message, type, code, error_subcode, fbtrace_id}}."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return meta(status, {"error": error}, headers=headers)


def token_body(token: str, expires_in: int | None = 5183944) -> dict[str, Any]:
    """A graph.facebook.com/oauth/access_token success body."""
    body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def debug_body(**overrides: Any) -> dict[str, Any]:
    """debug_token for the long-lived user token, as the fact sheet shows it."""
    data: dict[str, Any] = {
        "app_id": META_APP_ID,
        "type": "USER",
        "application": "Social Cafe",
        "data_access_expires_at": 1780000000,
        "expires_at": 1777777777,
        "is_valid": True,
        "issued_at": 1772366400,
        "scopes": ["instagram_basic", "pages_show_list", "business_management"],
        "granular_scopes": [
            {"scope": "pages_show_list", "target_ids": [PAGE_LINKED, PAGE_UNLINKED]},
            {"scope": "instagram_basic", "target_ids": [IG_ID]},
            {"scope": "business_management"},
        ],
        "user_id": USER_ID,
    }
    data.update(overrides)
    return {"data": data}


def accounts_body(*, next_url: str | None = None, linked: bool = True, unlinked: bool = True) -> dict:
    """/me/accounts with the fact sheet's page shape."""
    data: list[dict[str, Any]] = []
    if linked:
        data.append(
            {
                "access_token": PAGE_TOKEN_LINKED,
                "category": "App Page",
                "category_list": [{"id": "2301", "name": "App Page"}],
                "name": "Acme Shop",
                "id": PAGE_LINKED,
                "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                "instagram_business_account": {"id": IG_ID},
            }
        )
    if unlinked:
        data.append(
            {
                "access_token": PAGE_TOKEN_UNLINKED,
                "category": "Agency",
                "name": "Acme Agency",
                "id": int(PAGE_UNLINKED),
                "tasks": ["MANAGE"],
            }
        )
    body: dict[str, Any] = {"data": data}
    if next_url:
        body["paging"] = {"cursors": {"before": "QVFI", "after": "QVFJ"}, "next": next_url}
    return body


def page_body(*, linked: bool = True) -> dict[str, Any]:
    """/{page-id}?fields=id,name,access_token,instagram_business_account{id,username}."""
    if not linked:
        return {"id": PAGE_UNLINKED, "name": "Acme Agency", "access_token": PAGE_TOKEN_UNLINKED}
    return {
        "id": PAGE_LINKED,
        "name": "Acme Shop",
        "access_token": PAGE_TOKEN_LINKED,
        "instagram_business_account": {"id": IG_ID, "username": IG_USERNAME},
    }
