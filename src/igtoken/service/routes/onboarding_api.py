"""Programmatic onboarding under ``/v1``: a platform creates connect links for its customers.

``POST /v1/connect-links`` makes a link for one app and answers its URL (once: only a hash of
its code is kept). The link's ``external_id`` — the platform's own id for its customer — and
``label`` are given to every account that connects through it, so the platform finds the
account again with ``GET /v1/accounts?external_id=…``.

Creating links takes an API key with the ``links:create`` capability that speaks for every
account (an account-scoped key could otherwise hand out access to accounts it cannot see).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
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


class ConnectLinkOut(BaseModel):
    """A created connect link. ``url`` is shown this once: send it to the account's owner."""

    id: str
    url: str
    app_id: str
    label: str | None
    external_id: str | None
    created_at: datetime
    expires_at: datetime
    max_uses: int | None


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
    )
    out = ConnectLinkOut(
        id=link.id,
        url=wiring.link_url(code),
        app_id=app.id,
        label=link.label,
        external_id=link.external_id,
        created_at=link.created_at,
        expires_at=link.expires_at,
        max_uses=link.max_uses,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers={"Cache-Control": "no-store"})
