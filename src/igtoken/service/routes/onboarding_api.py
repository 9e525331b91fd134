"""Programmatic onboarding under ``/v1``: a platform creates connect links for its customers.

``POST /v1/connect-links`` makes a link for one app and answers its URL (once: only a hash of
its code is kept). The link's ``external_id`` — the platform's own id for its customer — and
``label`` are given to every account that connects through it, so the platform finds the
account again with ``GET /v1/accounts?external_id=…``. With a ``redirect_url`` the person is sent
back to the platform after connecting (303 to it, with ``account_id`` and ``external_id`` appended).

Creating links takes an API key with the ``links:create`` capability that speaks for every
account (an account-scoped key could otherwise hand out access to accounts it cannot see).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from igtoken.core.exceptions import ForbiddenError
from igtoken.service.apikeys import capable
from igtoken.service.interfaces import ApiKeyPrincipal
from igtoken.service.openapi import ErrorOut
from igtoken.service.ratelimit import rate_limit
from igtoken.service.wiring import wiring_of

router = APIRouter(prefix="/v1", tags=["onboarding"], dependencies=[Depends(rate_limit("api"))])

Principal = Annotated[ApiKeyPrincipal, Depends(capable("links:create"))]

#: The longest a connect link may live: 30 days.
MAX_EXPIRY_HOURS = 720
#: The longest redirect URL kept (what browsers and proxies reliably pass, with room to append).
MAX_REDIRECT_URL = 2048


class ConnectLinkIn(BaseModel):
    """A connect link to create."""

    app: str = Field(min_length=1, max_length=100, description="the app's name or id")
    label: str | None = Field(default=None, max_length=200, description="your note; given to the accounts")
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="your own id for the customer; every account connected through the link carries it",
    )
    expires_in_hours: int = Field(default=168, ge=1, le=MAX_EXPIRY_HOURS, description="1 hour to 30 days")
    max_uses: int | None = Field(
        default=1, ge=1, le=10_000, description="accounts that may connect through it; null for any number"
    )
    redirect_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REDIRECT_URL,
        description="where to send the person after connecting (303), with account_id and external_id "
        "appended; https (plain http only for loopback addresses, or in dev mode)",
    )


class ConnectLinkOut(BaseModel):
    """A created connect link. ``url`` is shown this once: send it to the account's owner."""

    id: str
    url: str
    app_id: str
    label: str | None
    external_id: str | None
    redirect_url: str | None
    created_at: datetime
    expires_at: datetime
    max_uses: int | None


_REDIRECT_FIX = (
    "give the absolute https address of your page to send the person to, e.g. https://example.com/connected"
)


def check_redirect_url(url: str, *, dev: bool) -> None:
    """Refuse (422, naming ``body.redirect_url``) a redirect URL the person should not be sent to.

    The rules of Meta's redirect URIs: absolute http(s), no fragment, https unless loopback or dev
    mode; and no user name or password in it (it is shown in the browser's address bar).
    """
    from igtoken.app.meta_setup import check_redirect_uri

    finding = check_redirect_uri(url, dev=dev)
    # Meta's fix text ("as registered with Meta") would mislead here: this URL is ours to follow.
    problem = None if finding.ok else f"{finding.detail}; {_REDIRECT_FIX}"
    if problem is None and (urlsplit(url).username is not None or urlsplit(url).password is not None):
        problem = "must not carry a user name or password"
    if problem is not None:
        raise RequestValidationError(
            [{"loc": ("body", "redirect_url"), "msg": f"redirect_url {problem}", "type": "value_error"}]
        )


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the app cannot make links (wrong flow, no redirect URI)"},
    403: {"model": ErrorOut, "description": "the key lacks links:create, or is scoped to some accounts"},
    404: {"model": ErrorOut, "description": "no such app"},
}


@router.post("/connect-links", status_code=201, response_model=ConnectLinkOut, responses=_ERRORS)
async def create_connect_link(request: Request, body: ConnectLinkIn, principal: Principal) -> JSONResponse:
    """Create a connect link for an app; its URL is in this answer only."""
    if principal.account_ids is not None:
        raise ForbiddenError(
            f"API key {principal.id!r} is scoped to some accounts and cannot create connect links",
            fix="use a key for all accounts (igtoken apikeys create without --account)",
        )
    wiring = wiring_of(request)
    if body.redirect_url is not None:
        check_redirect_url(body.redirect_url, dev=wiring.runtime.settings.dev)
    app = await wiring.vault.get_app(body.app)
    wiring.client_config(app)  # refuse now, not when the person clicks: wrong flow or redirect URI
    now = wiring.clock()
    link, code = await wiring.vault.links.create(
        app.id,
        now=now,
        expires_at=now + timedelta(hours=body.expires_in_hours),
        scopes=app.default_scopes,
        label=body.label,
        max_uses=body.max_uses,
        external_id=body.external_id,
        redirect_url=body.redirect_url,
    )
    out = ConnectLinkOut(
        id=link.id,
        url=wiring.link_url(code),
        app_id=app.id,
        label=link.label,
        external_id=link.external_id,
        redirect_url=link.redirect_url,
        created_at=link.created_at,
        expires_at=link.expires_at,
        max_uses=link.max_uses,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers={"Cache-Control": "no-store"})
