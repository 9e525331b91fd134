"""Shared values for the client tests: one app, a fixed clock, and Meta-shaped responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from igtoken import AppCredentials, ClientConfig, Secret

APP_ID = "990602627938098"
APP_SECRET = "s3cr3t-app-secret-f00dbabe"
REDIRECT_URI = "https://app.example.com/ig/callback/"
SHORT_TOKEN = "IGAAshortTOKENvalue0123456789abcdef"
LONG_TOKEN = "IGAAlongTOKENvalue0123456789abcdefgh"
REFRESHED_TOKEN = "IGAArefreshedTOKEN0123456789abcdefgh"
CODE = "AQBx-hBsH3codeVALUE_0123456789"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
IG_USER_ID = "17841400000000001"
APP_SCOPED_ID = "27640875392278831"


def make_config(**kwargs: Any) -> ClientConfig:
    """A config for one Instagram app on Meta's real hosts."""
    return ClientConfig(AppCredentials(APP_ID, Secret(APP_SECRET), REDIRECT_URI), **kwargs)


def meta(status: int = 200, body: Any = None, *, headers: dict[str, str] | None = None, request=None):
    """A response as Meta sends it: JSON body, JSON content type."""
    content = b"" if body is None else json.dumps(body).encode()
    all_headers = {"content-type": "application/json; charset=UTF-8", **(headers or {})}
    kwargs = {"request": request} if request is not None else {}
    return httpx.Response(status, content=content, headers=all_headers, **kwargs)


def graph_error(code: int, message: str, *, subcode: int | None = None, status: int = 400, **extra: Any):
    """A Graph-style error body: {"error": {message, type, code, error_subcode, fbtrace_id}}."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf12345",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return status, {"error": error}


def oauth_error(message: str):
    """An api.instagram.com-style error body: {error_type, code, error_message}, HTTP 400."""
    return 400, {"error_type": "OAuthException", "code": 400, "error_message": message}
