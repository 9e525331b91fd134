"""Instagram Login as sans-I/O flows: generators that yield requests and receive responses.

This module is public (``igtoken.instagram.flows``); :class:`~igtoken.Client` and
:class:`~igtoken.AsyncClient` are thin drivers over it. Each flow is written in
httpx's ``auth_flow`` style: it ``yield``\\ s an :class:`httpx.Request`, is sent
the :class:`httpx.Response`, and ``return``\\ s a value (``StopIteration.value``).
It never opens a socket or reads a clock (``now`` is an argument), so one
implementation serves the sync and async drivers, and you can drive one with any
HTTP library, or by hand::

    flow = flows.refresh(config, token, now=now)
    request = next(flow)                     # <Request('GET', '…access_token=[redacted]')>
    try:
        while True:
            request = flow.send(http.send(request))  # any HTTP client; here an httpx.Client
    except StopIteration as done:
        token = done.value

The requests are :class:`~igtoken.core.requests.MaskedRequest`: their ``repr``
hides ``client_secret``, ``access_token`` and every other credential. A flow
raises igtoken's exceptions (:class:`~igtoken.NeedsReauthorizationError`, …)
from Meta's error answers; retrying is the driver's business.

The flows: :func:`exchange_code`, :func:`exchange_long_lived`, :func:`refresh`,
:func:`profile`, :func:`media_page`, :func:`media`, :func:`login` and
:func:`inspect`. Facebook Login's are in :mod:`igtoken.facebook.flows`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Generator, Sequence
from datetime import datetime, timedelta
from typing import Final, TypeAlias, TypeVar

import httpx

from igtoken.core.config import ClientConfig
from igtoken.core.exceptions import (
    ConfigurationError,
    InvalidRequestError,
    PersonalAccountError,
    TokenExpiredError,
    UnexpectedResponseError,
)
from igtoken.core.lifecycle import LONG_LIVED_TTL, REFRESH_MIN_AGE, ensure_refreshable, require_aware
from igtoken.core.media import DEFAULT_MEDIA_FIELDS, Media, MediaPage
from igtoken.core.models import AccessToken, AccountType, LoginResult, Profile, TokenInspection, TokenKind
from igtoken.core.redact import redact_url
from igtoken.core.requests import MaskedRequest
from igtoken.core.secret import Secret
from igtoken.instagram.authorize import SWITCH_TO_PROFESSIONAL, code_from
from igtoken.instagram.parse import (
    CodeExchangeResult,
    parse_code_exchange,
    parse_long_lived,
    parse_media_page,
    parse_profile,
)
from igtoken.instagram.scopes import split_scopes

T = TypeVar("T")

#: A flow: yields requests, is sent responses, returns a ``T``.
Flow: TypeAlias = Generator[httpx.Request, httpx.Response, T]

#: Fields ``profile`` asks ``/me`` for.
PROFILE_FIELDS: Final = (
    "user_id",
    "username",
    "name",
    "account_type",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
)
#: Safety stop for media paging, in pages.
MAX_PAGES: Final = 1000

_NODE = re.compile(r"me|\d{1,32}")
_FIELD = re.compile(r"[a-z_]{1,64}(\{[^{}]*\})?")
_SWITCH_TO_PROFESSIONAL: Final = SWITCH_TO_PROFESSIONAL


def _request(
    config: ClientConfig,
    method: str,
    url: str | httpx.URL,
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    bearer: Secret | None = None,
) -> httpx.Request:
    headers = {"Accept": "application/json", "User-Agent": config.user_agent}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer.reveal()}"
    # A hand-built Request carries no timeout unless told, whatever the client's default.
    timeout = httpx.Timeout(config.timeout).as_dict()
    return MaskedRequest(
        method, url, params=params, data=data, headers=headers, extensions={"timeout": timeout}
    )


def _value(token: AccessToken | Secret) -> Secret:
    if isinstance(token, Secret):
        return token
    if isinstance(token, AccessToken):
        return token.value
    raise ConfigurationError(f"expected an AccessToken or a Secret, not {type(token).__name__}")


def _fields(fields: Sequence[str], required: Sequence[str]) -> str:
    names = list(dict.fromkeys([*required, *split_scopes(fields)]))
    for name in names:
        if not _FIELD.fullmatch(name):
            raise ConfigurationError(f"{name!r} is not a Graph API field name")
    return ",".join(names)


def exchange_code(
    config: ClientConfig,
    code: Secret | str,
    *,
    now: datetime,
    requested_scopes: Sequence[str] = (),
) -> Flow[CodeExchangeResult]:
    """Exchange an authorization code for a short-lived (one hour) Instagram token.

    ``code`` may be the bare code or the whole callback URL; Meta's ``#_`` is
    stripped. Sends ``POST api.instagram.com/oauth/access_token``, form-encoded,
    with the app's credentials and the same ``redirect_uri`` as the authorize URL.
    Scopes in ``requested_scopes`` that Meta did not grant are reported in
    ``missing_scopes``.
    """
    require_aware(now)
    secret_code = code_from(code)
    app = config.app
    response = yield _request(
        config,
        "POST",
        config.endpoints.code_exchange,
        data={
            "client_id": app.app_id,
            "client_secret": app.app_secret.reveal(),
            "grant_type": "authorization_code",
            "redirect_uri": app.redirect_uri,
            "code": secret_code.reveal(),
        },
    )
    return parse_code_exchange(
        response,
        now=now,
        requested_scopes=split_scopes(requested_scopes),
        secrets=(app.app_secret, secret_code),
    )


def exchange_long_lived(
    config: ClientConfig, short: AccessToken | Secret, *, now: datetime
) -> Flow[AccessToken]:
    """Exchange a short-lived Instagram token for a long-lived (60 days) one.

    ``GET graph.instagram.com/access_token?grant_type=ig_exchange_token``. Meta
    wants the token and the app secret in the query here; both are redacted
    wherever the URL is shown.
    """
    require_aware(now)
    if isinstance(short, AccessToken):
        if short.kind is not TokenKind.IG_SHORT:
            raise ConfigurationError(
                f"only a short-lived Instagram token can be exchanged, not {short.kind.value}",
                fix="refresh a long-lived token instead" if short.kind is TokenKind.IG_LONG else "",
            )
        if short.is_expired(now):
            raise TokenExpiredError(
                "the short-lived token has expired and can no longer be exchanged",
                fix="log in again; exchange the short-lived token right after the code exchange",
                expired_at=short.expires_at,
            )
    value = _value(short)
    app = config.app
    response = yield _request(
        config,
        "GET",
        config.endpoints.long_lived_exchange,
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": app.app_secret.reveal(),
            "access_token": value.reveal(),
        },
    )
    return parse_long_lived(
        response,
        now=now,
        user_id=short.user_id if isinstance(short, AccessToken) else None,
        scopes=short.scopes if isinstance(short, AccessToken) else (),
        secrets=(app.app_secret, value),
    )


def refresh(config: ClientConfig, token: AccessToken, *, now: datetime) -> Flow[AccessToken]:
    """Refresh a long-lived Instagram token, giving it 60 days from ``now``.

    Meta's rules are checked first (long-lived, at least 24 hours old, not
    expired) and a broken rule raises :class:`TokenTooNewError`,
    :class:`TokenExpiredError` or :class:`RefreshError` without sending
    anything. Persist whatever comes back: it may be a new string.
    """
    ensure_refreshable(token, now)
    response = yield _request(
        config,
        "GET",
        config.endpoints.refresh,
        params={"grant_type": "ig_refresh_token", "access_token": token.value.reveal()},
    )
    return parse_long_lived(
        response,
        now=now,
        user_id=token.user_id,
        scopes=token.scopes,
        what="the token refresh",
        secrets=(config.app.app_secret, token.value),
    )


def profile(
    config: ClientConfig, token: AccessToken | Secret, *, fields: Sequence[str] = PROFILE_FIELDS
) -> Flow[Profile]:
    """Read the account behind ``token`` with ``GET graph.instagram.com/me`` (token in the header).

    ``user_id`` and ``username`` are always asked for.
    """
    value = _value(token)
    response = yield _request(
        config,
        "GET",
        config.endpoints.instagram_graph("me"),
        params={"fields": _fields(fields, ("user_id", "username"))},
        bearer=value,
    )
    return parse_profile(response, secrets=(value, config.app.app_secret))


def next_page_url(next_url: str, *, base_url: str, meta_host: str) -> httpx.URL:
    """Where to fetch ``paging.next``: only our own ``base_url`` (or Meta's ``meta_host`` re-rooted on it).

    The next request carries the token, so a next URL pointing anywhere else is
    refused. Credentials Meta copies into the URL (``access_token``,
    ``appsecret_proof``) are dropped; the caller sends its own.
    """
    try:
        url = httpx.URL(next_url)
        base = httpx.URL(base_url)
    except httpx.InvalidURL:
        raise UnexpectedResponseError("paging.next is not a URL") from None
    same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
    if same_origin and url.path.startswith(base.path.rstrip("/") + "/"):
        target = url
    elif url.host == meta_host and url.scheme == "https":
        # Meta's next URLs name Meta's host; keep the path and query, re-root on our endpoint.
        target = base.copy_with(path=base.path.rstrip("/") + url.path, query=url.query)
    else:
        raise UnexpectedResponseError(
            f"paging.next points at {redact_url(next_url)!s}, outside {meta_host}; "
            "not sending the token there"
        )
    return target.copy_remove_param("access_token").copy_remove_param("appsecret_proof")


def _next_request(config: ClientConfig, next_url: str, token: Secret) -> httpx.Request:
    """Follow ``paging.next`` only to our own graph.instagram.com: the request carries the token."""
    target = next_page_url(
        next_url, base_url=config.endpoints.graph_instagram, meta_host="graph.instagram.com"
    )
    # The token travels in the header.
    return _request(config, "GET", target, bearer=token)


def _media_request(
    config: ClientConfig,
    url: str,
    token: Secret,
    *,
    fields: Sequence[str],
    page_size: int | None,
    after: str | None,
) -> httpx.Request:
    if page_size is not None and page_size < 1:
        raise ConfigurationError(f"page_size must be at least 1, got {page_size}")
    params = {"fields": _fields(fields, ("id",))}
    if page_size is not None:
        params["limit"] = str(page_size)
    if after is not None:
        if not isinstance(after, str) or not after or len(after) > 1024:
            raise ConfigurationError("after must be a cursor from MediaPage.after")
        params["after"] = after
    return _request(config, "GET", url, params=params, bearer=token)


def _node(user_id: str) -> str:
    if not isinstance(user_id, str) or not _NODE.fullmatch(user_id):
        raise ConfigurationError(f"user_id must be 'me' or a numeric id, got {user_id!r}")
    return user_id


def media_page(
    config: ClientConfig,
    token: AccessToken | Secret,
    *,
    user_id: str = "me",
    fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
    page_size: int | None = None,
    after: str | None = None,
) -> Flow[MediaPage]:
    """Read one page of an account's media (``GET graph.instagram.com/{user_id}/media``), newest first.

    ``after`` is the cursor from the previous :class:`~igtoken.MediaPage` (``None``:
    the first page); the page's own ``after`` resumes from where it ends, and is
    ``None`` on the last page. ``page_size`` is sent as Meta's ``limit``.
    """
    value = _value(token)
    url = config.endpoints.instagram_graph(f"{_node(user_id)}/media")
    response = yield _media_request(config, url, value, fields=fields, page_size=page_size, after=after)
    page, _ = parse_media_page(response, secrets=(value, config.app.app_secret))
    return page


def media(
    config: ClientConfig,
    token: AccessToken | Secret,
    *,
    user_id: str = "me",
    fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
    page_size: int | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> Flow[list[Media]]:
    """List an account's media, following ``paging.next`` until the end or ``limit`` items.

    ``user_id`` is ``"me"`` or the professional account id. ``page_size`` is sent
    as Meta's ``limit`` parameter; ``after`` starts from a cursor
    (:attr:`~igtoken.MediaPage.after`). To stop and resume later, page with
    :func:`media_page` instead.
    """
    if limit is not None and limit < 1:
        raise ConfigurationError(f"limit must be at least 1, got {limit}")
    value = _value(token)
    url = config.endpoints.instagram_graph(f"{_node(user_id)}/media")
    request = _media_request(config, url, value, fields=fields, page_size=page_size, after=after)
    items: list[Media] = []
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        response = yield request
        page, next_url = parse_media_page(response, secrets=(value, config.app.app_secret))
        items.extend(page.items)
        if limit is not None and len(items) >= limit:
            return items[:limit]
        if next_url is None or next_url in seen or not page.items:
            return items
        seen.add(next_url)
        request = _next_request(config, next_url, value)
    return items


def login(
    config: ClientConfig,
    callback_url_or_code: Secret | str,
    *,
    now: datetime,
    requested_scopes: Sequence[str] = (),
    expected_state: str | None = None,
) -> Flow[LoginResult]:
    """The whole login after the redirect: code → short-lived → long-lived token → profile.

    Returns the long-lived token (its ``user_id`` is the professional account
    id, ``profile.user_id``; ``profile.app_scoped_id`` is the app-scoped one) and the
    account. Raises :class:`PersonalAccountError` for a personal account, which the
    Instagram API does not serve.
    """
    require_aware(now)
    code = code_from(callback_url_or_code, expected_state=expected_state)
    exchanged = yield from exchange_code(config, code, now=now, requested_scopes=requested_scopes)
    long_lived = yield from exchange_long_lived(config, exchanged.token, now=now)
    account = yield from profile(config, long_lived)
    if account.account_type is AccountType.PERSONAL:
        raise _personal(account)
    return LoginResult(
        token=dataclasses.replace(long_lived, user_id=account.user_id),
        profile=account,
        granted_scopes=exchanged.granted_scopes,
        missing_scopes=exchanged.missing_scopes,
    )


def _personal(account: Profile) -> PersonalAccountError:
    return PersonalAccountError(
        f"@{account.username} is a personal Instagram account; the Instagram API serves only "
        "Business and Creator accounts",
        fix=_SWITCH_TO_PROFESSIONAL,
    )


def inspect(config: ClientConfig, token: Secret | str, *, now: datetime) -> Flow[TokenInspection]:
    """Ask Meta what a bare Instagram Login token is, so it can be stored and refreshed.

    Reads ``/me`` (whose token; a personal account raises :class:`PersonalAccountError`),
    then calls the refresh endpoint, which is how Meta tells a long-lived token and
    its expiry: a token at least 24 hours old comes back refreshed for 60 days (the
    string may change: keep ``inspection.token``); a younger one is kept, counted as
    issued now and expiring in 59 days, the safe ends of what Meta allows. A dead
    token raises :class:`~igtoken.NeedsReauthorizationError`; a short-lived one (or
    one of another app) raises :class:`~igtoken.InvalidRequestError` whose ``fix``
    says to exchange it first.
    """
    require_aware(now)
    value = Secret(token) if isinstance(token, str) else _value(token)
    account = yield from profile(config, value)
    if account.account_type is AccountType.PERSONAL:
        raise _personal(account)
    # Meta's 24-hour rule is Meta's to apply here: the probe claims just enough age to ask.
    probe = AccessToken(
        value, TokenKind.IG_LONG, now - REFRESH_MIN_AGE - timedelta(minutes=1), now + timedelta(days=1)
    )
    try:
        refreshed = yield from refresh(config, probe, now=now)
    except InvalidRequestError as exc:
        if "24 hours" not in exc.message:
            exc.fix = (
                "Meta refreshes only long-lived Instagram Login tokens of this app: exchange a short-lived "
                "token first (exchange_long_lived), or check the token belongs to this app"
            )
            raise
        young = AccessToken(
            value, TokenKind.IG_LONG, now, now + LONG_LIVED_TTL - timedelta(days=1), user_id=account.user_id
        )
        return TokenInspection(token=young, profile=account)
    return TokenInspection(token=dataclasses.replace(refreshed, user_id=account.user_id), profile=account)
