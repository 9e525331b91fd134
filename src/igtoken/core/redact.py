"""Scrub tokens, secrets and codes out of URLs and text before they are logged or raised.

Redaction is done twice over: by *name* (the query parameters and JSON keys
Meta uses for credentials) and by *value* (the secrets the caller knows it
sent, and anything shaped like a Meta access token). Either alone would miss
something: a message such as "Malformed access token EAAB…" names no key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from igtoken.core.secret import Secret

#: What a redacted value is replaced with.
REDACTED: Final = "[redacted]"

#: Query parameters and JSON keys whose values are never shown.
SENSITIVE_KEYS: Final = frozenset(
    {
        "access_token",
        "appsecret_proof",
        "client_secret",
        "code",
        "fb_exchange_token",
        "input_token",
        "long_lived_token",
        "password",
        "refresh_token",
        "signed_request",
        "token",
    }
)

_KEYS = "|".join(sorted(SENSITIVE_KEYS, key=len, reverse=True))
# key=value in query strings and form bodies.
_QUERY_PAIR = re.compile(rf"(?i)(?<![A-Za-z0-9_])({_KEYS})=([^&\s\"'#<>]+)")
# "key": "value" in JSON.
_JSON_PAIR = re.compile(rf"(?i)(\"(?:{_KEYS})\"\s*:\s*)\"((?:[^\"\\]|\\.)*)\"")
_BEARER = re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+")
# Meta token shapes: Instagram Login (IGAA…), Basic Display (IGQV…), Facebook (EAA…).
_TOKEN_SHAPES = re.compile(r"\b(?:IGAA|IGQV|EAA)[A-Za-z0-9_\-.]{16,}")
_MIN_SECRET_LEN: Final = 4


def redact_text(text: str, secrets: Iterable[Secret | str | None] = ()) -> str:
    """Return ``text`` with credential parameters, bearer tokens, token-shaped strings
    and the given ``secrets`` replaced by ``[redacted]``.
    """
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        # Very short values would shred ordinary words; real credentials are long.
        if value and len(value) >= _MIN_SECRET_LEN:
            text = text.replace(value, REDACTED)
    text = _QUERY_PAIR.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _JSON_PAIR.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def redact_url(url: object, secrets: Iterable[Secret | str | None] = ()) -> str:
    """Return ``url`` as a string with every credential in its query, fragment and userinfo masked.

    Accepts ``str`` or ``httpx.URL``; never raises: a URL that does not parse
    is redacted as plain text.
    """
    text = str(url)
    try:
        parts = urlsplit(text)
        query = urlencode(
            [
                (k, REDACTED if k.lower() in SENSITIVE_KEYS else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="[]:/,",
        )
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        text = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        pass
    return redact_text(text, secrets)


def secrets_in(request: httpx.Request) -> tuple[str, ...]:
    """Every credential ``request`` carries: sensitive query and form values and the bearer token.

    The drivers scrub these from any message about the request, so a value
    that Meta echoes back in an error never reaches a log or an exception.
    """
    found = [v for k, v in request.url.params.multi_items() if k.lower() in SENSITIVE_KEYS]
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if credential and scheme.lower() == "bearer":
        found.append(credential)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        try:
            body = request.content.decode("utf-8", "replace")
        except httpx.RequestNotRead:
            body = ""
        found += [v for k, v in parse_qsl(body, keep_blank_values=True) if k.lower() in SENSITIVE_KEYS]
    return tuple(v for v in found if v)
