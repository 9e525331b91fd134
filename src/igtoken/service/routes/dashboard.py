"""The dashboard: accounts, one account's history and actions, connect links, deletion requests.

Every page needs a signed-in session; every form post also needs the session's CSRF
token. The data comes from a :class:`~igtoken.service.interfaces.DashboardData` and
the buttons call a :class:`~igtoken.service.interfaces.DashboardActions`; this module
only turns HTTP into those calls and their answers into pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from igtoken.core.exceptions import ConfigurationError, TokenTooNewError
from igtoken.core.models import TokenKind
from igtoken.service.app_state import service_state
from igtoken.service.chart import expiry_chart
from igtoken.service.interfaces import DashboardActions, DashboardData
from igtoken.service.security import require_admin, require_csrf, session_of
from igtoken.service.views import AccountDetail, NewLink

#: Ids are opaque strings from the vault; this bounds them to something printable and short.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
AccountId = Annotated[str, Path(pattern=ID_PATTERN, description="the account's id")]
LinkId = Annotated[str, Path(pattern=ID_PATTERN, description="the link's id")]

#: The most uses a multiple-use connect link may allow (beyond that, choose unlimited).
MAX_LINK_USES = 10_000

#: How far ahead the expiry chart looks; Instagram's long-lived tokens last 60 days.
CHART_DAYS = 60

#: Meta refreshes an Instagram long-lived token only once it is this old.
MIN_REFRESH_AGE = timedelta(hours=24)


def _data(request: Request) -> DashboardData:
    data = service_state(request).deps.dashboard_data
    assert data is not None  # the router is only mounted when it is wired
    return data


def _actions(request: Request) -> DashboardActions:
    actions = service_state(request).deps.dashboard_actions
    assert actions is not None  # the action routes are only mounted when it is wired
    return actions


def _can_act(request: Request) -> bool:
    return service_state(request).deps.dashboard_actions is not None


pages = APIRouter(prefix="/dashboard", dependencies=[Depends(require_admin)], include_in_schema=False)
actions = APIRouter(
    prefix="/dashboard",
    dependencies=[Depends(require_admin), Depends(require_csrf)],
    include_in_schema=False,
)


@pages.get("")
async def accounts_page(request: Request) -> Response:
    """Every account with status, username, type, expiry and next refresh, under the expiry chart."""
    state = service_state(request)
    data = _data(request)
    accounts = await data.list_accounts()
    histogram = await data.expiry_histogram()
    chart = expiry_chart(histogram, start=state.deps.clock().date(), days=CHART_DAYS)
    return state.pages.render(
        request, "accounts.html", {"accounts": accounts, "chart": chart, "can_act": _can_act(request)}
    )


def _refreshable_at(account: AccountDetail, now: datetime) -> datetime | None:
    """When a too-young Instagram token becomes refreshable; ``None`` when it already is (or never)."""
    if account.token_kind != TokenKind.IG_LONG or account.issued_at is None:
        return None
    at = account.issued_at + MIN_REFRESH_AGE
    return at if at > now else None


async def _account_page(
    request: Request,
    account_id: str,
    *,
    new_link_url: str | None = None,
    template: str = "account.html",
    status_code: int = 200,
) -> Response:
    state = service_state(request)
    data = _data(request)
    account = await data.account(account_id)
    events = await data.events(account_id)
    context = {
        "account": account,
        "events": events,
        "can_act": _can_act(request),
        "new_link_url": new_link_url,
        "refreshable_at": _refreshable_at(account, state.deps.clock()),
    }
    return state.pages.render(request, template, context, status_code=status_code)


@pages.get("/accounts/{account_id}")
async def account_page(request: Request, account_id: AccountId) -> Response:
    """One account: its details, its event history and its action buttons."""
    return await _account_page(request, account_id)


async def _links_page(
    request: Request, *, created_url: str | None = None, status_code: int = 200
) -> Response:
    state = service_state(request)
    data = _data(request)
    context = {
        "links": await data.links(),
        "apps": await data.apps(),
        "can_act": _can_act(request),
        "created_url": created_url,
    }
    return state.pages.render(request, "links.html", context, status_code=status_code)


@pages.get("/accounts/{account_id}/disconnect")
async def disconnect_confirmation(request: Request, account_id: AccountId) -> Response:
    """Disconnecting destroys the tokens: this page asks first, the form on it does it."""
    if not _can_act(request):
        return await _account_page(request, account_id)
    return await _account_page(request, account_id, template="disconnect.html")


@pages.get("/links")
async def links_page(request: Request) -> Response:
    """Connect links: the list, and a form to make a new one."""
    return await _links_page(request)


@pages.get("/deletions")
async def deletions_page(request: Request) -> Response:
    """Data deletion requests and how far each has got."""
    state = service_state(request)
    requests = await _data(request).deletion_requests()
    return state.pages.render(request, "deletions.html", {"requests": requests})


def _back_to_account(account_id: str) -> RedirectResponse:
    return RedirectResponse(f"/dashboard/accounts/{account_id}", status_code=303)


@actions.post("/accounts/{account_id}/refresh")
async def refresh_now(request: Request, account_id: AccountId) -> Response:
    """Refresh the account's token now; errors are shown on the error page with their fix.

    A token under 24 hours old is not an error a person made: instead of the raw conflict a
    page says, in words, when it becomes refreshable, with a way back (still 409).
    """
    try:
        message = await _actions(request).refresh_now(account_id)
    except TokenTooNewError as exc:
        state = service_state(request)
        account = await _data(request).account(account_id)
        context = {
            "account": account,
            "message": exc.message,
            # Meta's (or the client's) own answer wins over the estimate from the issue time.
            "refreshable_at": exc.refreshable_at or _refreshable_at(account, state.deps.clock()),
        }
        return state.pages.render(request, "refresh_too_early.html", context, status_code=409)
    session_of(request).flash("success", message)
    return _back_to_account(account_id)


@actions.post("/accounts/{account_id}/reauth-link")
async def create_reauth_link(request: Request, account_id: AccountId) -> Response:
    """Make a re-authorization link and show it once, on the account page."""
    link = await _actions(request).create_reauth_link(account_id)
    return await _account_page(request, account_id, new_link_url=link.url)


@actions.post("/accounts/{account_id}/disconnect")
async def disconnect(request: Request, account_id: AccountId) -> RedirectResponse:
    """Disconnect the account: its tokens are forgotten."""
    message = await _actions(request).disconnect(account_id)
    session_of(request).flash("success", message)
    return _back_to_account(account_id)


@actions.post("/links")
async def create_link(
    request: Request,
    app_id: Annotated[str, Form(pattern=ID_PATTERN)],
    label: Annotated[str, Form(max_length=100)] = "",
    expires_in_hours: Annotated[int, Form(ge=1, le=24 * 30)] = 24 * 7,
    use_limit: Annotated[Literal["single", "multiple", "unlimited"], Form()] = "single",
    max_uses: Annotated[int | None, Form(ge=2, le=MAX_LINK_USES)] = None,
) -> Response:
    """Make a connect link and show its URL once: single use, N uses, or unlimited."""
    if use_limit == "multiple" and max_uses is None:
        raise ConfigurationError(
            "a multiple-use link needs its number of uses",
            fix="enter how many accounts may connect through it (2 or more)",
        )
    limit = {"single": 1, "multiple": max_uses, "unlimited": None}[use_limit]
    new = NewLink(app_id=app_id, label=label.strip(), expires_in_hours=expires_in_hours, max_uses=limit)
    link = await _actions(request).create_link(new)
    return await _links_page(request, created_url=link.url, status_code=201)


@actions.post("/links/{link_id}/revoke")
async def revoke_link(request: Request, link_id: LinkId) -> RedirectResponse:
    """Make a connect link unusable."""
    message = await _actions(request).revoke_link(link_id)
    session_of(request).flash("success", message)
    return RedirectResponse("/dashboard/links", status_code=303)
