"""Signing in to the dashboard with the admin password, and signing out."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from igtoken.service.app_state import service_state
from igtoken.service.ratelimit import client_address, rate_limit
from igtoken.service.security import (
    ADMIN_USER,
    password_matches,
    require_csrf,
    safe_next,
    session_of,
    signed_in_user,
)

log = logging.getLogger("igtoken.service.signin")
router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    """The site root is the dashboard."""
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/signin")
async def signin_form(
    request: Request, next: Annotated[str | None, Query(max_length=512)] = None
) -> Response:
    """The sign-in page (or straight on to the dashboard when already signed in)."""
    if signed_in_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    session_of(request).get()  # the form needs a CSRF token, so the session starts here
    return service_state(request).pages.render(
        request, "signin.html", {"next": safe_next(next), "error": None}
    )


@router.post("/signin", dependencies=[Depends(rate_limit("signin")), Depends(require_csrf)])
async def signin(
    request: Request,
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=512)] = "/dashboard",
) -> Response:
    """Check the password in constant time; on success start a new, signed-in session."""
    state = service_state(request)
    holder = session_of(request)
    if not password_matches(password, state.admin_password):
        log.warning("dashboard sign-in refused", extra={"client": client_address(request)})
        return state.pages.render(
            request,
            "signin.html",
            {"next": safe_next(next), "error": "That password is not right."},
            status_code=401,
        )
    holder.restart(ADMIN_USER)
    log.info("dashboard sign-in", extra={"client": client_address(request)})
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/signout", dependencies=[Depends(require_csrf)])
async def signout(request: Request) -> RedirectResponse:
    """End the session, here and server-side (a copy of the cookie stops working everywhere); the next
    visit starts a fresh one with a new CSRF token."""
    state = service_state(request)
    ended = session_of(request).peek()
    if ended is not None and ended.user is not None:
        await state.sessions.revoke(ended.sid, until=state.session_codec.expires_at(ended))
        log.info("dashboard sign-out", extra={"client": client_address(request)})
    session_of(request).restart(None)
    session_of(request).flash("info", "You are signed out.")
    return RedirectResponse("/signin", status_code=303)
