"""``igtoken login --with-token``: adopt a token minted elsewhere, checked with Meta first.

The token comes on stdin (as ``gh auth login --with-token`` takes one), never as an argument.
What is checked depends on the app's login product:

- Instagram Login: ``/me`` says whose token it is (a personal account is refused), then a
  refresh call says whether it is long-lived and when it expires. Meta refreshes only
  long-lived tokens: a short-lived one is refused with the fix. A long-lived token at least
  24 hours old comes back refreshed (60 days from now); a younger one comes back as it is,
  with the time it has left (or, where Meta answers "too young" with an error, is counted as
  expiring 59 days from now until its first refresh says exactly). Either way what is stored
  is valid, and its refresh scheduled.
- Facebook Login: ``debug_token`` says whose token it is, for which app, what kind and until
  when. Only a long-lived Facebook *user* token is taken (a page token does not say which
  user manages the Page, and a short-lived one dies within hours); its Pages and their linked
  Instagram accounts are then read exactly as after a browser login.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from igtoken.core.exceptions import AuthorizationError, ConfigurationError, InvalidRequestError

if TYPE_CHECKING:
    from igtoken.client.clients import Client
    from igtoken.core.models import LoginResult
    from igtoken.core.secret import Secret
    from igtoken.facebook.models import FacebookLoginResult
    from igtoken.vault import AppRecord

__all__ = ["adopt_facebook_token", "adopt_instagram_token", "read_token_from_stdin"]

#: What is left of a long-lived Instagram token under 24 hours old, at the least.
_YOUNG_TOKEN_LIFE = timedelta(days=59)
#: Facebook user tokens living longer than this are long-lived (short ones last one to two hours).
_SHORT_FACEBOOK_USER_TOKEN = timedelta(hours=3)


def read_token_from_stdin(text: str) -> Secret:
    """The token from what was read on stdin: one non-empty line (a trailing newline is fine)."""
    from igtoken.core.secret import Secret

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or " " in lines[0]:
        raise ConfigurationError(
            "--with-token reads one token on stdin" + (", got nothing" if not lines else ", got more"),
            fix='pipe it in: printf %s "$IG_TOKEN" | igtoken login --with-token',
        )
    return Secret(lines[0])


def adopt_instagram_token(client: Client, value: Secret, *, now: datetime, relogin: str) -> LoginResult:
    """Check an Instagram Login token with Meta and return it as a login would (long-lived, profile)."""
    from igtoken.core.exceptions import PersonalAccountError
    from igtoken.core.models import AccessToken, AccountType, LoginResult, TokenKind
    from igtoken.instagram.flows import _SWITCH_TO_PROFESSIONAL

    if value.reveal().startswith("EAA"):
        raise ConfigurationError(
            "this is a Facebook token (EAA…), and the app uses Instagram Login",
            fix="give the Facebook Login app: igtoken login --with-token --app NAME",
        )
    profile = client.profile(value)
    if profile.account_type is AccountType.PERSONAL:
        raise PersonalAccountError(
            f"@{profile.username} is a personal Instagram account; the Instagram API serves only "
            "Business and Creator accounts",
            fix=_SWITCH_TO_PROFESSIONAL,
        )
    # Meta refreshes only long-lived tokens; its answer also says how long the token has left.
    # The age is unknown here: Meta's own 24-hour rule decides (a younger token comes back as is).
    probe = AccessToken(
        value, TokenKind.IG_LONG, now - timedelta(days=1, minutes=1), now + timedelta(days=1),
        user_id=profile.user_id,
    )  # fmt: skip
    try:
        token = client.refresh(probe, now=now)
    except InvalidRequestError as exc:
        if "24 hours" in exc.message:
            # Long-lived but under a day old (Meta refuses to refresh it yet): it expires 59 to 60
            # days from now; count from the earlier end, and let the first refresh say for sure.
            token = AccessToken(
                value, TokenKind.IG_LONG, now, now + _YOUNG_TOKEN_LIFE, user_id=profile.user_id
            )
            return LoginResult(token=token, profile=profile)
        raise AuthorizationError(
            f"Meta will not refresh this token for @{profile.username}: it is short-lived (one hour) "
            f"or not an Instagram Login token ({exc.message})",
            fix="exchange it for a 60-day token first (GET graph.instagram.com/access_token?"
            f"grant_type=ig_exchange_token), or simply log in: {relogin}",
        ) from exc
    token = dataclasses.replace(token, user_id=profile.user_id)
    return LoginResult(token=token, profile=profile)


def adopt_facebook_token(
    client: Client, record: AppRecord, value: Secret, *, now: datetime, relogin: str
) -> FacebookLoginResult:
    """Check a Facebook user token with ``debug_token`` and read its Pages as a login would."""
    from igtoken.core.exceptions import NeedsReauthorizationError
    from igtoken.core.models import AccessToken, TokenKind
    from igtoken.facebook.models import ConnectedPage, FacebookLoginResult

    info = client.debug_token(value)
    if not info.is_valid:
        reason = info.error.message if info.error is not None else "no reason given"
        raise NeedsReauthorizationError(
            f"Meta says this token is not valid: {reason}", status_code=0, fix=f"log in instead: {relogin}"
        )
    app_id = record.meta_app_id or record.instagram_app_id
    if info.app_id and info.app_id != app_id:
        raise ConfigurationError(
            f"this token belongs to Meta app {info.app_id}, not to app {record.name!r} ({app_id})",
            fix="give the app it was made with (--app NAME), or register that app: igtoken apps add",
        )
    kind = (info.type or "").upper()
    if kind != "USER":
        raise ConfigurationError(
            f"this is a {kind.lower() or 'non-user'} token; --with-token takes the Facebook user token "
            "(the page tokens are read from it)",
            fix=f"give the long-lived user token the page token came from, or log in: {relogin}",
        )
    if info.expires_at is not None and info.expires_at - now < _SHORT_FACEBOOK_USER_TOKEN:
        raise AuthorizationError(
            f"this Facebook user token expires at {info.expires_at:%Y-%m-%d %H:%M} UTC: it is short-lived",
            fix="exchange it for a long-lived one first (GET graph.facebook.com/oauth/access_token?"
            f"grant_type=fb_exchange_token), or simply log in: {relogin}",
        )
    user_token = AccessToken(
        value, TokenKind.FB_USER, info.issued_at or now, info.expires_at,
        user_id=info.user_id, scopes=info.scopes,
    )  # fmt: skip
    connected: list[ConnectedPage] = []
    for page in client.pages(user_token, now=now):
        if page.instagram_account_id is None:
            connected.append(ConnectedPage(page.page_id, page.name, page.page_token))
            continue
        node = client.page_instagram_account(user_token, page.page_id, now=now)
        connected.append(node if node.page_name else dataclasses.replace(node, page_name=page.name))
    return FacebookLoginResult.from_inspection(user_token, info, connected)
