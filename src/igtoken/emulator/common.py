"""Helpers both Graph hosts share: token checks with rate-limit accounting, paging, redirects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from igtoken.emulator.call import Call
from igtoken.emulator.errors import GraphError
from igtoken.emulator.faults import THROTTLE
from igtoken.emulator.model import IG_KINDS, Token


def split_scopes(raw: str) -> list[str]:
    """Scopes as sent: comma- or space-separated (``+`` already decoded), in order, no blanks."""
    out: list[str] = []
    for part in raw.replace(",", " ").split():
        if part not in out:
            out.append(part)
    return out


def redirect_with(redirect_uri: str, params: dict[str, str], fragment: str | None) -> RedirectResponse:
    """302 to ``redirect_uri`` with ``params`` added to its query and Meta's fragment appended."""
    sep = "&" if "?" in redirect_uri else "?"
    location = f"{redirect_uri}{sep}{urlencode(params)}"
    if fragment is not None:
        location += f"#{fragment}"
    return RedirectResponse(location, status_code=302)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The one limit a call counts against, chosen by its token as Meta does (S14, contract §5).

    Instagram tokens and Page tokens fall under Business Use Case limits, per business object (the
    Instagram account, the Page): when both could apply, BUC wins. Other tokens fall under the
    Platform limits: a user token under the user's, an app token (or app credentials) under the app's.
    """

    #: The error code a call past this limit answers.
    code: int
    #: The key the call is counted under, per app and hour (``World.count_call``).
    counter: str
    #: BUC type (``instagram``, ``pages``), or None for a Platform limit (``x-app-usage``).
    use_case: str | None = None
    #: The business object the BUC header is keyed by: the Instagram account id or the Page id.
    business_id: str | None = None


_APP_LIMIT: Final = RateLimit(4, "app")


def rate_limit_for(token: Token | None) -> RateLimit:
    """Which limit a call made with ``token`` (None: app credentials, or no token) counts against."""
    if token is None or token.kind == "fb_app":
        return _APP_LIMIT
    if token.kind in IG_KINDS:
        return RateLimit(80002, token.subject, "instagram", token.subject)
    if token.kind == "fb_page":
        return RateLimit(80001, token.subject, "pages", token.subject)
    return RateLimit(17, f"user:{token.owner}")


def usage_headers(limit: RateLimit, percent: int, regain_minutes: int = 0) -> dict[str, str]:
    """The usage header Meta sends for this limit (S14): BUC keyed by the business object, or app usage.

    ``x-app-usage`` carries only ``call_count``, ``total_time`` and ``total_cputime`` (some clients
    refuse any other key, third-party-clients §1.12); only BUC entries have a regain estimate.
    """
    pct = min(percent, 100)
    if limit.use_case is None:
        return {"x-app-usage": f'{{"call_count":{pct},"total_time":{pct // 2},"total_cputime":{pct // 2}}}'}
    value = {
        limit.business_id: [
            {
                "type": limit.use_case,
                "call_count": pct,
                "total_cputime": pct // 2,
                "total_time": pct // 2,
                "estimated_time_to_regain_access": regain_minutes,
            }
        ]
    }
    return {"x-business-use-case-usage": json.dumps(value, separators=(",", ":"))}


_BUC_MESSAGE: Final = (
    "(#{code}) There have been too many calls to this {what} account. Wait a bit and try again. "
    "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
)


def throttle_error(token: Token | None, minutes: int, *, status: int | None = None) -> GraphError:
    """The error a throttled call gets, for the emulator's own limit and scripted faults alike.

    80002 (Instagram token) or 80001 (Page token) with ``x-business-use-case-usage`` keyed by the
    account or Page and ``estimated_time_to_regain_access`` = ``minutes``; 17 (user token) or 4 (app
    token, HTTP 403 as observed) with ``x-app-usage``. Meta documents no wait hint for the Platform
    limits; the emulator puts it in ``error_data.estimated_time_to_regain_access``.
    """
    limit = rate_limit_for(token)
    headers = usage_headers(limit, 100, minutes)
    if limit.use_case is not None:
        what = "Instagram" if limit.use_case == "instagram" else "Page"
        return GraphError(
            limit.code, _BUC_MESSAGE.format(code=limit.code, what=what), status=status, headers=headers
        )
    message = (
        "(#4) Application request limit reached" if limit.code == 4 else "(#17) User request limit reached"
    )
    return GraphError(
        limit.code,
        message,
        status=status if status is not None else (403 if limit.code == 4 else None),
        headers=headers,
        extra={"is_transient": True, "error_data": {"estimated_time_to_regain_access": minutes}},
    )


def require_token(call: Call, product: str, params: dict[str, str] | None = None) -> Token:
    """Check the call's token (190s), then its rate limit, and remember it for the log.

    A scripted ``throttle`` fault for this endpoint answers here, once the token is known, through
    the same :func:`throttle_error` as the emulator's own per-hour limit.
    """
    world = call.world
    value = call.token_value(params)
    token = world.app_literal_token(value) if value and "|" in value and product == "facebook" else None
    if token is None:
        token = world.check_token(value, product)
    call.token = token
    if token.kind in IG_KINDS:
        account = world.accounts.get(token.subject)
        call.account = account.username if account is not None else token.subject
    else:
        call.account = token.owner
    fault = world.faults.take(call.endpoint, THROTTLE) if world.faults._faults else None
    if fault is not None:
        raise throttle_error(token, fault.wait_minutes, status=fault.status)
    app = world.apps.get(token.app_id)
    if app is not None:
        limit = rate_limit_for(token)
        percent, minutes = world.count_call(app, limit.counter, world.clock.timestamp())
        if percent > 100:
            raise throttle_error(token, minutes)
        if world.switches.emit_usage_headers == "true":
            call.usage_headers = usage_headers(limit, percent)
    return token


def check_appsecret_proof(call: Call, token: Token) -> None:
    """Validate ``appsecret_proof`` when sent, and demand it when the app requires it (S23)."""
    proof = call.query.get("appsecret_proof")
    app = call.world.apps.get(token.app_id)
    if app is None:
        return
    if proof is None:
        if app.require_appsecret_proof:
            raise GraphError(100, "API calls from the server require an appsecret_proof argument")
        return
    expected = hmac.new(app.meta_app_secret.encode(), token.value.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(proof, expected):
        raise GraphError(100, "Invalid appsecret_proof provided in the API argument")


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"c:{index}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "c":
            raise ValueError(cursor)
        return int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(100, "(#100) The after/before cursor is invalid") from exc


def page_window(call: Call, total: int, default_limit: int = 25) -> tuple[int, int]:
    """The slice ``[start, stop)`` asked for by ``limit`` / ``after`` / ``before``."""
    try:
        limit = int(call.query.get("limit", default_limit))
    except ValueError as exc:
        raise GraphError(100, "(#100) Param limit must be a number") from exc
    limit = max(1, min(limit, 100))
    if "after" in call.query:
        start = _uncursor(call.query["after"]) + 1
    elif "before" in call.query:
        start = max(0, _uncursor(call.query["before"]) - limit)
    else:
        start = 0
    return start, min(start + limit, total)


def paged(call: Call, data: list[dict[str, Any]], start: int, stop: int, total: int) -> dict[str, Any]:
    """Graph cursor paging around ``data``; ``next`` carries ``access_token`` like Meta's do."""
    body: dict[str, Any] = {"data": data}
    if not data:
        return body
    paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(stop - 1)}}
    base = dict(call.query)
    if call.token is not None:
        base["access_token"] = call.token.value
    base.pop("before", None)
    base.pop("after", None)
    if stop < total:
        paging["next"] = call.self_url({**base, "after": _cursor(stop - 1)})
    if start > 0:
        paging["previous"] = call.self_url({**base, "before": _cursor(start)})
    body["paging"] = paging
    return body


def not_found_page() -> Response:
    """Instagram's generic missing-page answer."""
    from igtoken.emulator.consent import message_page

    return message_page(
        "Sorry, this page isn't available.",
        "The link you followed may be broken, or the page may have been removed.",
        404,
    )
