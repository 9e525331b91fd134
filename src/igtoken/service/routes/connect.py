"""Onboarding: a connect link's page, the hop to Instagram (or Facebook), and the OAuth callback.

The link's app decides the dialog: Instagram Login apps go to Instagram's authorize
URL; Facebook Login apps go to the Facebook Login dialog, and their callback stores one
account per Facebook Page with a linked Instagram account (page token and user token).
The state is bound to the link and its app, so the callback knows which flow it finishes.

``GET /connect/{code}`` only shows what will be asked (a link preview must not spend
anything). ``GET /connect/{code}/authorize`` issues a fresh OAuth state — single use,
expiring, bound to the link and the app, stored hashed — and sends the browser to
Instagram. ``GET /oauth/callback`` consumes that state (looked up by its SHA-256, so
no comparison leaks how close a guess was), then exchanges the code, reads the
profile, refuses personal accounts, and stores the account and its encrypted token
while spending one use of the link, in one transaction (a link used up or revoked
meanwhile stores nothing). Every refusal is a page that says what happened; none
stores anything.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Annotated, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from igtoken.core.exceptions import (
    AuthorizationDenied,
    AuthorizationError,
    ConflictError,
    NotFoundError,
    PermissionsDeclinedError,
    PersonalAccountError,
)
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.service.app_state import service_state
from igtoken.service.onboarding import (
    connect_denied_page,
    connect_landing_page,
    connect_success_page,
    describe_permission,
    development_mode_page,
    permissions_declined_page,
    personal_account_page,
    stale_link_page,
    wrong_account_page,
)
from igtoken.service.ratelimit import rate_limit
from igtoken.service.views import ConnectLanding, ConnectOutcome
from igtoken.service.wiring import STATE_TTL, ServiceWiring, wiring_of

if TYPE_CHECKING:
    from igtoken.vault import AppRecord, OAuthStateRecord

log = logging.getLogger("igtoken.service.connect")
router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limit("public"))])


#: What the redirect after success appends; the same names already in the URL are replaced.
_APPENDED: Final = frozenset({"account_id", "external_id"})


def _default_scopes(app: AppRecord) -> tuple[str, ...]:
    """What a link asks for when neither it nor its app names scopes, per the app's product."""
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES

        return tuple(app.default_scopes) or DEFAULT_FACEBOOK_SCOPES
    return tuple(app.default_scopes) or ("instagram_business_basic",)


def _provider(app: AppRecord) -> str:
    return "Facebook" if app.flow_kind is FlowKind.FACEBOOK_LOGIN else "Instagram"


#: A link code is ``secrets.token_urlsafe(24)``; this bounds what is even looked up.
LinkCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="the link's code")]


@router.get("/connect/{code}")
async def connect_landing(request: Request, code: LinkCode) -> Response:
    """What the link is for and what Instagram will ask; Continue leads to Instagram."""
    wiring = wiring_of(request)
    link = await wiring.vault.links.get(Secret(code))
    app = await wiring.vault.get_app(link.app_id)
    if not link.is_usable(wiring.clock()):
        return _stale(request, app.name, _GONE[link.status(wiring.clock())])
    wiring.client_config(app)  # an app that cannot complete the flow fails here, not at Instagram
    view = ConnectLanding(
        app_name=app.name,
        permissions=link.scopes or _default_scopes(app),
        continue_url=f"/connect/{code}/authorize",
        # The link's label is the admin's private note ("Alice - trial"); the owner sees the app.
        expires_at=link.expires_at,
        is_reauthorization=link.account_id is not None,
        provider=_provider(app),
    )
    return connect_landing_page(request, view)


@router.get("/connect/{code}/authorize")
async def connect_authorize(
    request: Request, code: LinkCode, rerequest: Annotated[bool, Query()] = False
) -> Response:
    """Issue a state bound to this link and send the browser to Instagram's (or Facebook's) dialog.

    Facebook Login sends ``auth_type=rerequest`` (Meta asks again for declined permissions only
    then) when the person follows "Ask me again" (``?rerequest=1``) and on every re-authorization
    link, whose account may well have declined one before.
    """
    from igtoken.facebook.authorize import facebook_authorization_url
    from igtoken.instagram.authorize import authorization_url

    wiring = wiring_of(request)
    link = await wiring.vault.links.get(Secret(code))
    app = await wiring.vault.get_app(link.app_id)
    now = wiring.clock()
    if not link.is_usable(now):
        return _stale(request, app.name, _GONE[link.status(now)])
    config = wiring.client_config(app)
    scopes = link.scopes or _default_scopes(app)
    _, state = await wiring.vault.states.create(
        app.id,
        redirect_uri=wiring.redirect_uri,
        now=now,
        expires_at=now + STATE_TTL,
        scopes=scopes,
        link_id=link.id,
        account_id=link.account_id,
    )
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        # A Login for Business configuration fixes the permissions itself; a link that names its
        # own scopes asks for those instead.
        config_id = app.config_id if not link.scopes else None
        url = facebook_authorization_url(
            config.facebook,
            state=state.reveal(),
            scopes=None if config_id else scopes,
            config_id=config_id,
            endpoints=config.endpoints,
            rerequest=rerequest or link.account_id is not None,
        )
    else:
        url = authorization_url(
            config.app,
            state=state.reveal(),
            scopes=scopes,
            endpoints=config.endpoints,
            force_reauth=link.account_id is not None,
        )
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    # So that a Cancel or a personal account can offer "try again": the callback page links
    # back to this landing page. Only the callback path gets it, and only for the state's life.
    response.set_cookie(
        RETRY_COOKIE,
        code,
        max_age=int(STATE_TTL.total_seconds()),
        path="/oauth/callback",
        secure=service_state(request).config.https,
        httponly=True,
        samesite="lax",
    )
    return response


#: The cookie that remembers which connect link a sign-in started from (see ``_retry_url``).
RETRY_COOKIE = "igtoken_connect"


async def _retry_url(request: Request, wiring: ServiceWiring, link_id: str | None) -> str | None:
    """The landing page to try again from, if this browser started the sign-in from that link."""
    code = request.cookies.get(RETRY_COOKIE, "")
    if link_id is None or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", code):
        return None
    try:
        link = await wiring.vault.links.get(Secret(code))
    except NotFoundError:
        return None
    return f"/connect/{code}" if link.id == link_id else None


def _stale(request: Request, app_name: str, reason: str) -> Response:
    return stale_link_page(request, ConnectOutcome(app_name=app_name, reason=reason))


#: What a dead link's page says, by :meth:`ConnectLinkRecord.status`.
_GONE = {
    "revoked": "This link was revoked by whoever sent it.",
    "used": "This link has already been used.",
    "expired": "This link has expired.",
}


@router.get("/oauth/callback")
async def oauth_callback(
    request: Request,
    state: Annotated[str | None, Query(max_length=256)] = None,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    error_reason: Annotated[str | None, Query(max_length=256)] = None,
    error_description: Annotated[str | None, Query(max_length=1024)] = None,
    error_code: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Finish onboarding: verify the state, exchange the code, store the account, show the outcome."""
    from igtoken.client.clients import AsyncClient
    from igtoken.refresh import next_refresh_at

    wiring = wiring_of(request)
    now = wiring.clock()
    name = "igtoken"
    if not state:
        return _stale(request, name, "This sign-in did not come from one of our connect links.")
    try:
        issued = await wiring.vault.states.consume(Secret(state), now=now)
    except ConflictError:
        log.warning("OAuth callback replayed")
        return _stale(request, name, "This sign-in was already completed; it cannot be used twice.")
    except NotFoundError:
        log.warning("OAuth callback with an unknown or expired state")
        return _stale(request, name, "This sign-in has expired or is unknown. Open the link again.")
    app = await wiring.vault.get_app(issued.app_id)
    if issued.link_id is not None:
        link = await wiring.vault.links.get_by_id(issued.link_id)
        status = link.status(now)
        if status == "used":
            return _stale(request, app.name, "This link was used meanwhile (perhaps in another tab).")
        if status != "active":
            return _stale(request, app.name, _GONE[status])
    retry = await _retry_url(request, wiring, issued.link_id)
    if error is not None:
        log.info("authorization denied", extra={"error": error, "reason": error_reason})
        outcome = ConnectOutcome(
            app_name=app.name, reason=error_description or error_reason or error, retry_url=retry
        )
        if error_code == "200" and app.flow_kind is FlowKind.FACEBOOK_LOGIN:
            # Facebook's "Permissions error": a development-mode app and a person without a role.
            from igtoken.instagram.authorize import DEVELOPMENT_MODE_FIX

            fix = DEVELOPMENT_MODE_FIX[0].upper() + DEVELOPMENT_MODE_FIX[1:] + "."
            dev = ConnectOutcome(app_name=app.name, fix=fix, retry_url=retry)
            return development_mode_page(request, dev)
        if "professional" in (error_description or "").lower():
            # Instagram offers a personal account no Allow button; the denial says why.
            return personal_account_page(request, outcome)
        return connect_denied_page(request, outcome)
    if not code:
        raise AuthorizationError(
            "Instagram sent the browser back without an authorization code",
            fix="open the connect link again",
        )
    if issued.redirect_uri != wiring.redirect_uri:
        raise AuthorizationError(
            "this sign-in was started for another address of the service",
            fix="open the connect link again",
        )
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        return await _finish_facebook(request, wiring, app, issued, Secret(code), retry)
    client = AsyncClient(wiring.client_config(app), http=wiring.http)
    try:
        result = await client.login(Secret(code), requested_scopes=issued.scopes, now=now)
    except PersonalAccountError as exc:
        outcome = ConnectOutcome(app_name=app.name, reason=exc.message, retry_url=retry)
        return personal_account_page(request, outcome)
    except AuthorizationDenied as exc:
        outcome = ConnectOutcome(app_name=app.name, reason=exc.message, retry_url=retry)
        return connect_denied_page(request, outcome)
    if issued.account_id is not None:
        expected = await wiring.vault.get_account(issued.account_id)
        if expected.ig_user_id is not None and expected.ig_user_id != result.profile.user_id:
            log.warning("re-authorization by another account refused", extra={"account_id": expected.id})
            outcome = ConnectOutcome(
                app_name=app.name,
                username=expected.username,
                reason=f"Instagram logged in @{result.profile.username}.",
                fix=f"Log out of Instagram, then open the link again and log in as @{expected.username}.",
                retry_url=retry,
            )
            return wrong_account_page(request, outcome)
    try:
        # The link's use is spent in the same transaction: of two tabs finishing a single-use
        # link at once exactly one is stored; a link revoked meanwhile stores nothing.
        account = await wiring.vault.save_login(
            app.id, result.profile, result.token, now=now, use_link=issued.link_id
        )
    except ConflictError as exc:
        log.warning("connect link no longer usable at the callback", extra={"link_id": issued.link_id})
        return _stale(request, app.name, f"Nothing was stored: {exc.message}.")
    token = result.token
    due = next_refresh_at(token.issued_at, account.id, expires_at=token.expires_at)
    await wiring.vault.set_next_refresh(account.id, due)
    log.info("account connected", extra={"account_id": account.id, "app_id": app.id})
    outcome = ConnectOutcome(app_name=app.name, username=result.profile.username)
    return await _succeeded(request, wiring, issued.link_id, [account.id], outcome)


async def _finish_facebook(
    request: Request,
    wiring: ServiceWiring,
    app: AppRecord,
    issued: OAuthStateRecord,
    code: Secret,
    retry: str | None = None,
) -> Response:
    """The Facebook Login half of the callback: Pages → accounts, or a page saying why none."""
    from igtoken.client.clients import AsyncClient
    from igtoken.refresh.facebook_accounts import first_check_at, summarize_facebook_login

    now = wiring.clock()
    client = AsyncClient(wiring.client_config(app), http=wiring.http)
    try:
        result = await client.facebook_login(code, requested_scopes=issued.scopes, now=now)
    except PermissionsDeclinedError as exc:
        log.info("required permissions not granted", extra={"permissions": list(exc.permissions)})
        outcome = ConnectOutcome(
            app_name=app.name,
            permissions=tuple((p, describe_permission(p)) for p in exc.permissions),
            ask_again_url=f"{retry}/authorize?rerequest=1" if retry else None,
        )
        return permissions_declined_page(request, outcome)
    except AuthorizationDenied as exc:
        return connect_denied_page(request, ConnectOutcome(app_name=app.name, reason=exc.message))
    if issued.account_id is not None:
        expected = await wiring.vault.get_account(issued.account_id)
        reached = {p.user_id for p in result.instagram_accounts}
        if expected.ig_user_id is not None and expected.ig_user_id not in reached:
            log.warning("re-authorization by another account refused", extra={"account_id": expected.id})
            outcome = ConnectOutcome(
                app_name=app.name,
                username=expected.username,
                reason="None of the Facebook Pages chosen in the login is linked to it.",
                fix="Open the link again, log in as the Facebook user who manages the Page "
                f"{expected.page_name or expected.page_id!r} and choose that Page.",
                retry_url=retry,
            )
            return wrong_account_page(request, outcome)
    try:
        # As for Instagram Login, the link's use is spent in the same transaction.
        accounts = await wiring.vault.save_facebook_login(
            app.id, result, now=now, next_check_at=first_check_at(now), use_link=issued.link_id
        )
    except ConflictError as exc:
        log.warning("connect link no longer usable at the callback", extra={"link_id": issued.link_id})
        return _stale(request, app.name, f"Nothing was stored: {exc.message}.")
    connection = summarize_facebook_login(result, accounts)
    if not connection.accounts:
        names = connection.unlinked_names()
        found = f" (Pages found: {', '.join(names)})" if names else ""
        reason = (
            f"no Facebook Page with a linked Instagram professional account came back{found}. "
            f"{connection.hint}"
        )
        return connect_denied_page(request, ConnectOutcome(app_name=app.name, reason=reason))
    for account in connection.accounts:
        log.info(
            "account connected",
            extra={"account_id": account.id, "app_id": app.id, "page_id": account.page_id},
        )
    outcome = ConnectOutcome(
        app_name=app.name,
        username=connection.accounts[0].username,
        connected=tuple(f"@{a.username} ({a.page_name or a.page_id})" for a in connection.accounts),
        unlinked_pages=tuple(connection.unlinked_names()),
        note=_business_note(connection.business_management_hint),
    )
    return await _succeeded(request, wiring, issued.link_id, [a.id for a in connection.accounts], outcome)


async def _succeeded(
    request: Request,
    wiring: ServiceWiring,
    link_id: str | None,
    account_ids: list[str],
    outcome: ConnectOutcome,
) -> Response:
    """The success page, or, when the link names a ``redirect_url``, a 303 to it.

    The account id (one per connected account) and the link's external id are appended to the
    URL's query, beside what it already had; never a token.
    """
    link = await wiring.vault.links.get_by_id(link_id) if link_id is not None else None
    if link is None or link.redirect_url is None:
        return connect_success_page(request, outcome)
    parts = urlsplit(link.redirect_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _APPENDED]
    query += [("account_id", account_id) for account_id in account_ids]
    if link.external_id is not None:
        query.append(("external_id", link.external_id))
    target = urlunsplit(parts._replace(query=urlencode(query)))
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _business_note(hint: str | None) -> str | None:
    """The success page's remark when ``business_management`` was not granted, in plain words."""
    if hint is None:
        return None
    return (
        "Pages owned by a business portfolio are only listed when you allow managing your business "
        "assets (business_management); if an account is missing, open the link again and allow it."
    )
