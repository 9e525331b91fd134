"""graph.facebook.com's answers turned into values, and its errors into igtoken's exceptions.

Errors are classified by :mod:`igtoken.instagram.parse` (one classifier for both Graph
hosts); only the ``fix`` hints are swapped where the Instagram Login advice
would mislead, e.g. "use the Instagram app secret" on a Facebook Login call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from igtoken.core.exceptions import IGTokenError, UnexpectedResponseError
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.facebook.models import (
    ConnectedPage,
    FacebookPage,
    FacebookPermissions,
    FacebookUser,
    GranularScope,
    TokenDebugError,
    TokenDebugInfo,
)
from igtoken.instagram.parse import (
    Secrets,
    _clean,
    _id,
    _int,
    _optional_str,
    _scopes,
    _token,
    _where,
    error_from_response,
    json_object,
    token_from,
)

#: Meta documents a short-lived Facebook user token as living "hours"; without
#: ``expires_in`` igtoken assumes the shortest, one hour.
FB_SHORT_LIVED_TTL: Final = timedelta(hours=1)
#: A long-lived Facebook user token lives about 60 days.
FB_LONG_LIVED_TTL: Final = timedelta(days=60)

_META_APP = "the Meta app id and secret from App settings > Basic, not the Instagram app's"
_FACEBOOK_FIXES: Final = (
    (
        "error validating application",
        f"the app id is unknown to Meta: Facebook Login uses {_META_APP}",
    ),
    (
        "error validating client secret",
        f"Facebook Login uses {_META_APP}; check the secret was not reset in the dashboard",
    ),
    ("missing client_id", "send client_id and client_secret as query parameters"),
    (
        "error validating verification code",
        "send the same redirect_uri, byte for byte, as in the Facebook dialog URL "
        "(a trailing slash, 'www' and http/https all count)",
    ),
    (
        "invalid appsecret_proof",
        "appsecret_proof must be computed with the secret of the Meta app that issued the token: "
        "check ClientConfig.facebook_app",
    ),
    (
        "require an appsecret_proof",
        "the app has 'Require App Secret' on: igtoken sends appsecret_proof when it knows the Meta app "
        "secret; check ClientConfig.facebook_app",
    ),
    (
        "pages_show_list",
        "the token lacks pages_show_list, which lists the Pages: log in again and grant it "
        "(a declined permission is asked again only with auth_type=rerequest)",
    ),
    (
        "invalid scope",
        "use Facebook Login permission names (instagram_basic, pages_show_list, …), not instagram_business_*",
    ),
)


def facebook_error(response: httpx.Response, *, secrets: Secrets = ()) -> IGTokenError | None:
    """:func:`~igtoken.error_from_response`, with hints that fit Facebook Login."""
    error = error_from_response(response, secrets=secrets)
    if error is not None:
        lowered = error.message.lower()
        for pattern, fix in _FACEBOOK_FIXES:
            if pattern in lowered:
                error.fix = fix
                break
    return error


def _object(response: httpx.Response, what: str, secrets: Secrets) -> dict[str, Any]:
    secrets = list(secrets)
    error = facebook_error(response, secrets=secrets)
    if error is not None:
        raise error
    return json_object(response, what, secrets=secrets)


def _timestamp(value: object, what: str) -> datetime | None:
    """A Unix time in seconds; 0 and absence mean "never" or "not given" and become ``None``."""
    if value is None:
        return None
    seconds = _int(value) if not isinstance(value, float) else int(value)
    if seconds is None or seconds < 0 or seconds > 253_402_300_799:
        raise UnexpectedResponseError(f"{what} is not a Unix time in seconds")
    return None if seconds == 0 else datetime.fromtimestamp(seconds, UTC)


def parse_user_token(
    response: httpx.Response,
    *,
    now: datetime,
    default_ttl: timedelta,
    what: str,
    user_id: str | None = None,
    scopes: tuple[str, ...] = (),
    secrets: Secrets = (),
) -> AccessToken:
    """Read a ``graph.facebook.com/oauth/access_token`` answer into an ``fb_user`` token.

    ``expires_at = now + expires_in``; ``default_ttl`` when Meta leaves ``expires_in`` out.
    """
    body = _object(response, what, secrets)
    return token_from(
        body, TokenKind.FB_USER, now=now, default_ttl=default_ttl, what=what, user_id=user_id, scopes=scopes
    )


def parse_app_token(response: httpx.Response, *, secrets: Secrets = ()) -> Secret:
    """Read a ``client_credentials`` answer: the app access token."""
    what = "the app access token request"
    return _token(_object(response, what, secrets), what)


def parse_me(response: httpx.Response, *, secrets: Secrets = ()) -> FacebookUser:
    """Read graph.facebook.com ``/me``: the app-scoped user id and name."""
    what = "the Facebook user (/me)"
    body = _object(response, what, secrets)
    user_id = _id(body.get("id"), "the Facebook user's id")
    if user_id is None:
        raise UnexpectedResponseError(f"{what} lacks an id{_where(response, secrets)}")
    return FacebookUser(user_id=user_id, name=_optional_str(body, "name"))


def _data(body: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnexpectedResponseError(f"{what} has no data list of objects")
    return data


def parse_permissions(response: httpx.Response, *, secrets: Secrets = ()) -> FacebookPermissions:
    """Read ``/me/permissions``: ``{"data": [{"permission", "status"}]}`` sorted by status."""
    what = "the permission list (/me/permissions)"
    by_status: dict[str, list[str]] = {"granted": [], "declined": [], "expired": []}
    for item in _data(_object(response, what, secrets), what):
        name, status = item.get("permission"), item.get("status")
        if isinstance(name, str) and isinstance(status, str) and status in by_status:
            by_status[status].append(name)
    return FacebookPermissions(
        granted=tuple(by_status["granted"]),
        declined=tuple(by_status["declined"]),
        expired=tuple(by_status["expired"]),
    )


def _page_token(
    item: Mapping[str, Any], *, now: datetime, expires_at: datetime | None, page_id: str
) -> AccessToken | None:
    value = item.get("access_token")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UnexpectedResponseError("a Page's access_token is not a string")
    return AccessToken(Secret(value.strip()), TokenKind.FB_PAGE, now, expires_at, user_id=page_id)


def _linked_account(item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    linked = item.get("instagram_business_account")
    if linked is None:
        return None
    if not isinstance(linked, dict):
        raise UnexpectedResponseError("a Page's instagram_business_account is not an object")
    return linked


def parse_pages(
    response: httpx.Response,
    *,
    now: datetime,
    page_token_expires_at: datetime | None,
    secrets: Secrets = (),
) -> tuple[list[FacebookPage], str | None]:
    """Read one page of ``/me/accounts``: the Pages, and ``paging.next`` if there is more."""
    what = "the Page list (/me/accounts)"
    body = _object(response, what, secrets)
    pages: list[FacebookPage] = []
    for item in _data(body, what):
        page_id = _id(item.get("id"), "a Page id")
        if page_id is None:
            raise UnexpectedResponseError(f"{what} holds a Page without an id")
        linked = _linked_account(item)
        tasks = item.get("tasks")
        category = item.get("category")
        pages.append(
            FacebookPage(
                page_id=page_id,
                name=_optional_str(item, "name"),
                category=category if isinstance(category, str) else None,
                tasks=tuple(t for t in tasks if isinstance(t, str)) if isinstance(tasks, list) else (),
                page_token=_page_token(item, now=now, expires_at=page_token_expires_at, page_id=page_id),
                instagram_account_id=_id(linked.get("id"), "an Instagram account id") if linked else None,
            )
        )
    paging = body.get("paging")
    next_url = paging.get("next") if isinstance(paging, dict) else None
    return pages, next_url if isinstance(next_url, str) and next_url else None


def _account_type(linked: Mapping[str, Any]) -> AccountType | None:
    """The linked account's type when Meta says it; ``None`` (unknown) otherwise.

    graph.facebook.com's IG User node has no ``account_type`` field (only Instagram Login's
    ``/me`` has); a business account and a creator account both come back as
    ``instagram_business_account``, so the type is not guessed.
    """
    value = linked.get("account_type")
    if isinstance(value, str) and value.upper() in AccountType.__members__:
        return AccountType(value.upper())
    return None


def parse_page_node(
    response: httpx.Response,
    *,
    now: datetime,
    page_token_expires_at: datetime | None,
    secrets: Secrets = (),
) -> ConnectedPage:
    """Read ``/{page-id}?fields=id,name,access_token,instagram_business_account{id,username}``."""
    what = "the Page (/{page-id})"
    body = _object(response, what, secrets)
    page_id = _id(body.get("id"), "the Page id")
    if page_id is None:
        raise UnexpectedResponseError(f"{what} lacks an id{_where(response, secrets)}")
    token = _page_token(body, now=now, expires_at=page_token_expires_at, page_id=page_id)
    if token is None:
        raise UnexpectedResponseError(
            f"{what} answered without a page access_token{_where(response, secrets)}",
            fix="the person needs a task on the Page (e.g. MANAGE or CREATE_CONTENT) and pages_show_list",
        )
    linked = _linked_account(body)
    account: Profile | None = None
    if linked is not None:
        ig_id = _id(linked.get("id"), "the Instagram account id")
        username = linked.get("username")
        if ig_id is None or not isinstance(username, str) or not username:
            raise UnexpectedResponseError(f"{what}: instagram_business_account lacks id or username")
        account = Profile(
            user_id=ig_id,
            username=username,
            account_type=_account_type(linked),
            name=_optional_str(linked, "name"),
            profile_picture_url=_optional_str(linked, "profile_picture_url"),
        )
    return ConnectedPage(
        page_id=page_id, page_name=_optional_str(body, "name"), page_token=token, instagram_account=account
    )


def _granular(value: object) -> tuple[GranularScope, ...]:
    if not isinstance(value, list):
        return ()
    out: list[GranularScope] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("scope"), str):
            continue
        targets = item.get("target_ids")
        ids: tuple[str, ...] = ()
        if isinstance(targets, list):
            found = (_id(target, "a granular scope target id") for target in targets)
            ids = tuple(target for target in found if target is not None)
        out.append(GranularScope(scope=item["scope"], target_ids=ids))
    return tuple(out)


def parse_debug_token(response: httpx.Response, *, secrets: Secrets = ()) -> TokenDebugInfo:
    """Read ``/debug_token``: ``{"data": {…}}``; an invalid input token is data, not an exception."""
    what = "debug_token"
    secrets = list(secrets)
    body = _object(response, what, secrets)
    data = body.get("data")
    if not isinstance(data, dict):
        raise UnexpectedResponseError(f"{what} has no data object{_where(response, secrets)}")
    raw_error = data.get("error")
    error: TokenDebugError | None = None
    if isinstance(raw_error, dict):
        message = _optional_str(raw_error, "message") or "(no message)"
        error = TokenDebugError(
            code=_int(raw_error.get("code")),
            subcode=_int(raw_error.get("subcode", raw_error.get("error_subcode"))),
            message=_clean(message, secrets),
        )
    token_type = data.get("type")
    return TokenDebugInfo(
        is_valid=data.get("is_valid") is True,
        app_id=_id(data.get("app_id"), "debug_token's app_id"),
        application=_optional_str(data, "application"),
        type=token_type if isinstance(token_type, str) else None,
        user_id=_id(data.get("user_id"), "debug_token's user_id"),
        profile_id=_id(data.get("profile_id"), "debug_token's profile_id"),
        scopes=_scopes(data.get("scopes"), what) or (),
        granular_scopes=_granular(data.get("granular_scopes")),
        issued_at=_timestamp(data.get("issued_at"), "debug_token's issued_at"),
        expires_at=_timestamp(data.get("expires_at"), "debug_token's expires_at"),
        data_access_expires_at=_timestamp(
            data.get("data_access_expires_at"), "debug_token's data_access_expires_at"
        ),
        error=error,
    )


def parse_instagram_user(response: httpx.Response, *, secrets: Secrets = ()) -> Profile:
    """Read an Instagram professional account as graph.facebook.com shows it (``/{ig-user-id}``).

    ``user_id`` is the node's ``id``: the same professional account id as Instagram
    Login's ``/me`` ``user_id``. graph.facebook.com has no ``account_type`` and no
    app-scoped id, so both are ``None``.
    """
    what = "the Instagram account (/{ig-user-id})"
    body = _object(response, what, secrets)
    ig_id = _id(body.get("id"), "the Instagram account id")
    username = body.get("username")
    if ig_id is None or not isinstance(username, str) or not username:
        raise UnexpectedResponseError(f"{what} lacks id or username{_where(response, secrets)}")
    counts = {k: _int(body.get(k)) for k in ("followers_count", "follows_count", "media_count")}
    return Profile(
        user_id=ig_id,
        username=username,
        account_type=_account_type(body),
        name=_optional_str(body, "name"),
        profile_picture_url=_optional_str(body, "profile_picture_url"),
        followers_count=counts["followers_count"],
        follows_count=counts["follows_count"],
        media_count=counts["media_count"],
    )
