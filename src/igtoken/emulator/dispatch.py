"""Route a request to its virtual host and handler, apply scripted faults, render errors, log it.

This is a plain ASGI app installed as the Starlette router's default, so a request costs one
dict lookup for the host and one for the path — no per-route regex matching, no middleware.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from igtoken.emulator import facebook, instagram
from igtoken.emulator.call import Call, json_response
from igtoken.emulator.common import throttle_error
from igtoken.emulator.consent import message_page
from igtoken.emulator.errors import GraphError, InstagramError, PageError
from igtoken.emulator.faults import BEFORE_TOKEN, FAULT_KINDS
from igtoken.emulator.world import World

Handler = Callable[[Call], Awaitable[Response]]

HOSTS: Final = {
    "www.instagram.com": "www.instagram.com",
    "instagram.com": "www.instagram.com",
    "api.instagram.com": "api.instagram.com",
    "graph.instagram.com": "graph.instagram.com",
    "www.facebook.com": "www.facebook.com",
    "facebook.com": "www.facebook.com",
    "m.facebook.com": "www.facebook.com",
    "graph.facebook.com": "graph.facebook.com",
}
_VERSION: Final = re.compile(r"^v\d+(\.\d+)?$")
_FIXED: Final[dict[str, dict[tuple[str, ...], Handler]]] = {
    "www.instagram.com": {("oauth", "authorize"): instagram.authorize},
    "api.instagram.com": {
        ("oauth", "authorize"): instagram.api_authorize,
        ("oauth", "access_token"): instagram.code_exchange,
    },
    "graph.instagram.com": {
        ("access_token",): instagram.exchange_token,
        ("refresh_access_token",): instagram.refresh_token,
    },
    "www.facebook.com": {("dialog", "oauth"): facebook.dialog},
    "graph.facebook.com": {
        ("oauth", "access_token"): facebook.access_token,
        ("dialog", "oauth"): facebook.dialog,
        ("debug_token",): facebook.debug_token,
    },
}
# Fallback routes by shape: (host, number of segments, last segment or None for "any").
_EDGES: Final[dict[tuple[str, int, str | None], Handler]] = {
    ("graph.instagram.com", 1, None): instagram.me,
    ("graph.instagram.com", 2, "media"): instagram.media,
    ("graph.facebook.com", 1, None): facebook.node,
    ("graph.facebook.com", 2, "permissions"): facebook.permissions,
    ("graph.facebook.com", 2, "accounts"): facebook.accounts,
    ("graph.facebook.com", 2, "media"): facebook.ig_media,
}
#: Handlers that check an access token (``common.require_token``), where a throttle fault answers.
_TOKEN_HANDLERS: Final[frozenset[Handler]] = frozenset(
    {
        instagram.exchange_token,
        instagram.refresh_token,
        instagram.me,
        instagram.media,
        facebook.node,
        facebook.permissions,
        facebook.accounts,
        facebook.ig_media,
        facebook.debug_token,
    }
)
_OTHER: Final[dict[str, Handler]] = {
    "www.instagram.com": instagram.www_other,
    "api.instagram.com": instagram.www_other,
    "graph.instagram.com": instagram.graph_other,
    "www.facebook.com": facebook.www_other,
    "graph.facebook.com": facebook.other,
}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _guess_host(scope: Scope, segments: list[str], world: World) -> str:
    """Pick a host for a bare loopback path; unambiguous paths first, then the token's prefix."""
    key = tuple(segments)
    if key == ("oauth", "authorize"):
        return "www.instagram.com"
    if key == ("dialog", "oauth"):
        return "www.facebook.com"
    if key in (("access_token",), ("refresh_access_token",)):
        return "graph.instagram.com"
    if key == ("debug_token",):
        return "graph.facebook.com"
    if key == ("oauth", "access_token"):
        # api.instagram.com and graph.facebook.com share this path; the client id tells them apart
        # (a form body is not read here, so a POST without client_id in the query is taken as Instagram
        # unless it names a Facebook grant or carries HTTP Basic credentials).
        query = scope.get("query_string", b"").decode("latin-1")
        if "grant_type=fb_exchange_token" in query or "grant_type=client_credentials" in query:
            return "graph.facebook.com"
        match = re.search(r"(?:^|&)client_id=(\d+)", query)
        if match:
            return "api.instagram.com" if match.group(1) in world.apps_by_ig_id else "graph.facebook.com"
        if scope["method"] == "GET" or (_header(scope, b"authorization") or "").lower().startswith("basic "):
            return "graph.facebook.com"
        return "api.instagram.com"
    query = scope.get("query_string", b"").decode("latin-1")
    match = re.search(r"(?:^|&)access_token=([^&]*)", query)
    token = match.group(1) if match else (_header(scope, b"authorization") or "").partition(" ")[2]
    return "graph.instagram.com" if token.startswith("IG") else "graph.facebook.com"


class Dispatcher:
    """The emulator's ASGI entry point for every non-lifespan request."""

    def __init__(
        self, world: World, control: Callable[[Request, World, list[str]], Awaitable[Response]]
    ) -> None:
        self.world = world
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # websockets are not part of Meta's surface
            return
        request = Request(scope, receive)
        raw = [s for s in scope["path"].split("/") if s]
        if raw and raw[0] == "_emulator":
            response = await self.control(request, self.world, raw[1:])
            await response(scope, receive, send)
            return
        if raw and raw[0] in HOSTS:
            host, mode, segments = HOSTS[raw[0]], "prefix", raw[1:]
        else:
            named = _header(scope, b"x-forwarded-host") or _header(scope, b"host") or ""
            named = named.split(":", 1)[0].lower()
            segments = raw
            if named in HOSTS:
                host, mode = HOSTS[named], "header"
            elif not raw:
                await _index(self.world)(scope, receive, send)
                return
            else:
                host, mode = "", "guess"
        if segments and _VERSION.match(segments[0]):
            segments = segments[1:]
        if mode == "guess":
            host = _guess_host(scope, segments, self.world)
        call = Call(request, self.world, host, segments, mode)
        response = await self._handle(call)
        await response(scope, receive, send)
        world = self.world
        token = call.token
        world.log.add(
            time=world.clock.timestamp(),
            method=call.method,
            host=host,
            path="/" + "/".join(segments),
            endpoint=call.endpoint,
            status=response.status_code,
            query=call.query_string,
            form=call.form,
            token_id=token.token_id if token is not None else None,
            account=call.account,
            auth_header=_header(scope, b"authorization") is not None,
        )

    async def _handle(self, call: Call) -> Response:
        handler = _route(call.host, call.segments)
        fault_response: Response | None = None
        try:
            if self.world.faults._faults:
                call.endpoint = _endpoint_name(call, handler)
                fault_response = await self._fault(call, handler)
            if fault_response is not None:
                return fault_response
            return await handler(call)
        except GraphError as exc:
            status = exc.status
            if status is None:
                status = int(self.world.switches.error_status_190) if exc.code == 190 else 400
            return json_response(exc.body(), status, exc.headers)
        except InstagramError as exc:
            return json_response(exc.body(), 400)
        except PageError as exc:
            return message_page(exc.title, exc.message, exc.status)

    async def _fault(self, call: Call, handler: Handler) -> Response | None:
        # A throttle's answer depends on the token (which limit, which business object), so on an
        # endpoint that takes one it is left to require_token; elsewhere it is the app's limit.
        token_call = handler in _TOKEN_HANDLERS
        fault = self.world.faults.take(call.endpoint, BEFORE_TOKEN if token_call else FAULT_KINDS)
        if fault is None:
            return None
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_seconds if fault.delay_seconds is not None else 2.0)
            return None
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay_seconds if fault.delay_seconds is not None else 60.0)
            return Response(
                "upstream request timeout", status_code=fault.status or 504, media_type="text/plain"
            )
        if fault.kind == "malformed":
            body = fault.body if fault.body is not None else '{"access_token": "IGAA'
            return Response(
                body, status_code=fault.status or 200, media_type="application/json; charset=UTF-8"
            )
        if fault.kind == "throttle":
            raise throttle_error(None, fault.wait_minutes, status=fault.status)
        raise GraphError(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            status=fault.status or 500,
            extra={"is_transient": True},
        )


def _route(host: str, segments: list[str]) -> Handler:
    fixed = _FIXED.get(host, {}).get(tuple(segments))
    if fixed is not None:
        return fixed
    n = len(segments)
    if n:
        edge = _EDGES.get((host, n, segments[-1] if n > 1 else None))
        if edge is not None:
            return edge
    return _OTHER.get(host, instagram.graph_other)


_NAMES: Final[dict[Handler, str]] = {
    instagram.authorize: "ig_authorize",
    instagram.api_authorize: "ig_api_authorize",
    instagram.code_exchange: "ig_code_exchange",
    instagram.exchange_token: "ig_exchange_token",
    instagram.refresh_token: "ig_refresh_token",
    instagram.media: "ig_media",
    facebook.dialog: "fb_dialog",
    facebook.debug_token: "fb_debug_token",
    facebook.permissions: "fb_permissions",
    facebook.accounts: "fb_accounts",
    facebook.ig_media: "fb_ig_media",
}


def _endpoint_name(call: Call, handler: Handler) -> str:
    """The endpoint name a fault is matched against, known before the handler runs."""
    if handler is instagram.me:
        return "ig_me" if call.segments[0] == "me" else "ig_user"
    if handler is facebook.node:
        return "fb_me" if call.segments[0] == "me" else "fb_node"
    if handler is facebook.access_token:
        grant = call.query.get("grant_type", "authorization_code")
        return {"fb_exchange_token": "fb_exchange_token", "client_credentials": "fb_client_credentials"}.get(
            grant, "fb_code_exchange"
        )
    return _NAMES.get(handler, "unknown")


def _index(world: World) -> Response:
    return json_response(
        {
            "emulator": "igtoken Meta platform emulator",
            "hosts": sorted(set(HOSTS.values())),
            "path_prefix_example": "/graph.instagram.com/refresh_access_token",
            "control": "/_emulator/world",
            "docs": "docs/emulator.md",
            "apps": [
                {"name": a.name, "instagram_app_id": a.instagram_app_id, "meta_app_id": a.meta_app_id}
                for a in list(world.apps.values())[:20]
            ],
        }
    )
