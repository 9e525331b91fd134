"""The one status-observing ASGI wrapper the access log and the HTTP metrics share.

Both need the same three facts about every HTTP request once it is over: the matched
route (its template, never the raw path), the status sent, and how long it took. A
response that never started (the app raised) counts as 500.
"""

from __future__ import annotations

import time

from starlette.types import Message, Receive, Scope, Send

from igtoken.service.asgi import HTTPMiddleware

__all__ = ["ObservedRequestMiddleware", "route_template"]


def route_template(scope: Scope) -> str:
    """The matched route's template (``/dashboard/accounts/{account_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "<unmatched>"


class ObservedRequestMiddleware(HTTPMiddleware):
    """Passes every request through, then calls :meth:`finished` with its status and duration.

    Subclasses implement :meth:`finished`; non-HTTP traffic (lifespan, websockets) goes
    straight through unobserved.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self.finished(scope, status, time.perf_counter() - start)

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        """Called once per HTTP request, after it ended (also when it raised)."""
        raise NotImplementedError
