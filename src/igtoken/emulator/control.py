"""The control API under ``/_emulator/``: JSON in, JSON out, for tests and curious people.

Every route is listed in docs/emulator.md. Errors answer 400 ``{"error": "..."}`` (404 for an
unknown route), never a Meta-shaped body, so a test cannot mistake a control failure for Meta's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from igtoken.emulator.call import json_response
from igtoken.emulator.faults import FaultError
from igtoken.emulator.switches import SWITCHES, SwitchError
from igtoken.emulator.world import World, WorldError

Route = Callable[[Request, World, list[str], dict[str, Any]], Awaitable[Any]]


class ControlError(ValueError):
    """A control request that is malformed."""


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ControlError(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def _need(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] in (None, ""):
        raise ControlError(f"missing required field {name!r}")
    return body[name]


# ---------------------------------------------------------------------------------------------- world


async def get_world(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return world.view()


async def get_switches(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return {
        "switches": world.switches.as_dict(),
        "spec": [
            {"name": s.name, "values": list(s.values), "default": s.default, "evidence": s.evidence}
            for s in SWITCHES
        ],
    }


async def patch_switches(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    with world.lock:
        world.switches.update(body)
        world.touch()
    return {"switches": world.switches.as_dict()}


async def get_clock(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return {
        "now": world.clock.now().isoformat(),
        "timestamp": world.clock.timestamp(),
        "frozen": world.clock.frozen,
    }


async def clock_advance(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    seconds = body.get("seconds", 0) + body.get("hours", 0) * 3600 + body.get("days", 0) * 86400
    if not isinstance(seconds, int | float) or not seconds:
        raise ControlError("give 'seconds', 'hours' or 'days' (numbers) to advance the clock by")
    world.clock.advance(seconds)
    world.touch()
    return await get_clock(request, world, rest, body)


async def clock_set(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    try:
        when = datetime.fromisoformat(str(_need(body, "now")))
    except ValueError as exc:
        raise ControlError(f"'now' must be an ISO-8601 time with a zone: {exc}") from exc
    world.clock.set(when)
    world.touch()
    return await get_clock(request, world, rest, body)


# ------------------------------------------------------------------------------ apps, accounts, users


async def post_app(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return world.create_app(**body).as_json()


async def patch_app(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return world.update_app(rest[0], **body).as_json()


async def get_app(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return world.find_app(rest[0]).as_json()


async def post_accounts(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    if "count" in body:
        made = world.create_accounts(
            int(body["count"]),
            prefix=body.get("prefix", "load_"),
            account_type=body.get("account_type", "BUSINESS"),
            media_count=int(body.get("media_count", 0)),
        )
        return {"created": len(made), "accounts": [{"username": a.username, "ig_id": a.ig_id} for a in made]}
    if "accounts" in body:
        made = [world.create_account(**spec) for spec in body["accounts"]]
        return {"created": len(made), "accounts": [a.as_json() for a in made]}
    return world.create_account(**body).as_json()


async def get_account(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    account = world.find_account(rest[0])
    scoped = {
        app_id: world.scoped_id(app_id, account.ig_id)
        for app_id, app in world.apps.items()
        if app.instagram_app_id
    }
    return {**account.as_json(), "app_scoped_ids": scoped}


async def password_change(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    world.change_password(rest[0])
    return {"ok": True, "password_changed_at": world.clock.timestamp()}


async def fire_deauthorize(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    app_id = str(_need(body, "app_id"))
    return await run_in_threadpool(world.fire_deauthorize, app_id, rest[0], product=body.get("product"))


async def fire_data_deletion(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    app_id = str(_need(body, "app_id"))
    return await run_in_threadpool(world.fire_data_deletion, app_id, rest[0], product=body.get("product"))


async def post_fb_user(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    pages = body.pop("pages", [])
    user = world.create_facebook_user(**body)
    for spec in pages:
        world.add_page(user.username, **spec)
    return {**user.as_json(), "pages": [world.pages[p].as_json() for p in user.page_ids]}


async def post_page(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    owner = str(_need(body, "owner"))
    name = str(_need(body, "name"))
    extra = {k: v for k, v in body.items() if k not in ("owner", "name")}
    return world.add_page(owner, name, **extra).as_json()


# ---------------------------------------------------------------------------------------------- tokens


def _mint_one(world: World, body: dict[str, Any], subject: str) -> dict[str, Any]:
    offset = float(body.get("issued_at_offset_seconds", 0))
    token = world.mint_token(
        str(_need(body, "app_id")),
        str(body.get("kind", "ig_long")),
        subject,
        scopes=body.get("scopes"),
        issued_at=world.clock.timestamp() + offset,
        ttl=body.get("ttl_seconds"),
    )
    return token.as_json()


async def post_tokens(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    if "usernames" in body or "subjects" in body:
        subjects = body.get("usernames") or body.get("subjects") or []
        with world.lock:
            return {"tokens": [_mint_one(world, body, str(s)) for s in subjects]}
    subject = body.get("username") or body.get("user_id") or body.get("subject")
    if not subject:
        raise ControlError("give 'username', 'user_id' or 'subject' (or 'usernames' for many)")
    return _mint_one(world, body, str(subject))


async def get_token(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    token = world.tokens.get(rest[0])
    if token is None:
        raise WorldError("no such token")
    problem = world.token_problem(token, world.clock.timestamp())
    status = "valid" if problem is None else ("expired" if problem.subcode == 463 else "revoked")
    return {
        **token.as_json(),
        "status": status,
        "error": None
        if problem is None
        else {"code": problem.code, "subcode": problem.subcode, "message": problem.message},
    }


async def revoke_token(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    token = world.revoke_token(str(_need(body, "access_token")), int(body.get("subcode", 467)))
    return {"ok": True, "token_id": token.token_id, "revoked": token.revoked}


# ------------------------------------------------------------------------------- webhooks and faults


async def webhook_verify(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    app_id = str(_need(body, "app_id"))
    return await run_in_threadpool(world.verify_webhook, app_id, verify_token=body.get("verify_token"))


async def webhook_event(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    app_id = str(_need(body, "app_id"))
    return await run_in_threadpool(
        world.send_webhook_event,
        app_id,
        payload=body.get("payload"),
        who=body.get("username"),
        field=body.get("field", "comments"),
        non_ascii=bool(body.get("non_ascii", True)),
        product=body.get("product"),
    )


async def get_faults(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return {"faults": [f.as_json() for f in world.faults.all()]}


async def post_fault(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    endpoint = str(_need(body, "endpoint"))
    kind = str(_need(body, "kind"))
    extra = {k: v for k, v in body.items() if k not in ("endpoint", "kind")}
    return world.faults.add(endpoint, kind, **extra).as_json()


async def delete_faults(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return {"removed": world.faults.remove(rest[0] if rest else None)}


# ------------------------------------------------------------------------------------------ request log


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    status = q.get("status")
    return {
        "endpoint": q.get("endpoint"),
        "path": q.get("path"),
        "host": q.get("host"),
        "account": q.get("account"),
        "token_id": q.get("token_id"),
        "method": q.get("method"),
        "status": int(status) if status else None,
    }


async def get_requests(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    entries = world.log.entries(**_filters(request))
    limit = request.query_params.get("limit")
    shown = entries[-int(limit) :] if limit else entries
    return {"count": len(entries), "dropped": world.log.dropped, "requests": [e.as_json() for e in shown]}


async def count_requests(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    entries = world.log.entries(**_filters(request))
    by = request.query_params.get("by")
    out: dict[str, Any] = {"count": len(entries)}
    if by in ("account", "token_id", "endpoint", "status"):
        counts: dict[str, int] = {}
        for e in entries:
            key = str(getattr(e, by))
            counts[key] = counts.get(key, 0) + 1
        out["by"] = {by: counts}
    return out


async def clear_requests(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    return {"cleared": world.log.clear()}


async def get_outbound(request: Request, world: World, rest: list[str], body: dict[str, Any]) -> Any:
    with world.lock:
        return {"calls": list(world.outbound_log)}


# ---------------------------------------------------------------------------------------------- routing

_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "world"): get_world,
    ("GET", "switches"): get_switches,
    ("PATCH", "switches"): patch_switches,
    ("GET", "clock"): get_clock,
    ("POST", "clock/advance"): clock_advance,
    ("POST", "clock/set"): clock_set,
    ("POST", "apps"): post_app,
    ("PATCH", "apps/*"): patch_app,
    ("GET", "apps/*"): get_app,
    ("POST", "accounts"): post_accounts,
    ("GET", "accounts/*"): get_account,
    ("POST", "accounts/*/password-change"): password_change,
    ("POST", "accounts/*/deauthorize"): fire_deauthorize,
    ("POST", "accounts/*/data-deletion"): fire_data_deletion,
    ("POST", "facebook-users"): post_fb_user,
    ("POST", "facebook-users/*/password-change"): password_change,
    ("POST", "facebook-users/*/deauthorize"): fire_deauthorize,
    ("POST", "facebook-users/*/data-deletion"): fire_data_deletion,
    ("POST", "pages"): post_page,
    ("POST", "tokens"): post_tokens,
    ("POST", "tokens/revoke"): revoke_token,
    ("GET", "tokens/*"): get_token,
    ("POST", "webhooks/verify"): webhook_verify,
    ("POST", "webhooks/event"): webhook_event,
    ("GET", "faults"): get_faults,
    ("POST", "faults"): post_fault,
    ("DELETE", "faults"): delete_faults,
    ("DELETE", "faults/*"): delete_faults,
    ("GET", "requests"): get_requests,
    ("GET", "requests/count"): count_requests,
    ("DELETE", "requests"): clear_requests,
    ("GET", "outbound"): get_outbound,
}


def _match(method: str, segments: list[str]) -> tuple[Route, list[str]] | None:
    exact = _ROUTES.get((method, "/".join(segments)))
    if exact is not None:
        return exact, []
    for (m, pattern), route in _ROUTES.items():
        parts = pattern.split("/")
        if m != method or len(parts) != len(segments):
            continue
        if all(p in ("*", s) for p, s in zip(parts, segments, strict=True)):
            return route, [s for p, s in zip(parts, segments, strict=True) if p == "*"]
    return None


async def handle(request: Request, world: World, segments: list[str]) -> Response:
    """Serve one ``/_emulator/...`` request."""
    found = _match(request.method, segments)
    if found is None:
        return json_response(
            {
                "error": f"no control route {request.method} /_emulator/{'/'.join(segments)}; "
                "see docs/emulator.md"
            },
            404,
        )
    route, args = found
    try:
        body = await _body(request) if request.method in ("POST", "PATCH", "PUT") else {}
        result = await route(request, world, args, body)
    except (ControlError, WorldError, SwitchError, FaultError) as exc:
        return json_response({"error": str(exc)}, 400)
    except (TypeError, ValueError) as exc:
        return json_response({"error": f"bad control request: {exc}"}, 400)
    return json_response(result)
