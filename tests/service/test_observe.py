"""The shared status-observing middleware under the access log and the HTTP metrics."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Scope

from igtoken.service.observe import ObservedRequestMiddleware, route_template


class Recorder(ObservedRequestMiddleware):
    """Keeps what it observed."""

    def __init__(self, app, seen: list) -> None:
        super().__init__(app)
        self.seen = seen

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        self.seen.append((scope["method"], route_template(scope), status, seconds))


async def _teapot(request):
    return PlainTextResponse("short and stout", status_code=418)


async def _boom(request):
    raise RuntimeError("kaput")


async def test_status_route_and_duration_are_observed_even_when_the_app_raises():
    """A normal answer reports its status and route template; an exception reports 500 and still raises."""
    seen: list = []
    app = Starlette(routes=[Route("/pots/{pot_id}", _teapot), Route("/boom", _boom)])
    wrapped = Recorder(app, seen)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as client:
        assert (await client.get("/pots/42")).status_code == 418
        with pytest.raises(RuntimeError, match="kaput"):
            await client.get("/boom")
    assert [(m, r, s) for m, r, s, _ in seen] == [("GET", "/pots/{pot_id}", 418), ("GET", "/boom", 500)]
    assert all(seconds >= 0 for *_, seconds in seen)


async def test_non_http_traffic_passes_through_unobserved():
    """Lifespan (and any non-HTTP scope) reaches the app untouched and is not reported."""
    seen: list = []
    reached: list = []

    async def app(scope, receive, send):
        reached.append(scope["type"])

    await Recorder(app, seen)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert reached == ["lifespan"] and seen == []


def test_log_and_metrics_middlewares_share_it():
    """The access log and the HTTP metrics are both built on the one helper."""
    from igtoken.service.logging import RequestLogMiddleware
    from igtoken.service.metrics import HTTPMetricsMiddleware

    assert issubclass(RequestLogMiddleware, ObservedRequestMiddleware)
    assert issubclass(HTTPMetricsMiddleware, ObservedRequestMiddleware)
