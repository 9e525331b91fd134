"""Instagram API with Instagram Login: authorize (E1, E1b), code exchange (E2), ig_exchange_token (E3),
ig_refresh_token (E4), /me and /{id} (E5), media (E6). Rules and wording from the contract §11.1."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.responses import RedirectResponse, Response

from igtoken.emulator.call import Call, json_response, split_field
from igtoken.emulator.common import (
    not_found_page,
    page_window,
    paged,
    redirect_with,
    require_token,
    split_scopes,
)
from igtoken.emulator.consent import consent_page
from igtoken.emulator.errors import GraphError, InstagramError, unsupported_get
from igtoken.emulator.model import (
    DAY,
    IG_CODE_TTL,
    IG_LOGIN_SCOPES,
    IG_OLD_SCOPES,
    IG_OLD_SCOPES_CUTOFF,
    MEDIA_FIELDS,
    Account,
    App,
    Token,
    find_media,
    media_object,
)

VERIFICATION_MESSAGE = (
    "Error validating verification code. Please make sure your redirect_uri is identical to the one you used "
    "in the OAuth dialog request."
)
USER_FIELDS = frozenset(
    {
        "id",
        "user_id",
        "username",
        "name",
        "account_type",
        "profile_picture_url",
        "followers_count",
        "follows_count",
        "media_count",
        "biography",
    }
)

# ---------------------------------------------------------------------------------------------- E1


def _ig_scopes(call: Call, raw: str) -> list[str]:
    scopes = split_scopes(raw)
    now = call.world.clock.timestamp()
    granted: list[str] = []
    bad: list[str] = []
    for scope in scopes:
        if scope in IG_LOGIN_SCOPES:
            granted.append(scope)
        elif scope in IG_OLD_SCOPES and now < IG_OLD_SCOPES_CUTOFF:
            granted.append(IG_OLD_SCOPES[scope])
        else:
            bad.append(scope)
    if bad or not scopes:
        raise InstagramError(f"Invalid scope: {bad!r}")
    if "instagram_business_basic" not in granted:
        # S2: instagram_business_basic (or the FB name instagram_basic) must be among the scopes.
        raise InstagramError("Invalid scope: instagram_business_basic is required")
    return granted


async def authorize(call: Call) -> Response:
    """E1: www.instagram.com/oauth/authorize — consent page, or the test shortcut's redirect."""
    call.endpoint = "ig_authorize"
    world = call.world
    params = await call.params() if call.method == "POST" else call.query
    with world.lock:
        app = world.apps_by_ig_id.get(params.get("client_id", ""))
    if app is None:
        raise InstagramError("Invalid platform app")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        raise InstagramError("Invalid redirect_uri")
    if params.get("response_type") != "code":
        raise InstagramError('Only response type "code" and "token" is allowed')
    scopes = _ig_scopes(call, params.get("scope", ""))
    state = params.get("state")
    who = params.get("emulator_account")
    decision = params.get("emulator_decision")
    account = world.accounts_by_username.get(who) if who else None
    if decision is None or account is None:
        choices = [
            (a.username, f"{a.username} ({a.account_type.lower()})")
            for a in list(world.accounts.values())[:500]
        ]
        error = f"No Instagram account named {who!r}." if who and account is None else None
        if decision is not None and who is None:
            error = "Choose an account first (emulator_account=<username>)."
        return consent_page(
            product="instagram",
            app_name=app.name,
            host="www.instagram.com",
            accounts=choices,
            selected=who,
            scopes=scopes,
            error=error,
        )
    return _decide(call, app, account, redirect_uri, scopes, state, decision)


def _decide(
    call: Call,
    app: App,
    account: Account,
    redirect_uri: str,
    scopes: list[str],
    state: str | None,
    decision: str,
) -> Response:
    extra = {"state": state} if state is not None else {}
    if app.mode == "development" and account.username not in app.testers and account.ig_id not in app.testers:
        raise InstagramError("Insufficient developer role")
    if decision != "approve":
        return redirect_with(
            redirect_uri,
            {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "The user denied your request",
                **extra,
            },
            "_",
        )
    if account.account_type == "PERSONAL":
        # Personal accounts cannot finish Business Login (§8.6); Meta's screen offers no Allow, so the
        # app only ever sees a denial.
        return redirect_with(
            redirect_uri,
            {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "Instagram Login requires a professional (business or creator) account",
                **extra,
            },
            "_",
        )
    code = call.world.new_code("instagram", app, redirect_uri, account.ig_id, scopes)
    call.account = account.username
    return redirect_with(redirect_uri, {"code": code.value, **extra}, "_")


async def api_authorize(call: Call) -> Response:
    """E1b: api.instagram.com/oauth/authorize — 302 to www.instagram.com, or "page isn't available"."""
    call.endpoint = "ig_api_authorize"
    if call.world.switches.api_host_authorize == "page_unavailable":
        return not_found_page()
    target = call.url_for("www.instagram.com", "/oauth/authorize")
    query = call.request.url.query
    return RedirectResponse(f"{target}?{query}" if query else target, status_code=302)


async def www_other(call: Call) -> Response:
    """Anything else on www.instagram.com / api.instagram.com: Instagram's 404 page."""
    call.endpoint = "ig_www_unknown"
    return not_found_page()


# ---------------------------------------------------------------------------------------------- E2


async def code_exchange(call: Call) -> Response:
    """E2: POST api.instagram.com/oauth/access_token — code for a one-hour token."""
    call.endpoint = "ig_code_exchange"
    world = call.world
    if call.method != "POST":
        raise InstagramError("Invalid request: this endpoint only accepts POST")
    form = await call.read_form()
    basic = call.basic_credentials()
    if basic is not None and world.switches.http_basic_client_auth == "all":
        form.setdefault("client_id", basic[0])
        form.setdefault("client_secret", basic[1])
    for name in ("client_id", "client_secret", "grant_type", "redirect_uri", "code"):
        if not form.get(name):
            raise InstagramError(f"Missing required field {name}")
    with world.lock:
        app = world.apps_by_ig_id.get(form["client_id"])
        if app is None or app.instagram_app_secret is None:
            raise InstagramError("Invalid platform app")
        if not hmac.compare_digest(form["client_secret"], app.instagram_app_secret):
            raise InstagramError(VERIFICATION_MESSAGE)
        if form["grant_type"] != "authorization_code":
            raise InstagramError("Invalid grant_type")
        code = world.codes.get(form["code"])
        if code is None or code.product != "instagram" or code.app_id != app.meta_app_id:
            raise InstagramError("Invalid authorization code")
        if code.used:
            if world.switches.code_reuse_message == "documented":
                raise InstagramError("Matching code was not found or was already used")
            raise InstagramError("This authorization code has been used")
        now = world.clock.timestamp()
        if now - code.created_at > IG_CODE_TTL:
            raise InstagramError("This authorization code has expired")
        if code.redirect_uri != form["redirect_uri"]:
            raise InstagramError(VERIFICATION_MESSAGE)
        code.used = True
        token = world.mint_token(app.meta_app_id, "ig_short", code.subject, scopes=code.scopes)
        world.record_grant(app.meta_app_id, code.subject, code.scopes)
        scoped = world.scoped_id(app.meta_app_id, code.subject)
    call.token = token
    call.account = world.accounts[code.subject].username
    switches = world.switches
    if switches.code_exchange_shape == "documented":
        return json_response(
            {
                "data": [
                    {"access_token": token.value, "user_id": scoped, "permissions": ",".join(token.scopes)}
                ]
            }
        )
    perms: Any = list(token.scopes) if switches.permissions_format == "list" else ",".join(token.scopes)
    user_id: Any = int(scoped) if switches.user_id_type == "number" else scoped
    return json_response({"access_token": token.value, "user_id": user_id, "permissions": perms})


# ---------------------------------------------------------------------------------------------- E3


async def exchange_token(call: Call) -> Response:
    """E3: graph.instagram.com/access_token?grant_type=ig_exchange_token — short for long-lived."""
    call.endpoint = "ig_exchange_token"
    world = call.world
    params = await call.params()
    if params.get("grant_type") != "ig_exchange_token":
        raise GraphError(100, "Unsupported grant_type")
    token = require_token(call, "instagram", params)
    with world.lock:
        app = world.apps[token.app_id]
        secret = params.get("client_secret", "")
        if not app.instagram_app_secret or not hmac.compare_digest(secret, app.instagram_app_secret):
            raise GraphError(100, "Error validating client secret.")
        if token.kind != "ig_short" and world.switches.ig_exchange_non_short == "error":
            raise GraphError(100, "Invalid parameter")
        fresh = world.mint_token(app.meta_app_id, "ig_long", token.subject, scopes=token.scopes)
    return _long_lived(fresh, int((fresh.expires_at or 0) - fresh.issued_at))


def _long_lived(token: Token, expires_in: int) -> Response:
    return json_response({"access_token": token.value, "token_type": "bearer", "expires_in": expires_in})


# ---------------------------------------------------------------------------------------------- E4


async def refresh_token(call: Call) -> Response:
    """E4: graph.instagram.com/refresh_access_token — 60 more days for a token at least a day old."""
    call.endpoint = "ig_refresh_token"
    world = call.world
    if call.method != "GET":
        raise GraphError(100, f"Unsupported request - method type: {call.method.lower()}")
    if call.query.get("grant_type") != "ig_refresh_token":
        raise GraphError(100, "Unsupported grant_type")
    token = require_token(call, "instagram")
    if token.kind != "ig_long":
        raise GraphError(100, "Invalid parameter")
    if "instagram_business_basic" not in token.scopes:
        raise GraphError(10, "(#10) Application does not have permission for this action")
    now = world.clock.timestamp()
    if now - token.refreshed_at < DAY:
        if world.switches.refresh_under_24h == "error":
            raise GraphError(
                100, "(#100) The access token can only be refreshed after it is at least 24 hours old"
            )
        return _long_lived(token, int((token.expires_at or now) - now))
    fresh, expires_in = world.refresh(token, now)
    return _long_lived(fresh, expires_in)


# ------------------------------------------------------------------------------------------- E5, E6


def _user_json(call: Call, token: Token, account: Account, names: list[str]) -> dict[str, Any]:
    scoped = call.world.scoped_id(token.app_id, account.ig_id)
    values: dict[str, Any] = {
        "id": scoped,
        "user_id": account.ig_id,
        "username": account.username,
        "name": account.name,
        "account_type": account.account_type,
        "profile_picture_url": account.profile_picture_url,
        "followers_count": account.followers_count,
        "follows_count": account.follows_count,
        "media_count": account.media_count,
        "biography": account.biography,
    }
    out: dict[str, Any] = {}
    for name in names:
        if name not in USER_FIELDS:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node type (User)")
        out[name] = values[name]
    out.setdefault("id", scoped)
    return out


def render_media(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The asked-for fields of one media object.

    ``children{…}`` expands album items by the same rules; ``owner{id,username}`` expands the owner.
    """
    out: dict[str, Any] = {}
    for field in names:
        name, subfields = split_field(field)
        if name not in MEDIA_FIELDS or (subfields is not None and name not in ("children", "owner")):
            raise GraphError(
                100, f"(#100) Tried accessing nonexisting field ({field}) on node type (IGMedia)"
            )
        if name not in values:
            continue
        if name == "children":
            out[name] = {"data": [render_media(child, subfields or ["id"]) for child in values[name]]}
        elif name == "owner" and subfields:
            owner = {"id": values["owner"]["id"], "username": values["username"]}
            for sub in subfields:
                if sub not in owner:
                    raise GraphError(
                        100, f"(#100) Tried accessing nonexisting field ({sub}) on node type (User)"
                    )
            out[name] = {k: owner[k] for k in subfields} | {"id": owner["id"]}
        else:
            out[name] = values[name]
    out.setdefault("id", values["id"])
    return out


def media_node(call: Call, account: Account, node: str) -> Response | None:
    """``/{media-id}`` for a post or album item of ``account``; None if the id is not one of them."""
    values = find_media(account, node)
    if values is None:
        return None
    return json_response(render_media(values, call.fields(("id",))), headers=call.usage_headers)


def media_page(call: Call, account: Account) -> Response:
    """A page of an account's media, newest first, with cursors and ``next`` (graph.facebook.com too)."""
    names = call.fields(("id",))
    total = account.media_count
    start, stop = page_window(call, total)
    rows = [render_media(media_object(account, total - i), names) for i in range(start, stop)]
    if not rows:
        render_media({"id": ""}, names)  # an unknown field is refused even on an empty page
    return json_response(paged(call, rows, start, stop, total), headers=call.usage_headers)


def _own_account(call: Call, token: Token, node: str) -> Account:
    world = call.world
    account = world.accounts.get(token.subject)
    if account is None:
        raise unsupported_get(node)
    if node in ("me", account.ig_id) or world.scoped_index.get(node) == (token.app_id, account.ig_id):
        return account
    raise unsupported_get(node)


async def me(call: Call) -> Response:
    """E5: /me and /{id} on graph.instagram.com (or a media node the token's account owns)."""
    node = call.segments[0]
    call.endpoint = "ig_me" if node == "me" else "ig_user"
    token = require_token(call, "instagram")
    account = call.world.accounts.get(token.subject)
    if account is not None and node[:2] in ("17", "18"):
        answer = media_node(call, account, node)
        if answer is not None:
            call.endpoint = "ig_media_node"
            return answer
    account = _own_account(call, token, node)
    return json_response(_user_json(call, token, account, call.fields(("id",))), headers=call.usage_headers)


async def media(call: Call) -> Response:
    """E6: /me/media and /{id}/media."""
    call.endpoint = "ig_media"
    token = require_token(call, "instagram")
    return media_page(call, _own_account(call, token, call.segments[0]))


async def graph_other(call: Call) -> Response:
    """Anything else on graph.instagram.com: Graph's 'Unsupported get request' (100/33)."""
    call.endpoint = "ig_graph_unknown"
    raise unsupported_get(call.segments[0] if call.segments else "", call.method.lower())
