"""Facebook Login for Business as sans-I/O flows, in the style of :mod:`igtoken._flows`.

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

from igtoken._appsecret_proof import app_access_token, appsecret_proof
from igtoken._authorize import code_from
from igtoken._config import ClientConfig
from igtoken._exceptions import (
    ConfigurationError,
    PermissionDeniedError,
    PermissionsDeclinedError,
    TokenExpiredError,
    UnexpectedResponseError,
)
from igtoken._fb_models import (
    ConnectedPage,
    FacebookLoginResult,
    FacebookPage,
    FacebookPermissions,
    FacebookUser,
    TokenDebugInfo,
)
from igtoken._fb_parse import (
    FB_LONG_LIVED_TTL,
    FB_SHORT_LIVED_TTL,
    parse_app_token,
    parse_debug_token,
    parse_me,
    parse_page_node,
    parse_pages,
    parse_permissions,
    parse_user_token,
)
from igtoken._fb_scopes import PAGES_SHOW_LIST, REQUIRED_FACEBOOK_SCOPES, declined_permissions_fix
from igtoken._flows import MAX_PAGES, Flow, _request, _value, next_page_url
from igtoken._lifecycle import require_aware
from igtoken._models import AccessToken, TokenKind
from igtoken._scopes import split_scopes
from igtoken._secret import Secret

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
    response = yield _request(
        config,
        "GET",
        config.endpoints.facebook_graph("oauth/access_token"),
        params={
            "client_id": app.app_id,
            "redirect_uri": app.redirect_uri,
            "client_secret": app.app_secret.reveal(),
            "code": secret_code.reveal(),
        },
    )
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
    response = yield _request(
        config,
        "GET",
        config.endpoints.facebook_graph("oauth/access_token"),
        params={
            "grant_type": "fb_exchange_token",
            "client_id": app.app_id,
            "client_secret": app.app_secret.reveal(),
            "fb_exchange_token": value.reveal(),
        },
    )
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
    response = yield _request(
        config,
        "GET",
        config.endpoints.facebook_graph("oauth/access_token"),
        params={
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": app.app_secret.reveal(),
        },
    )
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
    return FacebookLoginResult(
        user_token=user_token,
        data_access_expires_at=info.data_access_expires_at,
        pages=tuple(connected),
        granted_scopes=info.scopes,
        missing_scopes=tuple(s for s in requested if s not in info.scopes),
    )


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
