"""Helpers both Graph hosts share: token checks with rate-limit accounting, paging, redirects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from igtoken.emulator.call import Call
from igtoken.emulator.errors import GraphError
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


def usage_percent_headers(call: Call, token: Token, percent: int) -> dict[str, str]:
    """The usage header Meta sends for this kind of call (S14)."""
    pct = min(percent, 100)
    if token.kind in IG_KINDS:
        value = {
            token.subject: [
                {
                    "type": "instagram",
                    "call_count": pct,
                    "total_cputime": pct // 2,
                    "total_time": pct // 2,
                    "estimated_time_to_regain_access": 0,
                }
            ]
        }
        return {"x-business-use-case-usage": json.dumps(value, separators=(",", ":"))}
    if token.kind == "fb_page":
        value = {
            token.subject: [
                {
                    "type": "pages",
                    "call_count": pct,
                    "total_cputime": pct // 2,
                    "total_time": pct // 2,
                    "estimated_time_to_regain_access": 0,
                }
            ]
        }
        return {"x-business-use-case-usage": json.dumps(value, separators=(",", ":"))}
    return {"x-app-usage": f'{{"call_count":{pct},"total_time":{pct // 2},"total_cputime":{pct // 2}}}'}


def throttle_error(token: Token, minutes: int) -> GraphError:
    """The error a throttled call gets: 80002 (Instagram), 80001 (Page token) or 4 (app)."""
    if token.kind in IG_KINDS:
        what, code, kind = "Instagram", 80002, "instagram"
    elif token.kind == "fb_page":
        what, code, kind = "Page", 80001, "pages"
    else:
        return GraphError(
            4,
            "(#4) Application request limit reached",
            status=403,
            extra={"is_transient": True},
            headers={"x-app-usage": '{"call_count":100,"total_time":100,"total_cputime":100}'},
        )
    usage = {
        token.subject: [
            {
                "type": kind,
                "call_count": 100,
                "total_cputime": 100,
                "total_time": 100,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return GraphError(
        code,
        f"(#{code}) There have been too many calls to this {what} account. Wait a bit and try again. "
        "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        headers={"x-business-use-case-usage": json.dumps(usage, separators=(",", ":"))},
    )


def require_token(call: Call, product: str, params: dict[str, str] | None = None) -> Token:
    """Check the call's token (190s), count the call against the rate limit, and remember it for the log."""
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
    app = world.apps.get(token.app_id)
    if app is not None:
        subject = token.subject if token.kind in IG_KINDS or token.kind == "fb_page" else "app"
        percent, minutes = world.count_call(app, subject, world.clock.timestamp())
        if percent > 100:
            raise throttle_error(token, minutes)
        if world.switches.emit_usage_headers == "true":
            call.usage_headers = usage_percent_headers(call, token, percent)
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
