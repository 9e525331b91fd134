"""Instagram API with Facebook Login: the dialog (E7), the token endpoint's three grants (E8, E9, E9b),
/me, /me/permissions, /me/accounts (E10, E11), Page and IG-user nodes (E12), debug_token (E13)."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from igtoken.emulator.call import Call, json_response, split_field
from igtoken.emulator.common import (
    check_appsecret_proof,
    page_window,
    paged,
    redirect_with,
    require_token,
    split_scopes,
)
from igtoken.emulator.consent import consent_page, message_page
from igtoken.emulator.errors import CANNOT_PARSE, GraphError, PageError, unsupported_get
from igtoken.emulator.instagram import media_node, media_page
from igtoken.emulator.model import (
    FB_CODE_TTL,
    FB_LONG_EXPIRES_IN,
    FB_SCOPES,
    FB_SHORT_TTL,
    IG_KINDS,
    IG_READ_PERMISSION,
    Account,
    App,
    FacebookUser,
    Page,
    Token,
)

USER_FIELDS = {
    "id",
    "name",
    "first_name",
    "last_name",
    "email",
    "verified",
    "locale",
    "timezone",
    "link",
    "gender",
    "updated_time",
    "short_name",
    "picture",
}
PAGE_FIELDS = {
    "id",
    "name",
    "access_token",
    "category",
    "category_list",
    "tasks",
    "instagram_business_account",
}
IG_USER_FIELDS = {
    "id",
    "ig_id",
    "username",
    "name",
    "biography",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
    "website",
}
USED_CODE = "This authorization code has been used."
NO_PERMISSION = "(#10) Application does not have permission for this action"


def _require_instagram_basic(token: Token) -> None:
    """Instagram nodes read through graph.facebook.com need ``instagram_basic`` (IG User, IG Media).

    Meta's reference lists it for every read of an IG User or IG Media node, whatever the token
    (user or Page); without it the answer is (#10).
    """
    if token.kind != "fb_app" and IG_READ_PERMISSION not in token.scopes:
        raise GraphError(10, NO_PERMISSION)


# ---------------------------------------------------------------------------------------------- E7


async def dialog(call: Call) -> Response:
    """E7: www.facebook.com/dialog/oauth — consent page, or the shortcut's redirect (code or token)."""
    call.endpoint = "fb_dialog"
    world = call.world
    params = await call.params() if call.method == "POST" else call.query
    app = world.apps.get(params.get("client_id", ""))
    if app is None:
        raise PageError("Invalid App ID", "The provided app ID does not look like a valid app ID.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        raise PageError(
            "URL blocked", "Invalid redirect_uri: Given URL is not allowed by the Application configuration."
        )
    response_type = params.get("response_type", "code")
    if response_type not in ("code", "token"):
        raise PageError("Error", f"Invalid response_type: {response_type}")
    config_id = params.get("config_id")
    if config_id:
        if config_id != app.fb_config_id:
            raise PageError(
                "Invalid Configuration",
                f"The configuration ID {config_id} is invalid or does not belong to this app. "
                "This message is only shown to developers.",
            )
        scopes = list(app.fb_config_scopes)
    else:
        scopes = split_scopes(params.get("scope", "")) or ["public_profile"]
        bad = [s for s in scopes if s not in FB_SCOPES]
        if bad:
            raise PageError(
                "Invalid Scopes",
                f"Invalid Scopes: {', '.join(bad)}. This message is only shown "
                "to developers. Users of your app will ignore these permissions if present. Please "
                "read the documentation for valid permissions at: "
                "https://developers.facebook.com/docs/facebook-login/permissions",
            )
    state = params.get("state")
    who = params.get("emulator_account")
    decision = params.get("emulator_decision")
    user = world.fb_users_by_username.get(who) if who else None
    # A permission declined before is not asked again unless auth_type=rerequest (Meta's rule); a
    # Login for Business configuration is all or nothing, so nothing can be unticked there.
    rerequest = params.get("auth_type") == "rerequest"
    earlier = set(world.declined_scopes(app.meta_app_id, user.fb_user_id)) if user is not None else set()
    asked = scopes if rerequest or config_id else [s for s in scopes if s not in earlier]
    if decision is None or user is None:
        choices = [(u.username, f"{u.name} ({u.username})") for u in world.fb_users.values()]
        error = f"No Facebook user named {who!r}." if who and user is None else None
        return consent_page(
            product="facebook",
            app_name=app.name,
            host="www.facebook.com",
            accounts=choices,
            selected=who,
            scopes=asked,
            error=error,
            optional=not config_id,
        )
    extra = {"state": state} if state is not None else {}
    if app.mode == "development" and user.username not in app.testers and user.fb_user_id not in app.testers:
        # Login for Business in development mode: the dialog completes, then reports a permissions error.
        return redirect_with(
            redirect_uri,
            {
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
                **extra,
            },
            "_=_",
        )
    if decision != "approve":
        return redirect_with(
            redirect_uri,
            {
                "error_reason": "user_denied",
                "error": "access_denied",
                "error_description": "The user denied your request.",
                **extra,
            },
            "_=_",
        )
    call.account = user.fb_user_id
    declined = [s for s in scopes if s not in asked]
    if not config_id:
        declined += [s for s in _unticked(call, params, asked) if s not in declined]
    scopes = [s for s in scopes if s not in declined]
    world.record_grant(app.meta_app_id, user.fb_user_id, scopes, declined=declined)
    if response_type == "token":
        short = world.mint_token(app.meta_app_id, "fb_user_short", user.fb_user_id, scopes=scopes)
        long = world.mint_token(app.meta_app_id, "fb_user_long", user.fb_user_id, scopes=scopes)
        fragment = urlencode(
            {
                "access_token": short.value,
                "data_access_expiration_time": str(int(short.data_access_expires_at or 0)),
                "expires_in": str(FB_SHORT_TTL),
                "long_lived_token": long.value,
                **extra,
            }
        )
        return RedirectResponse(f"{redirect_uri}#{fragment}", status_code=302)
    code = world.new_code("facebook", app, redirect_uri, user.fb_user_id, scopes)
    return redirect_with(redirect_uri, {"code": code.value, **extra}, "_=_")


def _unticked(call: Call, params: dict[str, str], asked: list[str]) -> list[str]:
    """What the person unticked: the consent form's boxes, or the ``emulator_decline`` shortcut."""
    if "emulator_offered" in params:
        offered = split_scopes(params["emulator_offered"])
        kept = {value for key, value in (call.form or []) if key == "emulator_grant"}
        kept.update(v for k, v in call.pairs if k == "emulator_grant")
        return [s for s in offered if s in asked and s not in kept]
    return [s for s in split_scopes(params.get("emulator_decline", "")) if s in asked]


# -------------------------------------------------------------------------------------- E8, E9, E9b


def _client(call: Call, params: dict[str, str]) -> App:
    basic = call.basic_credentials()
    if basic is not None and call.world.switches.http_basic_client_auth in ("facebook", "all"):
        params.setdefault("client_id", basic[0])
        params.setdefault("client_secret", basic[1])
    client_id = params.get("client_id")
    if not client_id:
        raise GraphError(101, "Missing client_id parameter.")
    app = call.world.apps.get(client_id)
    if app is None:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if not hmac.compare_digest(params.get("client_secret", ""), app.meta_app_secret):
        raise GraphError(1, "Error validating client secret.")
    return app


def _bearer(token: Token, expires_in: int | None) -> Response:
    body: dict[str, Any] = {"access_token": token.value, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return json_response(body)


async def access_token(call: Call) -> Response:
    """E8/E9/E9b: graph.facebook.com/oauth/access_token, GET or POST, for every Facebook grant."""
    world = call.world
    params = await call.params()
    grant = params.get("grant_type") or ("authorization_code" if "code" in params else "")
    call.endpoint = {
        "authorization_code": "fb_code_exchange",
        "fb_exchange_token": "fb_exchange_token",
        "client_credentials": "fb_client_credentials",
    }.get(grant, "fb_access_token")
    app = _client(call, params)
    if grant == "client_credentials":
        return _bearer(world.mint_token(app.meta_app_id, "fb_app", app.meta_app_id), None)
    if grant == "fb_exchange_token":
        token = world.check_token(params.get("fb_exchange_token") or None, "facebook")
        if token.kind not in ("fb_user_short", "fb_user_long") or token.app_id != app.meta_app_id:
            raise GraphError(190, CANNOT_PARSE)
        call.token, call.account = token, token.owner
        fresh = world.mint_token(app.meta_app_id, "fb_user_long", token.owner, scopes=token.scopes)
        return _bearer(fresh, FB_LONG_EXPIRES_IN)
    if grant != "authorization_code":
        raise GraphError(100, f"Unsupported grant_type: {grant or '(none)'}")
    if not params.get("redirect_uri"):
        raise GraphError(100, "Missing redirect_uri parameter.")
    with world.lock:
        code = world.codes.get(params.get("code", ""))
        if code is None or code.product != "facebook" or code.app_id != app.meta_app_id:
            raise GraphError(100, "Invalid verification code format.")
        if code.used:
            raise GraphError(
                100,
                USED_CODE,
                subcode=36009,
                headers={"www-authenticate": f'OAuth "Facebook Platform" "invalid_code" "{USED_CODE}"'},
            )
        if world.clock.timestamp() - code.created_at > FB_CODE_TTL:
            raise GraphError(100, "This authorization code has expired.")
        if code.redirect_uri != params["redirect_uri"]:
            raise GraphError(
                100,
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
            )
        code.used = True
        long = world.switches.fb_code_token_lifetime == "long"  # noqa: S105 - a switch value
        kind = "fb_user_long" if long else "fb_user_short"
        token = world.mint_token(app.meta_app_id, kind, code.subject, scopes=code.scopes)
    call.token, call.account = token, token.owner
    return _bearer(token, FB_LONG_EXPIRES_IN if kind == "fb_user_long" else FB_SHORT_TTL)


# ---------------------------------------------------------------------------------- E10, E11, E12


def _user_json(user: FacebookUser, names: list[str]) -> dict[str, Any]:
    first, _, last = user.name.partition(" ")
    values: dict[str, Any] = {
        "id": user.fb_user_id,
        "name": user.name,
        "first_name": first,
        "last_name": last,
        "short_name": first,
        "email": f"{user.username}@example.invalid",
        "verified": True,
        "locale": "en_US",
        "timezone": 0,
        "link": f"https://www.facebook.com/app_scoped_user_id/{user.fb_user_id}/",
        "gender": "",
        "updated_time": "2026-01-01T00:00:00+0000",
        "picture": {"data": {"url": f"https://graph.facebook.invalid/{user.fb_user_id}/picture"}},
    }
    return _pick_fields(values, names, USER_FIELDS, "User")


def _pick_fields(
    values: dict[str, Any], names: list[str], known: Collection[str], node_type: str
) -> dict[str, Any]:
    """The asked ``names`` of a node (``id`` always), as Graph answers ``?fields=`` (unknown: #100)."""
    out: dict[str, Any] = {}
    for name in names:
        if name not in known:
            raise GraphError(
                100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
        out[name] = values[name]
    out.setdefault("id", values["id"])
    return out


def _ig_user_json(account: Account, names: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": account.ig_id,
        "ig_id": int(account.ig_id) % 10**10,
        "username": account.username,
        "name": account.name,
        "biography": account.biography,
        "profile_picture_url": account.profile_picture_url,
        "followers_count": account.followers_count,
        "follows_count": account.follows_count,
        "media_count": account.media_count,
        "website": "",
    }
    return _pick_fields(values, names, IG_USER_FIELDS, "IGUser")


def _page_json(call: Call, token: Token, page: Page, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in names:
        # Field expansion ("instagram_business_account{id,username}") is Graph's; only the
        # linked Instagram account is expandable on a Page here.
        name, subfields = split_field(field)
        if name not in PAGE_FIELDS or (subfields is not None and name != "instagram_business_account"):
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({field}) on node type (Page)")
        if name == "access_token":
            out[name] = token.value if token.kind == "fb_page" else call.world.page_token(token, page).value
        elif name == "instagram_business_account":
            if page.instagram_account_id is not None:
                account = call.world.accounts.get(page.instagram_account_id)
                if subfields and account is not None:
                    _require_instagram_basic(token)
                    out[name] = _ig_user_json(account, subfields)
                else:
                    out[name] = {"id": page.instagram_account_id}
        elif name == "category_list":
            out[name] = [{"id": "2301", "name": page.category}]
        elif name == "tasks":
            out[name] = list(page.tasks)
        elif name == "category":
            out[name] = page.category
        elif name == "name":
            out[name] = page.name
    out.setdefault("id", page.page_id)
    return out


def _user_of(call: Call, token: Token) -> FacebookUser:
    user = call.world.fb_users.get(token.owner)
    if user is None or token.kind == "fb_app":
        raise GraphError(
            2500, "An active access token must be used to query information about the current user."
        )
    return user


def _visible_pages(call: Call, token: Token, user: FacebookUser) -> list[Page]:
    pages = [call.world.pages[p] for p in user.page_ids if p in call.world.pages]
    if "business_management" not in token.scopes:
        # Since v17 Pages owned by a business portfolio are hidden without business_management (G21).
        pages = [p for p in pages if not p.business_owned]
    return pages


def _authed(call: Call) -> Token:
    token = require_token(call, "facebook")
    check_appsecret_proof(call, token)
    return token


async def node(call: Call) -> Response:
    """/me and /{id}: the user, a Page, or a linked Instagram business account."""
    world = call.world
    node_id = call.segments[0]
    call.endpoint = "fb_me" if node_id == "me" else "fb_node"
    token = _authed(call)
    if token.kind == "fb_page" and node_id in ("me", token.subject):
        page = world.pages[token.subject]
        return json_response(
            _page_json(call, token, page, call.fields(("name", "id"))), headers=call.usage_headers
        )
    if token.kind in IG_KINDS:
        raise GraphError(190, CANNOT_PARSE)
    if node_id == "me" or node_id == token.owner:
        user = _user_of(call, token)
        return json_response(_user_json(user, call.fields(("name", "id"))), headers=call.usage_headers)
    target = world.pages.get(node_id)
    if (
        target is not None
        and token.kind != "fb_app"
        and target.page_id in world.fb_users[token.owner].page_ids
    ):
        call.endpoint = "fb_page"
        return json_response(
            _page_json(call, token, target, call.fields(("name", "id"))), headers=call.usage_headers
        )
    account = world.accounts.get(node_id)
    if account is not None and _manages_ig(call, token, node_id):
        call.endpoint = "fb_ig_user"
        _require_instagram_basic(token)
        return json_response(_ig_user_json(account, call.fields(("id",))), headers=call.usage_headers)
    if node_id[:2] in ("17", "18") and token.kind != "fb_app":
        for managed in _managed_accounts(call, token):
            answer = media_node(call, managed, node_id)
            if answer is not None:
                call.endpoint = "fb_media_node"
                _require_instagram_basic(token)
                return answer
    raise unsupported_get(node_id)


def _managed_accounts(call: Call, token: Token) -> list[Account]:
    """The Instagram business accounts linked to the Pages this token reaches."""
    world = call.world
    if token.kind == "fb_page":
        page_ids = [token.subject]
    else:
        user = world.fb_users.get(token.owner)
        page_ids = user.page_ids if user is not None else []
    linked = (world.pages[p].instagram_account_id for p in page_ids if p in world.pages)
    return [world.accounts[i] for i in linked if i is not None and i in world.accounts]


def _manages_ig(call: Call, token: Token, ig_id: str) -> bool:
    world = call.world
    if token.kind == "fb_page":
        return world.pages[token.subject].instagram_account_id == ig_id
    user = world.fb_users.get(token.owner)
    if user is None:
        return False
    return any(world.pages[p].instagram_account_id == ig_id for p in user.page_ids if p in world.pages)


async def permissions(call: Call) -> Response:
    """E10: /me/permissions — what the user granted."""
    call.endpoint = "fb_permissions"
    token = _authed(call)
    _user_of(call, token)
    if call.segments[0] not in ("me", token.owner):
        raise unsupported_get(call.segments[0])
    data = [{"permission": s, "status": "granted"} for s in token.scopes]
    declined = call.world.declined_scopes(token.app_id, token.owner)
    data += [{"permission": s, "status": "declined"} for s in declined if s not in token.scopes]
    return json_response({"data": data}, headers=call.usage_headers)


async def accounts(call: Call) -> Response:
    """E11: /me/accounts — the user's Pages with page tokens."""
    call.endpoint = "fb_accounts"
    token = _authed(call)
    user = _user_of(call, token)
    if call.segments[0] not in ("me", token.owner):
        raise unsupported_get(call.segments[0])
    if "pages_show_list" not in token.scopes:
        raise GraphError(10, "(#10) This endpoint requires the 'pages_show_list' permission.")
    pages = _visible_pages(call, token, user)
    names = call.fields(("access_token", "category", "category_list", "name", "id", "tasks"))
    start, stop = page_window(call, len(pages))
    rows = [_page_json(call, token, p, names) for p in pages[start:stop]]
    return json_response(paged(call, rows, start, stop, len(pages)), headers=call.usage_headers)


async def ig_media(call: Call) -> Response:
    """/{ig-id}/media on graph.facebook.com, for a business account linked to the user's Page."""
    call.endpoint = "fb_ig_media"
    token = _authed(call)
    ig_id = call.segments[0]
    account = call.world.accounts.get(ig_id)
    if account is None or not _manages_ig(call, token, ig_id):
        raise unsupported_get(ig_id)
    _require_instagram_basic(token)
    return media_page(call, account)


# --------------------------------------------------------------------------------------------- E13


async def debug_token(call: Call) -> Response:
    """E13: /debug_token — inspect any token with an app token (or a user token of the same app)."""
    call.endpoint = "fb_debug_token"
    world = call.world
    caller = require_token(call, "facebook")
    input_value = call.query.get("input_token")
    if not input_value:
        raise GraphError(100, "(#100) The parameter input_token is required")
    token = world.tokens.get(input_value) or world.app_literal_token(input_value)
    if token is None:
        return json_response(
            {"data": {"error": {"code": 190, "message": CANNOT_PARSE}, "is_valid": False, "scopes": []}},
            headers=call.usage_headers,
        )
    if caller.kind != "fb_app" and caller.app_id != token.app_id:
        raise GraphError(
            100,
            "(#100) You must provide an app access token, or a user access token that is an "
            "owner or developer of the app",
        )
    app = world.apps[token.app_id]
    kind = {"fb_page": "PAGE", "fb_app": "APP"}.get(token.kind, "USER")
    data: dict[str, Any] = {
        "app_id": app.meta_app_id,
        "type": kind,
        "application": app.name,
        "expires_at": int(token.expires_at or 0),
        "is_valid": True,
        "issued_at": int(token.issued_at),
        "scopes": list(token.scopes),
    }
    if token.data_access_expires_at is not None:
        until = world.data_access_until(token)
        data["data_access_expires_at"] = int(until if until is not None else token.data_access_expires_at)
    if kind != "APP":
        data["user_id"] = token.owner
        data["granular_scopes"] = _granular(call, token)
    if kind == "PAGE":
        data["profile_id"] = token.subject
    problem = world.token_problem(token, world.clock.timestamp())
    if problem is not None:
        data["is_valid"] = False
        data["error"] = {"code": problem.code, "message": problem.message, "subcode": problem.subcode}
    return json_response({"data": data}, headers=call.usage_headers)


def _granular(call: Call, token: Token) -> list[dict[str, Any]]:
    world = call.world
    user = world.fb_users.get(token.owner)
    page_ids = [p for p in user.page_ids if p in world.pages] if user is not None else []
    ig_ids = [world.pages[p].instagram_account_id for p in page_ids if world.pages[p].instagram_account_id]
    out: list[dict[str, Any]] = []
    for scope in token.scopes:
        entry: dict[str, Any] = {"scope": scope}
        if scope.startswith("pages_"):
            entry["target_ids"] = page_ids
        elif scope.startswith("instagram_"):
            entry["target_ids"] = ig_ids
        out.append(entry)
    return out


async def other(call: Call) -> Response:
    """Anything else on graph.facebook.com: 'Unsupported get request' (100/33)."""
    call.endpoint = "fb_graph_unknown"
    raise unsupported_get(call.segments[0] if call.segments else "", call.method.lower())


async def www_other(call: Call) -> Response:
    """Anything else on www.facebook.com."""
    call.endpoint = "fb_www_unknown"
    return message_page("This content isn't available right now", "The link may be broken.", 404)
