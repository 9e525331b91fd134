"""The one place where errors become HTTP answers.

Routes raise igtoken's own exceptions (``igtoken.core.exceptions``); the handlers
installed by :func:`install_error_handlers` turn each into a status code and a
body: ``{"error": {"type", "message", "fix"}}`` for API callers, the error page
for browsers. A storage or unknown failure never shows its message: it may
name tables, paths or key ids, so the caller gets a generic one and the log
gets the rest.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from igtoken.core.exceptions import (
    AccessError,
    APIError,
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    ConflictError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseUnavailableError,
    ForbiddenError,
    IGTokenError,
    InvalidRequestError,
    NeedsReauthorizationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RefreshError,
    SignedRequestError,
    StorageError,
    ThrottledError,
    TokenExpiredError,
    UnexpectedResponseError,
)

if TYPE_CHECKING:
    from igtoken.service.app_state import ServiceState

log = logging.getLogger("igtoken.service.errors")

#: Paths whose callers are programs: they always get JSON, whatever they accept.
API_PREFIXES = ("/api/", "/v1/", "/meta/", "/healthz", "/readyz", "/metrics")

#: When Meta (or our limiter) gives no wait hint, ask the caller to wait this long.
DEFAULT_RETRY_AFTER = 60
#: When the database is locked, damaged or unreachable, ask the caller to come back this soon.
STORAGE_RETRY_AFTER = 5


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error answer says, whichever format carries it."""

    status: int
    type: str
    message: str
    fix: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _retry_after(seconds: float | None) -> dict[str, str]:
    wait = DEFAULT_RETRY_AFTER if seconds is None else max(1, math.ceil(seconds))
    return {"Retry-After": str(wait)}


def classify(exc: IGTokenError) -> ErrorBody:
    """Map one igtoken exception to its answer; the order is most specific first."""
    kind = type(exc).__name__
    if isinstance(exc, NotFoundError):
        return ErrorBody(404, "not_found", exc.message, exc.fix)
    if isinstance(exc, AuthenticationError):
        return ErrorBody(401, "authentication_required", exc.message, exc.fix)
    if isinstance(exc, RateLimitedError):
        return ErrorBody(429, "rate_limited", exc.message, exc.fix, _retry_after(exc.retry_after))
    if isinstance(exc, ForbiddenError | PermissionDeniedError):
        return ErrorBody(
            403, "forbidden" if isinstance(exc, AccessError) else "permission_denied", exc.message, exc.fix
        )
    if isinstance(exc, NeedsReauthorizationError | TokenExpiredError):
        return ErrorBody(
            409, "needs_reauthorization", exc.message, exc.fix or "the account must log in again"
        )
    if isinstance(exc, ThrottledError):
        return ErrorBody(429, "throttled", exc.message, exc.fix, _retry_after(exc.retry_after))
    if isinstance(exc, DatabaseUnavailableError):
        # The message names the file or server: the operator's log gets it, the caller does not.
        log.error("storage unavailable", extra={"error_class": kind, "error": exc.message, "fix": exc.fix})
        what = (
            "locked by another process"
            if isinstance(exc, DatabaseLockedError)
            else "damaged"
            if isinstance(exc, DatabaseCorruptError)
            else "unavailable"
        )
        return ErrorBody(
            503,
            "storage_unavailable",
            f"the service's database is {what}",
            "try again shortly; the service's log says what the operator must fix",
            _retry_after(STORAGE_RETRY_AFTER),
        )
    if exc.retryable:
        return ErrorBody(
            503, "temporarily_unavailable", exc.message, exc.fix or "try again shortly", _retry_after(None)
        )
    if isinstance(exc, ConfigurationError | InvalidRequestError | AuthorizationError | SignedRequestError):
        return ErrorBody(400, "invalid_request", exc.message, exc.fix)
    if isinstance(exc, ConflictError | RefreshError):
        return ErrorBody(409, "conflict", exc.message, exc.fix)
    if isinstance(exc, APIError | UnexpectedResponseError):
        return ErrorBody(502, "upstream_error", exc.message, exc.fix)
    if isinstance(exc, StorageError):
        log.error("storage failure", extra={"error_class": kind, "error": exc.message})
        return ErrorBody(500, "internal_error", "the service could not complete the request", "")
    log.error("unclassified igtoken error", extra={"error_class": kind, "error": exc.message})
    return ErrorBody(500, "internal_error", "the service could not complete the request", "")


def wants_html(request: Request) -> bool:
    """Browsers on page routes get the error page; programs and API paths get JSON."""
    path = request.url.path
    if any(path.startswith(prefix) for prefix in API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def render_error(request: Request, body: ErrorBody) -> Response:
    """Answer with ``body`` as JSON or as the error page, whichever the caller wants."""
    if wants_html(request):
        state: ServiceState = request.app.state.igtoken
        return state.pages.render(
            request,
            "error.html",
            {"error": body, "reauthorize_url": body.extra.get("reauthorize_url")},
            status_code=body.status,
            headers=body.headers,
        )
    payload: dict[str, Any] = {"type": body.type, "message": body.message, "fix": body.fix, **body.extra}
    return JSONResponse({"error": payload}, status_code=body.status, headers=body.headers)


async def _igtoken_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IGTokenError)
    body = classify(exc)
    if body.status == 409 and body.type == "needs_reauthorization":
        body = await _with_reauthorize_url(request, body)
    return render_error(request, body)


async def _with_reauthorize_url(request: Request, body: ErrorBody) -> ErrorBody:
    state: ServiceState = request.app.state.igtoken
    account_id = request.path_params.get("account_id")
    factory = state.deps.reauthorize_url
    if factory is None or not isinstance(account_id, str):
        return body
    try:
        url = await factory(account_id)
    except Exception:
        # The 409 is the answer; a failing link factory must not turn it into a 500.
        log.exception("could not make a re-authorization URL", extra={"account_id": account_id})
        return body
    if url is None:
        return body
    return ErrorBody(body.status, body.type, body.message, body.fix, body.headers, {"reauthorize_url": url})


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"field": ".".join(str(part) for part in error.get("loc", ())), "message": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in fields) or "invalid request"
    body = ErrorBody(422, "validation_error", summary, "correct the listed fields", extra={"fields": fields})
    return render_error(request, body)


_HTTP_TYPES = {
    400: "invalid_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "temporarily_unavailable",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    location = (exc.headers or {}).get("Location")
    if 300 <= exc.status_code < 400 and location:
        # Not an error at all: require_admin sends anonymous page views to the sign-in form.
        return RedirectResponse(location, status_code=exc.status_code)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    kind = _HTTP_TYPES.get(exc.status_code, "http_error")
    body = ErrorBody(exc.status_code, kind, message, "", dict(exc.headers or {}))
    return render_error(request, body)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc, extra={"error_class": type(exc).__name__})
    return render_error(
        request, ErrorBody(500, "internal_error", "the service could not complete the request")
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``; call once, from ``create_app``."""
    app.add_exception_handler(IGTokenError, _igtoken_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
