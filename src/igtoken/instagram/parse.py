"""Meta's response bodies turned into values, and its error bodies into igtoken's exceptions.

Two error formats exist. ``api.instagram.com`` (the code exchange) answers
``{"error_type", "code", "error_message"}`` where ``code`` just repeats the HTTP
status, so those errors are told apart by message. The Graph hosts answer
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`` and are
classified by code and subcode. The HTTP status is never the classifier: Meta
sends 400, 401 and 403 for the same error on different days. Only when a body
carries no code at all does the status decide (5xx → transient).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from igtoken.core.exceptions import (
    APIError,
    IGTokenError,
    InvalidGrantError,
    InvalidRequestError,
    NeedsReauthorizationError,
    PermissionDeniedError,
    ThrottledError,
    TransientError,
    UnexpectedResponseError,
)
from igtoken.core.lifecycle import LONG_LIVED_TTL, SHORT_LIVED_TTL
from igtoken.core.media import Media, MediaPage, parse_timestamp
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.redact import redact_text, redact_url
from igtoken.core.secret import Secret
from igtoken.core.usage import Usage, parse_usage
from igtoken.instagram.scopes import split_scopes

Secrets = Iterable[Secret | str | None]

_MAX_MESSAGE: Final = 500

# ---------------------------------------------------------------------------------------------
# What each known OAuth message means. Matched case-insensitively as a substring, first hit wins.
# ---------------------------------------------------------------------------------------------
_REDIRECT_ADVICE = (
    "send the same redirect_uri, byte for byte, as in the authorize URL (a trailing slash, 'www' and "
    "http/https all count); Meta gives this same answer for a wrong app secret, so also check you use "
    "the Instagram app secret from the Instagram product page, not the Facebook app secret"
)
_RESTART = "authorization codes are single use and live one hour: start the login again"


@dataclass(frozen=True, slots=True)
class _Known:
    pattern: str
    cls: type[APIError]
    fix: str


_KNOWN_MESSAGES: Final = (
    _Known(
        "matching code was not found or was already used",
        InvalidGrantError,
        f"{_RESTART}, and make sure the callback is handled only once",
    ),
    _Known(
        "authorization code has been used",
        InvalidGrantError,
        f"the callback was probably handled twice; {_RESTART}",
    ),
    _Known("authorization code has expired", InvalidGrantError, _RESTART),
    _Known(
        "invalid authorization code",
        InvalidGrantError,
        "pass the code exactly as Instagram sent it (without the trailing '#_'), within one hour",
    ),
    _Known("invalid verification code format", InvalidGrantError, "pass the code exactly as it was received"),
    _Known("error validating verification code", InvalidGrantError, _REDIRECT_ADVICE),
    _Known(
        "invalid platform app",
        InvalidRequestError,
        "use the Instagram app id from the app dashboard's Instagram > API setup with Instagram login "
        "page, not the Facebook app id; also check the body is form-encoded and every scope is an "
        "instagram_business_* name",
    ),
    _Known(
        "error validating client secret",
        InvalidRequestError,
        "use the Instagram app secret from the Instagram product page (not the Facebook app secret), "
        "and check it was not reset in the dashboard",
    ),
    _Known(
        "error validating application",
        InvalidRequestError,
        "the app id is unknown to Meta: use the Instagram app id from the Instagram product page",
    ),
    _Known(
        "missing client_id",
        InvalidRequestError,
        "send client_id and client_secret as form fields in the body, not as HTTP Basic auth",
    ),
    _Known(
        "missing required field",
        InvalidRequestError,
        "send client_id, client_secret, grant_type, redirect_uri and code form-encoded in the body",
    ),
    _Known(
        "insufficient developer role",
        InvalidRequestError,
        "the app is in development mode: add the account as an Instagram tester (App roles > Roles > "
        "Instagram Testers) and accept the invite in Instagram (Settings > Apps and websites > Tester "
        "invites), or switch the app to Live mode",
    ),
    _Known(
        "redirect uri does not match",
        InvalidRequestError,
        "register this exact redirect URI under Business login settings > OAuth redirect URIs",
    ),
    _Known(
        "invalid redirect_uri",
        InvalidRequestError,
        "register this exact redirect URI under Business login settings > OAuth redirect URIs "
        "(a trailing slash and 'www' count)",
    ),
    _Known(
        "invalid scope",
        InvalidRequestError,
        "use Instagram Login scope names (instagram_business_*); Basic Display, Facebook Login and "
        "retired business_* names are refused",
    ),
    _Known("only response type", InvalidRequestError, "response_type must be 'code'"),
    _Known("grant_type", InvalidRequestError, "check the grant_type this endpoint expects"),
)

_REAUTH_FIXES: Final[Mapping[int | None, str]] = {
    458: "the person removed the app from their account; they must log in again",
    459: "the account is checkpointed: the person must log in on Instagram to clear it, then log in again",
    460: "the password changed or Meta invalidated the session; the person must log in again",
    463: "the token expired; log in again (and refresh long-lived tokens before their 60 days run out)",
    464: "the account is unconfirmed: the person must confirm it, then log in again",
    467: "the token was revoked or the person logged out; log in again",
    492: "the person lost their role on the Page; restore it and log in again",
    493: "the person has not used the app for 90 days; log in again",
}
_WRONG_HOST_FIX: Final = (
    "this is not a token this host can read: Instagram Login tokens (IGAA…) work only on "
    "graph.instagram.com and Facebook tokens (EAA…) only on graph.facebook.com; or the token is truncated"
)
_PERMISSION_FIX: Final = (
    "the token lacks a permission this call needs: log in again asking for the scope, and check the app "
    "has access to it (Advanced Access needs App Review)"
)
_THROTTLE_CODES: Final = frozenset({4, 17, 32, 341, 613})
_THROTTLE_RANGE: Final = range(80000, 80015)
_PERMISSION_CODES: Final = frozenset({3, 10}) | frozenset(range(200, 300))


def _known(message: str) -> _Known | None:
    lowered = message.lower()
    return next((k for k in _KNOWN_MESSAGES if k.pattern in lowered), None)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        try:
            return int(value)
        except ValueError:  # isdigit() also admits superscripts like "²", which int() refuses
            return None
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def json_body(response: httpx.Response) -> object:
    """The response body as JSON, or ``None`` if it is empty or not JSON."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _where(response: httpx.Response, secrets: Secrets) -> str:
    try:
        request = response.request
    except RuntimeError:
        return ""
    return f" from {request.method} {redact_url(request.url, secrets)}"


def _clean(message: str, secrets: Secrets) -> str:
    message = " ".join(message.split())
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "…"
    return redact_text(message, secrets)


def _regain_seconds(error: Mapping[str, Any], usage: Usage | None) -> float | None:
    for holder in (error, error.get("error_data")):
        if isinstance(holder, Mapping):
            minutes = holder.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes >= 0:
                return float(minutes) * 60.0
    regain = usage.regain_after() if usage is not None else None
    return regain.total_seconds() if regain is not None else None


def _classify(code: int | None, subcode: int | None, message: str) -> tuple[type[APIError], str]:
    # OAuth messages first: graph.facebook.com says "Error validating client secret" with
    # code 1, which the code table would call transient, and retrying cannot fix a secret.
    known = _known(message)
    if known is not None:
        return known.cls, known.fix
    if subcode == 36009:
        return InvalidGrantError, f"the callback was probably handled twice; {_RESTART}"
    if code in (190, 102):
        if subcode is None and "cannot parse access token" in message.lower():
            return NeedsReauthorizationError, _WRONG_HOST_FIX
        return NeedsReauthorizationError, _REAUTH_FIXES.get(
            subcode, "the token is no longer valid; log in again"
        )
    if code in _PERMISSION_CODES:
        return PermissionDeniedError, _PERMISSION_FIX
    if code in _THROTTLE_CODES or (code is not None and code in _THROTTLE_RANGE):
        return ThrottledError, "Meta is rate-limiting this app or account; wait before calling again"
    if code in (1, 2):
        return TransientError, "a temporary problem at Meta; retry later"
    if code in (100, 101, 2500):
        return InvalidRequestError, ""
    if code == 368:
        return (
            APIError,
            "the account is temporarily blocked for policy violations; wait and review its activity",
        )
    return APIError, ""


def error_from_response(response: httpx.Response, *, secrets: Secrets = ()) -> IGTokenError | None:
    """The exception Meta's answer amounts to, or ``None`` if the response is not an error.

    An error is a status of 400 or more, or any body with an ``error`` member.
    The exception carries Meta's wire fields and the parsed :class:`Usage`;
    its message names the method and redacted URL, and never a token or secret.
    """
    secrets = list(secrets)
    body = json_body(response)
    status = response.status_code
    is_error_body = isinstance(body, dict) and (
        isinstance(body.get("error"), dict | str) or "error_message" in body
    )
    if status < 400 and not is_error_body:
        return None
    # Built only for errors: every successful call passes through here (the worker's hot path).
    usage = parse_usage(response.headers)
    where = _where(response, secrets)

    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error: dict[str, Any] = body["error"]
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        raw_message = _text(error.get("message")) or _text(error.get("error_user_msg")) or "(no message)"
        cls, fix = _classify(code, subcode, raw_message)
        if cls is APIError and code is None and status >= 500:
            cls = TransientError
        if cls is APIError and error.get("is_transient") is True:
            cls = TransientError
        error_type = _text(error.get("type"))
        fbtrace_id = _text(error.get("fbtrace_id"))
    elif isinstance(body, dict) and ("error_message" in body or "error_type" in body):
        # api.instagram.com: "code" repeats the HTTP status; the message is the only signal.
        raw_message = _text(body.get("error_message")) or "(no message)"
        code, subcode = _int(body.get("code")), None
        known = _known(raw_message)
        if known is not None:
            cls, fix = known.cls, known.fix
        elif code is not None and code >= 500:
            cls, fix = TransientError, "a temporary problem at Meta; retry later"
        else:
            cls, fix = InvalidRequestError, ""
        error_type, fbtrace_id = _text(body.get("error_type")), None
    elif isinstance(body, dict) and isinstance(body.get("error"), str):
        # A plain OAuth 2 error ({"error": "invalid_request", "error_description": …}).
        raw_message = _text(body.get("error_description")) or body["error"]
        code, subcode, error_type, fbtrace_id = None, None, body["error"], None
        known = _known(raw_message)
        cls, fix = (known.cls, known.fix) if known else (InvalidRequestError, "")
        if known is None and status >= 500:
            cls, fix = TransientError, "a temporary problem at Meta; retry later"
    else:
        # No code anywhere: the status is all there is.
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        shape = "an empty body" if not response.content else f"a non-JSON body ({kind})"
        snippet = ""
        if "page isn't available" in response.text.lower():
            snippet = ": Instagram's \"Sorry, this page isn't available.\" page"
        message = f"Meta answered HTTP {status} with {shape}{snippet}{where}"
        if status >= 500:
            return TransientError(message, status_code=status, usage=usage, fix="retry later")
        if status == 429:
            return ThrottledError(
                message, status_code=status, usage=usage, retry_after=_regain_seconds({}, usage)
            )
        return APIError(message, status_code=status, usage=usage, fix="check the endpoint URL and method")

    label = f"code {code}" + (f"/{subcode}" if subcode is not None else "") if code is not None else "no code"
    message = f"{_clean(raw_message, secrets)} [{label}, HTTP {status}]{where}"
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "error_subcode": subcode,
        "error_type": error_type,
        "fbtrace_id": fbtrace_id,
        "usage": usage,
        "fix": fix,
    }
    if cls is ThrottledError:
        error_dict = body.get("error") if isinstance(body, dict) else None
        regain = _regain_seconds(error_dict if isinstance(error_dict, dict) else {}, usage)
        return ThrottledError(message, retry_after=regain, **kwargs)
    return cls(message, **kwargs)


def raise_for_error(response: httpx.Response, *, secrets: Secrets = ()) -> None:
    """Raise the exception Meta's answer amounts to; return quietly for a success."""
    error = error_from_response(response, secrets=secrets)
    if error is not None:
        raise error


def json_object(response: httpx.Response, what: str, *, secrets: Secrets = ()) -> dict[str, Any]:
    """Check ``response`` for errors and return its body as a JSON object.

    ``what`` names the step for messages ("the code exchange"). Raises
    :class:`UnexpectedResponseError` for a success whose body is not a JSON object.
    """
    raise_for_error(response, secrets=secrets)
    body = json_body(response)
    if not isinstance(body, dict):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        found = "a non-JSON body" if body is None else f"JSON {type(body).__name__}"
        raise UnexpectedResponseError(
            f"{what} answered HTTP {response.status_code} with {found} ({kind}), "
            f"not a JSON object{_where(response, secrets)}"
        )
    return body


def _record(body: dict[str, Any], key: str) -> dict[str, Any]:
    """The object holding ``key``: the body itself, or the first of Meta's documented ``data`` list."""
    if key not in body:
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            first: dict[str, Any] = data[0]
            return first
        if isinstance(data, dict):
            return data
    return body


def _id(value: object, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit() and value.isascii():
        return value.strip()
    # A float has already lost digits of a 17-digit id; refuse it rather than store a wrong id.
    raise UnexpectedResponseError(f"{what} is not an integer or a string of digits: {type(value).__name__}")


def _token(record: Mapping[str, Any], what: str) -> Secret:
    value = record.get("access_token")
    if not isinstance(value, str) or not value.strip():
        raise UnexpectedResponseError(f"{what} answered without an access_token")
    return Secret(value.strip())


def _scopes(value: object, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return split_scopes(value)
    raise UnexpectedResponseError(
        f"{what}: permissions is neither a list of names nor a comma-separated string"
    )


@dataclass(frozen=True, slots=True)
class CodeExchangeResult:
    """The short-lived token a code exchange yields, and how the granted scopes compare to the asked ones.

    Meta returns the app-scoped id (``/me``'s ``id``) with the token; it is kept in
    ``app_scoped_id``. ``token.user_id`` is ``None`` here: in igtoken it is always the
    professional account id, which only ``/me`` tells (:func:`~igtoken.instagram.flows.login`
    reads it and sets it).
    """

    token: AccessToken
    granted_scopes: tuple[str, ...]
    #: Asked for but not granted (people can untick scopes). Empty when Meta did not list permissions.
    missing_scopes: tuple[str, ...]
    usage: Usage | None = None
    #: The app-scoped id Meta sent with the token (``/me``'s ``id``), not the professional account id.
    app_scoped_id: str | None = None


def parse_code_exchange(
    response: httpx.Response,
    *,
    now: datetime,
    requested_scopes: Sequence[str] = (),
    secrets: Secrets = (),
) -> CodeExchangeResult:
    """Read ``POST api.instagram.com/oauth/access_token``: flat or ``{"data": [...]}``, ids as str."""
    what = "the code exchange"
    body = _record(json_object(response, what, secrets=secrets), "access_token")
    value = _token(body, what)
    user_id = _id(body.get("user_id"), "the code exchange's user_id")
    granted = _scopes(body.get("permissions"), what)
    missing = () if granted is None else tuple(s for s in requested_scopes if s not in granted)
    token = AccessToken(
        value=value,
        kind=TokenKind.IG_SHORT,
        issued_at=now,
        expires_at=now + SHORT_LIVED_TTL,
        user_id=None,
        scopes=granted or (),
    )
    return CodeExchangeResult(
        token, granted or (), missing, parse_usage(response.headers), app_scoped_id=user_id
    )


def parse_long_lived(
    response: httpx.Response,
    *,
    now: datetime,
    user_id: str | None = None,
    scopes: tuple[str, ...] = (),
    what: str = "the long-lived token exchange",
    secrets: Secrets = (),
) -> AccessToken:
    """Read an ``ig_exchange_token`` or ``ig_refresh_token`` answer into an ``ig_long`` token.

    ``expires_in`` (seconds, int or numeric string) sets ``expires_at = now + expires_in``;
    when absent, Meta's documented 60 days are assumed.
    """
    body = _record(json_object(response, what, secrets=secrets), "access_token")
    return token_from(
        body,
        TokenKind.IG_LONG,
        now=now,
        default_ttl=LONG_LIVED_TTL,
        what=what,
        user_id=user_id,
        scopes=scopes,
    )


def token_from(
    body: Mapping[str, Any],
    kind: TokenKind,
    *,
    now: datetime,
    default_ttl: timedelta,
    what: str,
    user_id: str | None = None,
    scopes: tuple[str, ...] = (),
) -> AccessToken:
    """The token of an OAuth token answer: ``access_token``, issued ``now``, expiring ``expires_in``
    later (``default_ttl`` when Meta leaves it out)."""
    return AccessToken(
        value=_token(body, what),
        kind=kind,
        issued_at=now,
        expires_at=expires_at_from(body, now=now, default_ttl=default_ttl, what=what),
        user_id=user_id,
        scopes=scopes,
    )


def expires_at_from(body: Mapping[str, Any], *, now: datetime, default_ttl: timedelta, what: str) -> datetime:
    """``now + expires_in`` (seconds, int or numeric string), or ``now + default_ttl`` when Meta omits it."""
    raw = body.get("expires_in")
    expires_in = _int(raw)
    if raw is not None and (expires_in is None or expires_in <= 0):
        raise UnexpectedResponseError(f"{what} answered with an unusable expires_in")
    return now + (default_ttl if expires_in is None else timedelta(seconds=expires_in))


def _count(value: object) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _account_type(value: object) -> AccountType | None:
    if not isinstance(value, str):
        return None
    try:
        return AccountType(value.strip().upper())
    except ValueError:
        return None


def parse_profile(response: httpx.Response, *, secrets: Secrets = ()) -> Profile:
    """Read ``/me``: the flat object Meta really sends, or the ``{"data": [...]}`` its docs show.

    ``user_id`` is the professional account id (the one webhooks use); ``id`` is
    the app-scoped id and lands in ``app_scoped_id``.
    """
    what = "the profile (/me)"
    body = _record(json_object(response, what, secrets=secrets), "username")
    user_id = _id(body.get("user_id"), "the profile's user_id")
    username = body.get("username")
    if user_id is None or not isinstance(username, str) or not username:
        raise UnexpectedResponseError(f"{what} lacks user_id or username{_where(response, secrets)}")
    name, picture = body.get("name"), body.get("profile_picture_url")
    return Profile(
        user_id=user_id,
        username=username,
        account_type=_account_type(body.get("account_type")),
        app_scoped_id=_id(body.get("id"), "the profile's id"),
        name=name if isinstance(name, str) else None,
        profile_picture_url=picture if isinstance(picture, str) else None,
        followers_count=_count(body.get("followers_count")),
        follows_count=_count(body.get("follows_count")),
        media_count=_count(body.get("media_count")),
    )


def _optional_str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def parse_media_page(response: httpx.Response, *, secrets: Secrets = ()) -> tuple[MediaPage, str | None]:
    """Read one page of a media edge: the items with their cursors, and ``paging.next`` if any.

    ``paging.next`` carries the token as Meta sends it, so it is returned apart,
    for the flow to follow, and not kept in the :class:`MediaPage`.
    """
    what = "the media list"
    body = json_object(response, what, secrets=secrets)
    data = body.get("data")
    if not isinstance(data, list):
        raise UnexpectedResponseError(f"{what} has no data list{_where(response, secrets)}")
    items: list[Media] = []
    for item in data:
        media_id = _id(item.get("id"), "a media id") if isinstance(item, dict) else None
        if media_id is None:
            raise UnexpectedResponseError(f"{what} holds an entry without an id")
        assert isinstance(item, dict)
        items.append(
            Media(
                id=media_id,
                media_type=_optional_str(item, "media_type"),
                caption=_optional_str(item, "caption"),
                media_url=_optional_str(item, "media_url"),
                permalink=_optional_str(item, "permalink"),
                thumbnail_url=_optional_str(item, "thumbnail_url"),
                timestamp=parse_timestamp(item.get("timestamp")),
                username=_optional_str(item, "username"),
                raw=dict(item),
            )
        )
    paging = body.get("paging")
    paging = paging if isinstance(paging, dict) else {}
    next_url = paging.get("next")
    next_url = next_url if isinstance(next_url, str) and next_url else None
    cursors = paging.get("cursors")
    cursors = cursors if isinstance(cursors, dict) else {}
    after, before = _optional_str(cursors, "after"), _optional_str(cursors, "before")
    page = MediaPage(tuple(items), after=after if next_url is not None else None, before=before)
    return page, next_url
