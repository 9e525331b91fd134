"""Facebook Login for Business as sans-I/O flows, in the style of :mod:`igtoken.instagram.flows`.

This module is public (``igtoken.facebook.flows``); :class:`~igtoken.Client` drives it
(``facebook_login``, ``pages``, ``debug_token``, and ``profile``/``media``/``media_page``
given a Facebook token). Each flow yields :class:`~igtoken.core.requests.MaskedRequest`\\ s
(their ``repr`` masks ``access_token``, ``client_secret``, ``appsecret_proof``, …), is
sent the responses and returns a value; drive one by hand with ``next()`` and ``.send()``.

The flows: :func:`exchange_facebook_code`, :func:`exchange_facebook_long_lived`,
:func:`facebook_app_token`, :func:`facebook_me`, :func:`facebook_permissions`,
:func:`pages`, :func:`page_instagram_account`, :func:`debug_token`,
:func:`facebook_login`, and for the Instagram account linked to a Page,
:func:`instagram_profile`, :func:`instagram_media_page`, :func:`instagram_media`;
:func:`inspect` asks ``debug_token`` what a bare Facebook token is.

Every call to graph.facebook.com that carries an access token sends it in the
``Authorization`` header and adds ``appsecret_proof`` for that token. The token
endpoint (``/oauth/access_token``) carries no access token: it authenticates
with ``client_id`` and ``client_secret`` in the query, as Meta documents it, and
those are redacted wherever the URL is shown.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import httpx

from igtoken.core.config import ClientConfig
from igtoken.core.exceptions import (
    ConfigurationError,
    NeedsReauthorizationError,
    PermissionDeniedError,
    PermissionsDeclinedError,
    TokenExpiredError,
    UnexpectedResponseError,
)
from igtoken.core.lifecycle import require_aware
from igtoken.core.media import DEFAULT_MEDIA_FIELDS, Media, MediaPage
from igtoken.core.models import AccessToken, Profile, TokenInspection, TokenKind
from igtoken.core.secret import Secret
from igtoken.facebook.appsecret_proof import app_access_token, appsecret_proof
from igtoken.facebook.models import (
    ConnectedPage,
    FacebookLoginResult,
    FacebookPage,
    FacebookPermissions,
    FacebookUser,
    TokenDebugInfo,
)
from igtoken.facebook.parse import (
    FB_LONG_LIVED_TTL,
    FB_SHORT_LIVED_TTL,
    parse_app_token,
    parse_debug_token,
    parse_instagram_user,
    parse_me,
    parse_page_node,
    parse_pages,
    parse_permissions,
    parse_user_token,
)
from igtoken.facebook.scopes import PAGES_SHOW_LIST, REQUIRED_FACEBOOK_SCOPES, declined_permissions_fix
from igtoken.instagram.authorize import code_from
from igtoken.instagram.flows import (
    MAX_PAGES,
    Flow,
    _fields,
    _media_request,
    _request,
    _value,
    next_page_url,
)
from igtoken.instagram.parse import parse_media_page
from igtoken.instagram.scopes import split_scopes

#: Fields ``pages`` asks ``/me/accounts`` for.
PAGE_LIST_FIELDS: Final = "id,name,category,tasks,access_token,instagram_business_account"
#: Fields ``page_instagram_account`` asks a Page for: the page token and the linked account's username.
PAGE_FIELDS: Final = "id,name,access_token,instagram_business_account{id,username}"
#: A page token derived from a short-lived user token lives one hour (Meta, "Page access tokens").
PAGE_TOKEN_FROM_SHORT_TTL: Final = timedelta(hours=1)
# A user token that lives longer than this from issue is a long-lived one.
_SHORT_USER_TOKEN_MAX: Final = timedelta(days=1)
_PAGE_ID = re.compile(r"\d{1,32}")


def _graph(
    config: ClientConfig, url: str | httpx.URL, token: Secret, *, params: dict[str, str] | None = None
) -> httpx.Request:
    """A GET on graph.facebook.com: the token in the header, its ``appsecret_proof`` in the query."""
    query = dict(params or {})
    query["appsecret_proof"] = appsecret_proof(config.facebook.app_secret, token)
    if isinstance(url, httpx.URL):
        url = url.copy_merge_params(query)
        return _request(config, "GET", url, bearer=token)
    return _request(config, "GET", url, params=query, bearer=token)


def _token_request(config: ClientConfig, **params: str) -> httpx.Request:
    """``GET …/oauth/access_token``: the Meta app's id and secret, plus the grant's ``params``."""
    app = config.facebook
    return _request(
        config,
        "GET",
        config.endpoints.facebook_graph("oauth/access_token"),
        params={"client_id": app.app_id, "client_secret": app.app_secret.reveal(), **params},
    )


def _user_token(token: AccessToken | Secret, *, now: datetime, what: str) -> Secret:
    if isinstance(token, AccessToken):
        if token.kind is not TokenKind.FB_USER:
            raise ConfigurationError(
                f"{what} needs a Facebook user token, not {token.kind.value}",
                fix="Instagram Login tokens work only on graph.instagram.com"
                if token.kind in (TokenKind.IG_SHORT, TokenKind.IG_LONG)
                else "",
            )
        if token.is_expired(now):
            raise TokenExpiredError(
                f"the Facebook user token expired; {what} cannot use it",
                fix="log in with Facebook again",
                expired_at=token.expires_at,
            )
    return _value(token)


def page_token_expires_at(user_token: AccessToken | Secret, now: datetime) -> datetime | None:
    """When a page token derived from ``user_token`` at ``now`` expires; ``None`` for never.

    From a long-lived user token a page token has no expiry; from a short-lived
    one it lives an hour. A bare :class:`Secret` is taken to be long-lived
    (:func:`debug_token` on the page token tells for sure).
    """
    if not isinstance(user_token, AccessToken) or user_token.expires_at is None:
        return None
    if user_token.expires_at - user_token.issued_at > _SHORT_USER_TOKEN_MAX:
        return None
    return min(now + PAGE_TOKEN_FROM_SHORT_TTL, user_token.expires_at)


def exchange_facebook_code(config: ClientConfig, code: Secret | str, *, now: datetime) -> Flow[AccessToken]:
    """Exchange a Facebook Login code for a user token.

    ``GET graph.facebook.com/vNN.N/oauth/access_token`` with the Meta app's
    ``client_id`` and ``client_secret``, the dialog's ``redirect_uri`` and the
    code (bare, or the callback URL; ``#_=_`` is stripped). ``expires_at`` follows
    Meta's ``expires_in``: some apps get a 60-day token here already.
    """
    require_aware(now)
    secret_code = code_from(code)
    app = config.facebook
    response = yield _token_request(config, redirect_uri=app.redirect_uri, code=secret_code.reveal())
    return parse_user_token(
        response,
        now=now,
        default_ttl=FB_SHORT_LIVED_TTL,
        what="the Facebook code exchange",
        secrets=(app.app_secret, secret_code),
    )


def exchange_facebook_long_lived(
    config: ClientConfig, token: AccessToken | Secret, *, now: datetime
) -> Flow[AccessToken]:
    """Exchange a Facebook user token for a long-lived one (about 60 days) with ``fb_exchange_token``.

    The answer is a different string; there is no refresh grant after it, only a new login.
    """
    require_aware(now)
    value = _user_token(token, now=now, what="the long-lived exchange")
    app = config.facebook
    response = yield _token_request(config, grant_type="fb_exchange_token", fb_exchange_token=value.reveal())
    return parse_user_token(
        response,
        now=now,
        default_ttl=FB_LONG_LIVED_TTL,
        what="the fb_exchange_token exchange",
        user_id=token.user_id if isinstance(token, AccessToken) else None,
        scopes=token.scopes if isinstance(token, AccessToken) else (),
        secrets=(app.app_secret, value),
    )


def facebook_app_token(config: ClientConfig) -> Flow[Secret]:
    """Ask Meta for an app access token (``grant_type=client_credentials``).

    :func:`~igtoken.app_access_token` builds the equivalent ``APP_ID|APP_SECRET``
    form without a request; this flow is for apps that prefer Meta's own string.
    """
    app = config.facebook
    response = yield _token_request(config, grant_type="client_credentials")
    return parse_app_token(response, secrets=(app.app_secret,))


def facebook_me(config: ClientConfig, token: AccessToken | Secret) -> Flow[FacebookUser]:
    """Read the Facebook user behind a user token: ``GET /me?fields=id,name``."""
    value = _value(token)
    response = yield _graph(
        config, config.endpoints.facebook_graph("me"), value, params={"fields": "id,name"}
    )
    return parse_me(response, secrets=(value, config.facebook.app_secret))


def facebook_permissions(config: ClientConfig, token: AccessToken | Secret) -> Flow[FacebookPermissions]:
    """Read what the person granted and declined: ``GET /me/permissions``."""
    value = _value(token)
    response = yield _graph(config, config.endpoints.facebook_graph("me/permissions"), value)
    return parse_permissions(response, secrets=(value, config.facebook.app_secret))


def pages(
    config: ClientConfig, user_token: AccessToken | Secret, *, now: datetime, page_size: int | None = None
) -> Flow[list[FacebookPage]]:
    """List the person's Pages with their page tokens (``GET /me/accounts``), following every page.

    ``paging.next`` is followed only on graph.facebook.com (or the configured
    endpoint). An empty list usually means a missing permission; see
    :func:`~igtoken.no_pages_hint`.
    """
    require_aware(now)
    value = _user_token(user_token, now=now, what="listing Pages")
    if page_size is not None and page_size < 1:
        raise ConfigurationError(f"page_size must be at least 1, got {page_size}")
    expires_at = page_token_expires_at(user_token, now)
    secrets = (value, config.facebook.app_secret)
    params = {"fields": PAGE_LIST_FIELDS}
    if page_size is not None:
        params["limit"] = str(page_size)
    request = _graph(config, config.endpoints.facebook_graph("me/accounts"), value, params=params)
    found: list[FacebookPage] = []
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        response = yield request
        batch, next_url = parse_pages(response, now=now, page_token_expires_at=expires_at, secrets=secrets)
        found.extend(batch)
        if next_url is None or next_url in seen or not batch:
            return found
        seen.add(next_url)
        target = next_page_url(
            next_url, base_url=config.endpoints.graph_facebook, meta_host="graph.facebook.com"
        )
        request = _graph(config, target, value)
    return found


def page_instagram_account(
    config: ClientConfig, user_token: AccessToken | Secret, page_id: str, *, now: datetime
) -> Flow[ConnectedPage]:
    """Read one Page's token and linked Instagram account.

    ``GET /{page-id}?fields=id,name,access_token,instagram_business_account{id,username}``.
    ``instagram_account`` is ``None`` when no Instagram professional account is
    linked to the Page.
    """
    require_aware(now)
    if not isinstance(page_id, str) or not _PAGE_ID.fullmatch(page_id):
        raise ConfigurationError(f"page_id must be a numeric Page id, got {page_id!r}")
    value = _user_token(user_token, now=now, what="reading a Page")
    response = yield _graph(
        config, config.endpoints.facebook_graph(page_id), value, params={"fields": PAGE_FIELDS}
    )
    return parse_page_node(
        response,
        now=now,
        page_token_expires_at=page_token_expires_at(user_token, now),
        secrets=(value, config.facebook.app_secret),
    )


def debug_token(
    config: ClientConfig, token: AccessToken | Secret, *, app_token: Secret | None = None
) -> Flow[TokenDebugInfo]:
    """Ask Meta what it knows about ``token``: ``GET /debug_token?input_token=…``.

    Sent with an app token (``app_token``, or the ``APP_ID|APP_SECRET`` form of
    the Meta app by default). An invalid ``token`` is reported in the result
    (``is_valid=False``, ``error``), not raised; a bad app token is raised.
    """
    value = _value(token)
    caller = app_token if app_token is not None else app_access_token(config.facebook)
    if not isinstance(caller, Secret):
        raise ConfigurationError("app_token must be a Secret")
    response = yield _graph(
        config, config.endpoints.facebook_graph("debug_token"), caller, params={"input_token": value.reveal()}
    )
    return parse_debug_token(response, secrets=(value, caller, config.facebook.app_secret))


def facebook_login(
    config: ClientConfig,
    callback_url_or_code: Secret | str,
    *,
    now: datetime,
    requested_scopes: Sequence[str] = (),
    expected_state: str | None = None,
    required_scopes: Sequence[str] | None = None,
) -> Flow[FacebookLoginResult]:
    """The whole Facebook Login after the redirect.

    Code → user token → long-lived user token → ``debug_token`` (user id, scopes,
    data access expiry) → Pages → for each Page with a linked Instagram
    account, its page token and the account's username. Pages without a linked
    account are kept in the result (with the token ``/me/accounts`` gave), and
    :attr:`FacebookLoginResult.hint` explains an empty or unlinked list.

    ``required_scopes`` are the permissions without which the login is refused
    (default: those of :data:`REQUIRED_FACEBOOK_SCOPES` that were asked for, all of
    them when nothing was asked for by name). When one is not granted,
    ``/me/permissions`` tells which were declined and
    :class:`~igtoken.PermissionsDeclinedError` names them; nothing half-connected
    is returned. A ``(#10)`` on ``/me/accounts`` is reported the same way, for
    ``pages_show_list``.
    """
    require_aware(now)
    code = code_from(callback_url_or_code, expected_state=expected_state)
    requested = split_scopes(requested_scopes)
    if required_scopes is None:
        required = tuple(s for s in REQUIRED_FACEBOOK_SCOPES if not requested or s in requested)
    else:
        required = split_scopes(required_scopes)
    short = yield from exchange_facebook_code(config, code, now=now)
    long_lived = yield from exchange_facebook_long_lived(config, short, now=now)
    info = yield from debug_token(config, long_lived)
    if not info.is_valid:
        reason = info.error.message if info.error is not None else "no reason given"
        raise UnexpectedResponseError(f"debug_token calls the new long-lived user token invalid: {reason}")
    user_token = dataclasses.replace(long_lived, user_id=info.user_id, scopes=info.scopes)
    missing = tuple(s for s in required if s not in info.scopes)
    if missing:
        permissions = yield from facebook_permissions(config, user_token)
        missing = tuple(s for s in missing if s not in permissions.granted)
        if missing:
            raise _declined(missing, permissions.declined)
    try:
        listed = yield from pages(config, user_token, now=now)
    except PermissionDeniedError as exc:
        if exc.code != 10:
            raise
        raise _declined((PAGES_SHOW_LIST,), (), cause=exc) from exc
    connected: list[ConnectedPage] = []
    for page in listed:
        if page.instagram_account_id is None:
            connected.append(ConnectedPage(page.page_id, page.name, page.page_token))
            continue
        node = yield from page_instagram_account(config, user_token, page.page_id, now=now)
        connected.append(node if node.page_name else dataclasses.replace(node, page_name=page.name))
    return FacebookLoginResult.from_inspection(user_token, info, connected, requested_scopes=requested)


def _declined(
    missing: tuple[str, ...], declined: tuple[str, ...], *, cause: PermissionDeniedError | None = None
) -> PermissionsDeclinedError:
    """The error for a login that lacks ``missing``; ``declined`` are those the person unticked."""
    names = ", ".join(missing)
    said_no = tuple(s for s in missing if s in declined)
    if cause is not None:
        what = f"Facebook refused to list the Pages ({cause.message}): {names} was not granted"
    elif said_no:
        what = f"the person declined {', '.join(said_no)} in the Facebook dialog"
    else:
        what = f"{names} {'was' if len(missing) == 1 else 'were'} not granted"
    return PermissionsDeclinedError(
        f"the Facebook login cannot connect Instagram: {what}; without {names} igtoken cannot "
        "reach the Instagram account",
        permissions=missing,
        declined=said_no,
        fix=declined_permissions_fix(missing),
    )


#: Fields ``instagram_profile`` asks graph.facebook.com for.
INSTAGRAM_PROFILE_FIELDS: Final = (
    "id",
    "username",
    "name",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
)


def _facebook_token(token: AccessToken | Secret, what: str) -> Secret:
    if isinstance(token, AccessToken) and token.kind in (TokenKind.IG_SHORT, TokenKind.IG_LONG):
        raise ConfigurationError(
            f"{what} on graph.facebook.com needs a Facebook token (a Page or user token), "
            f"not {token.kind.value}",
            fix="with an Instagram Login token call profile()/media() without a Facebook token: they go to "
            "graph.instagram.com",
        )
    return _value(token)


def _ig_id(ig_user_id: str) -> str:
    if not isinstance(ig_user_id, str) or not _PAGE_ID.fullmatch(ig_user_id):
        raise ConfigurationError(
            f"ig_user_id must be the numeric Instagram account id, got {ig_user_id!r}",
            fix="it is ConnectedPage.instagram_account.user_id (or FacebookPage.instagram_account_id)",
        )
    return ig_user_id


def instagram_profile(
    config: ClientConfig,
    token: AccessToken | Secret,
    ig_user_id: str,
    *,
    fields: Sequence[str] = INSTAGRAM_PROFILE_FIELDS,
) -> Flow[Profile]:
    """Read the Instagram account linked to a Page: ``GET graph.facebook.com/{ig-user-id}``.

    ``token`` is the Page token (or the user token of someone managing the Page);
    it goes in the header with its ``appsecret_proof``. The account's ``user_id`` is
    the professional account id, as with Instagram Login.
    """
    value = _facebook_token(token, "reading an Instagram account")
    url = config.endpoints.facebook_graph(_ig_id(ig_user_id))
    response = yield _graph(config, url, value, params={"fields": _fields(fields, ("id", "username"))})
    return parse_instagram_user(response, secrets=(value, config.facebook.app_secret))


def _with_proof(config: ClientConfig, request: httpx.Request, token: Secret) -> httpx.Request:
    """``request`` re-made as a graph.facebook.com call: same URL and query, plus ``appsecret_proof``."""
    return _graph(config, request.url, token)


def instagram_media_page(
    config: ClientConfig,
    token: AccessToken | Secret,
    ig_user_id: str,
    *,
    fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
    page_size: int | None = None,
    after: str | None = None,
) -> Flow[MediaPage]:
    """One page of the linked Instagram account's media: ``GET graph.facebook.com/{ig-user-id}/media``.

    Paged like :func:`igtoken.instagram.flows.media_page`: pass the previous page's
    ``after`` to resume; it is ``None`` on the last page.
    """
    value = _facebook_token(token, "listing Instagram media")
    url = config.endpoints.facebook_graph(f"{_ig_id(ig_user_id)}/media")
    plain = _media_request(config, url, value, fields=fields, page_size=page_size, after=after)
    response = yield _with_proof(config, plain, value)
    page, _ = parse_media_page(response, secrets=(value, config.facebook.app_secret))
    return page


def instagram_media(
    config: ClientConfig,
    token: AccessToken | Secret,
    ig_user_id: str,
    *,
    fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
    page_size: int | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> Flow[list[Media]]:
    """The linked Instagram account's media through graph.facebook.com, every page or up to ``limit``."""
    if limit is not None and limit < 1:
        raise ConfigurationError(f"limit must be at least 1, got {limit}")
    items: list[Media] = []
    cursor = after
    for _ in range(MAX_PAGES):
        page = yield from instagram_media_page(
            config, token, ig_user_id, fields=fields, page_size=page_size, after=cursor
        )
        items.extend(page.items)
        if limit is not None and len(items) >= limit:
            return items[:limit]
        if page.after is None or page.after == cursor or not page.items:
            return items
        cursor = page.after
    return items


def inspect(config: ClientConfig, token: Secret | str, *, now: datetime) -> Flow[TokenInspection]:
    """Ask ``debug_token`` what a bare Facebook token is: a user or Page token, whose, until when.

    A token Meta calls invalid raises :class:`~igtoken.NeedsReauthorizationError`.
    ``token.user_id`` is the app-scoped user id for a user token and the Page id for
    a Page token; ``expires_at`` is ``None`` for a token that never expires.
    """
    require_aware(now)
    value = Secret(token) if isinstance(token, str) else _value(token)
    info = yield from debug_token(config, value)
    if not info.is_valid:
        reason = info.error.message if info.error is not None else "no reason given"
        raise NeedsReauthorizationError(
            f"Meta says this Facebook token is not valid: {reason}",
            status_code=200,
            code=info.error.code if info.error is not None else None,
            error_subcode=info.error.subcode if info.error is not None else None,
            fix="log in with Facebook again",
        )
    kind = (info.type or "").upper()
    if kind == "USER":
        result = AccessToken(
            value, TokenKind.FB_USER, info.issued_at or now, info.expires_at,
            user_id=info.user_id, scopes=info.scopes,
        )  # fmt: skip
    elif kind == "PAGE":
        result = AccessToken(
            value, TokenKind.FB_PAGE, info.issued_at or now, info.expires_at,
            user_id=info.profile_id, scopes=info.scopes,
        )  # fmt: skip
    else:
        raise ConfigurationError(
            f"debug_token calls this a {kind.lower() or 'typeless'} token; igtoken keeps user and Page tokens"
        )
    return TokenInspection(token=result, app_id=info.app_id)
