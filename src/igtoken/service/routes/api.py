"""The token API under ``/v1``: accounts, their tokens, on-demand refresh, and a Graph proxy.

Every route needs an API key (``Authorization: Bearer igt_…`` or ``X-API-Key``); a key
scoped to some accounts sees only those, and is refused (403) before anything about
another account is looked up. Every token read — and every proxied call, which uses
the token on the caller's behalf — is an audit event naming the key.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from pydantic_core import to_json

from igtoken.core.exceptions import ThrottledError
from igtoken.core.models import FlowKind, TokenKind
from igtoken.core.usage import Usage, parse_usage
from igtoken.facebook.appsecret_proof import appsecret_proof
from igtoken.service.apikeys import api_principal, capable, require_scope, required_key
from igtoken.service.app_state import service_state
from igtoken.service.interfaces import ApiKeyPrincipal
from igtoken.service.openapi import ErrorOut
from igtoken.service.proxy import CALLER_CREDENTIALS, check_graph_path, proxy_paging, read_body
from igtoken.service.ratelimit import rate_limit
from igtoken.service.wiring import require_usable, token_body, wiring_of

log = logging.getLogger("igtoken.service.api")
router = APIRouter(prefix="/v1", tags=["tokens"])
#: The token route alone, the busiest: the service puts it ahead of every other route, so its
#: requests are matched at once instead of after some forty other routes' patterns.
token_router = APIRouter(prefix="/v1", tags=["tokens"])
# Every route is charged to the API rate limit: as a dependency, except the token route, the
# busiest, which charges it first thing itself (each dependency costs it a noticeable share of CPU).
_charge_api = rate_limit("api")
_LIMITED = [Depends(_charge_api)]

AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the account's id")]
Principal = Annotated[ApiKeyPrincipal, Depends(api_principal)]
# The key's principal, refused (403) unless the key has the capability the route needs.
ReadsAccounts = Annotated[ApiKeyPrincipal, Depends(capable("accounts:read"))]
Refreshes = Annotated[ApiKeyPrincipal, Depends(capable("refresh"))]
Proxies = Annotated[ApiKeyPrincipal, Depends(capable("graph"))]

#: Meta's usage headers, passed through so callers can pace themselves.
USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-ad-account-usage", "x-fb-trace-id")
#: Request headers never forwarded to Meta (ours, hop-by-hop, or the caller's own credentials).
_DROP_REQUEST_HEADERS = frozenset(
    {"host", "authorization", "x-api-key", "cookie", "content-length", "connection", "accept-encoding"}
)
_NO_STORE = {"Cache-Control": "no-store"}


class AccountOut(BaseModel):
    """A connected account as the API shows it."""

    id: str
    app_id: str
    username: str | None
    account_type: str | None
    ig_user_id: str | None
    status: str = Field(description="active, needs_reauth, deauthorized or deleted")
    status_reason: str | None
    scopes: list[str]
    created_at: datetime
    updated_at: datetime
    external_id: str | None = Field(
        default=None, description="your id, from the connect link it came through"
    )
    label: str | None = Field(default=None, description="the label of the connect link it came through")


class AccountList(BaseModel):
    """The accounts an API key may read."""

    accounts: list[AccountOut]


class TokenMeta(BaseModel):
    """What is known about a token, without the token."""

    account_id: str
    kind: str
    issued_at: datetime
    expires_at: datetime | None
    user_id: str | None
    scopes: list[str]
    next_refresh_at: datetime | None


class TokenOut(TokenMeta):
    """A valid access token for the account."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - a token type, not a token


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no, unknown or revoked API key"},
    403: {"model": ErrorOut, "description": "the key is not scoped to this account"},
    404: {"model": ErrorOut, "description": "no such account, or its data was deleted"},
    409: {"model": ErrorOut, "description": "needs re-authorization; `reauthorize_url` is the link to send"},
    429: {"model": ErrorOut, "description": "rate limited (ours or Meta's); see Retry-After"},
    503: {
        "model": ErrorOut,
        "description": "the database is locked, damaged or unreachable; see Retry-After",
    },
}


def _account_out(account: Any) -> AccountOut:
    return AccountOut(
        id=account.id,
        app_id=account.app_id,
        username=account.username,
        account_type=None if account.account_type is None else str(account.account_type),
        ig_user_id=account.ig_user_id,
        status=str(account.status),
        status_reason=account.status_reason,
        scopes=list(account.scopes),
        created_at=account.created_at,
        updated_at=account.updated_at,
        external_id=account.external_id,
        label=account.label,
    )


@router.get("/accounts", response_model=AccountList, responses={401: _ERRORS[401]}, dependencies=_LIMITED)
async def list_accounts(
    request: Request,
    principal: ReadsAccounts,
    external_id: Annotated[
        str | None, Query(min_length=1, max_length=200, description="only accounts with this external id")
    ] = None,
) -> AccountList:
    """The accounts this API key may read (with ``external_id``: those connected under that id)."""
    accounts = await wiring_of(request).vault.list_accounts(external_id=external_id)
    return AccountList(accounts=[_account_out(a) for a in accounts if principal.may_read(a.id)])


@router.get("/accounts/{account_id}", response_model=AccountOut, responses=_ERRORS, dependencies=_LIMITED)
async def get_account(request: Request, account_id: AccountId, principal: ReadsAccounts) -> AccountOut:
    """One account."""
    require_scope(principal, account_id)
    return _account_out(await wiring_of(request).vault.get_account(account_id))


@token_router.get("/accounts/{account_id}/token", response_model=TokenOut, responses=_ERRORS)
async def get_token(request: Request, account_id: AccountId) -> Response:
    """A valid access token for the account, or the precise reason there is none."""
    await _charge_api(request)
    # The key is taken here, not by a dependency: each dependency costs the busiest route a
    # noticeable share of its CPU (bench/token_api). It is verified on the vault's thread below.
    key = required_key(request)
    wiring = wiring_of(request)
    now = wiring.clock()
    # One hop to the vault: the key is verified and its scope checked, then the account is
    # checked, its token read, and the read recorded (committed) before the token is handed out.
    stored = await wiring.serve_token(key, account_id, now=now)
    if stored.token.is_expired(now):
        from igtoken.core.exceptions import TokenExpiredError

        expired = TokenExpiredError(
            f"the token of account {account_id!r} expired at {stored.token.expires_at:%Y-%m-%d %H:%M} UTC",
            fix="the account's owner must log in again (re-authorization link)",
        )
        # Marked as the refresh worker would (event, link, webhook): every reader says so from now on.
        await wiring.token_dead(account_id, stored.token_id, expired, source="token API")
        raise expired
    # Our own values, already of the declared types: encoded as TokenOut would encode them (its
    # field order, pydantic's JSON for datetimes) without building the model.
    body = token_body(stored, include_token=False)
    body["access_token"] = stored.token.value.reveal()
    body["token_type"] = "bearer"  # noqa: S105 - a token type, not a token
    service_state(request).metrics.record_token_read("api")
    return Response(to_json(body), media_type="application/json", headers=_NO_STORE)


@router.post(
    "/accounts/{account_id}/refresh", response_model=TokenMeta, responses=_ERRORS, dependencies=_LIMITED
)
async def refresh_token(request: Request, account_id: AccountId, principal: Refreshes) -> TokenMeta:
    """Refresh the account's long-lived token now (Meta allows it from 24 hours of age).

    A Facebook Login account's page token never expires and cannot be refreshed: it is
    checked with Meta's ``debug_token`` instead, and a dead one answers 409.
    """
    require_scope(principal, account_id)
    stored = await wiring_of(request).refresh(account_id)
    return TokenMeta.model_validate(token_body(stored, include_token=False))


#: When Meta throttles without saying for how long, wait this long before calling again.
DEFAULT_THROTTLE_WAIT = 60.0
#: From this share of Meta's limit (usage headers, percent) the proxy spaces an account's calls out...
PACE_FROM_PERCENT = 90.0
#: ...by up to this many seconds between calls, growing as usage nears 100 %.
PACE_MAX_SECONDS = 10.0


def pacing_wait(usage: Usage | None) -> float | None:
    """How long to hold an account's next proxied call after an answer reporting ``usage``.

    Below :data:`PACE_FROM_PERCENT`: not at all. From there the gap grows linearly to
    :data:`PACE_MAX_SECONDS` at 100 %; at or over 100 % Meta is about to throttle (or is), so the
    account waits Meta's own estimate of the time to regain access, or :data:`DEFAULT_THROTTLE_WAIT`.
    """
    top = usage.max_percent if usage is not None else None
    if usage is None or top is None or top < PACE_FROM_PERCENT:
        return None
    if top >= 100:
        regain = usage.regain_after()
        return regain.total_seconds() if regain else DEFAULT_THROTTLE_WAIT
    return PACE_MAX_SECONDS * (top - PACE_FROM_PERCENT) / (100 - PACE_FROM_PERCENT) or None


async def graph_proxy(request: Request, account_id: AccountId, path: str, principal: Proxies) -> Response:
    """Forward to the account's Graph host with its token; Meta's answer and usage headers come back.

    The account's token goes in the ``Authorization`` header. For a Facebook Login account
    (graph.facebook.com) the call also carries ``appsecret_proof``, the HMAC-SHA256 of that
    token keyed by the Meta app secret, so an app with "Require App Secret" on accepts it.
    ``access_token``, ``appsecret_proof`` and ``appsecret_time`` in the caller's query are
    dropped, never forwarded.

    ``path`` is a relative Graph path such as ``me/media`` (letters, digits, ``_``, ``-``,
    ``.``; anything else is 400). A request body over the proxy's limit (8 MiB unless
    ``IGTOKEN_PROXY_MAX_BODY`` says otherwise) is refused with 413. While Meta throttles the
    account, every call is answered 429 with ``Retry-After`` without reaching Meta; from 90 % of
    Meta's limit (its usage headers) the account's calls are spaced out, up to 10 seconds apart
    near 100 %, the same way.
    ``paging.next`` and ``paging.previous`` in Meta's JSON answers point back at this proxy,
    without the token. When Meta answers that the token is dead (code 190 with subcode 458, 459,
    460, 463, 464, 467, 492, 493 or none), its answer comes back as it is and the account is marked
    as needing re-authorization at once: from then on the token endpoint answers 409 with
    ``reauthorize_url``.
    """
    from igtoken.instagram.parse import error_from_response

    require_scope(principal, account_id)
    check_graph_path(path)
    wiring = wiring_of(request)
    # Shared through the vault: every instance holds back while Meta throttles the account.
    wait = await wiring.vault.throttles.remaining(account_id, now=wiring.clock())
    if wait is not None:
        raise ThrottledError(
            "Meta is throttling this account; the call was not sent",
            retry_after=wait,
            status_code=429,
            fix="wait for the time in Retry-After",
        )
    body = await read_body(request, wiring.proxy_max_body)
    account = await wiring.vault.get_account(account_id)
    require_usable(account)
    app = await wiring.vault.get_app(account.app_id)
    now = wiring.clock()
    instagram = app.flow_kind is FlowKind.INSTAGRAM_LOGIN
    kind = TokenKind.IG_LONG if instagram else account.served_kind
    stored = await wiring.vault.current_token(
        account_id, kind, record_read=True, now=now, reader=f"{principal.id} (graph proxy)"
    )
    if wiring.usage_watch is not None:
        wiring.usage_watch.used(key_id=principal.id, account_id=account_id, kind="proxy_call")
    if instagram:
        url, graph_root = wiring.endpoints.instagram_graph(path), wiring.endpoints.graph_instagram
    else:
        url, graph_root = wiring.endpoints.facebook_graph(path), wiring.endpoints.graph_facebook
    params: list[tuple[str, str | int | float | bool | None]] = [
        (k, v) for k, v in request.query_params.multi_items() if k.lower() not in CALLER_CREDENTIALS
    ]
    if not instagram:
        # graph.facebook.com: the proof of the token under the Meta app secret, as the library sends it,
        # so apps with "Require App Secret" on accept the call.
        secret = wiring.client_config(app).facebook.app_secret
        params.append(("appsecret_proof", appsecret_proof(secret, stored.token.value)))
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST_HEADERS}
    headers["authorization"] = f"Bearer {stored.token.value.reveal()}"
    service_state(request).metrics.record_token_read("graph_proxy")
    upstream = await wiring.http.request(request.method, url, params=params, headers=headers, content=body)
    usage = parse_usage(upstream.headers)
    service_state(request).metrics.observe_usage(app.id, account_id, usage)
    passed = {k: v for k, v in upstream.headers.items() if k.lower() in USAGE_HEADERS}
    error = error_from_response(upstream, secrets=[stored.token.value.reveal()])
    if isinstance(error, ThrottledError):
        retry = error.retry_after if error.retry_after else DEFAULT_THROTTLE_WAIT
        await wiring.vault.throttles.hold(account_id, until=now + timedelta(seconds=retry), now=now)
        passed["Retry-After"] = str(max(1, int(retry + 0.999)))
        log.warning("Meta throttled a proxied call", extra={"account_id": account_id, "retry_after": retry})
        return Response(upstream.content, status_code=429, headers=passed, media_type=_media(upstream))
    if error is not None:
        # A token Meta calls dead (190 with a dead-token subcode or none) is marked now, so the
        # next token read is 409 with the link; any other error (a bad request, a missing
        # permission) leaves the account as it is.
        await wiring.token_dead(account_id, stored.token_id, error, source="graph proxy")
    pace = pacing_wait(usage)
    if pace is not None:
        # Near Meta's limit: space this account's calls out before Meta throttles it (then for longer).
        await wiring.vault.throttles.hold(account_id, until=now + timedelta(seconds=pace), now=now)
        log.info("pacing an account near Meta's limit", extra={"account_id": account_id, "wait": pace})
    content = _proxied_content(upstream, graph_root, f"{wiring.public_url}/v1/accounts/{account_id}/graph")
    return Response(content, status_code=upstream.status_code, headers=passed, media_type=_media(upstream))


def _proxied_content(upstream: httpx.Response, graph_root: str, proxy_base: str) -> bytes:
    """Meta's body, with its paging links turned into the proxy's own (JSON answers only)."""
    content = upstream.content
    media = _media(upstream)
    # Graph has answered JSON as text/javascript in the past; the body decides, not the label.
    if b'"paging"' not in content or not ("json" in media or "javascript" in media):
        return content
    try:
        document = json.loads(content)
    except ValueError:
        return content
    if not proxy_paging(document, graph_root=graph_root, proxy_base=proxy_base):
        return content
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


for _method in ("GET", "POST", "DELETE"):
    # One route per method, so each has its own OpenAPI operation id.
    router.add_api_route(
        "/accounts/{account_id}/graph/{path:graph_path}",
        graph_proxy,
        methods=[_method],
        responses={
            **_ERRORS,
            400: {"model": ErrorOut, "description": "not a Graph path"},
            413: {"model": ErrorOut, "description": "the request body is over the proxy's limit"},
        },
        response_class=Response,
        dependencies=_LIMITED,
        operation_id=f"graph_proxy_{_method.lower()}",
        summary=f"Graph proxy ({_method})",
    )


def _media(response: Any) -> str:
    return str(response.headers.get("content-type", "application/json"))
