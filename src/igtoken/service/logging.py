"""The service's request log and request ids; the formats and redaction live in :mod:`igtoken.app.logs`.

:class:`RequestIdMiddleware` gives every request one id (the caller's ``X-Request-Id`` when it
is a plain token, else a new one), puts it in every log line the request causes and in the
``X-Request-Id`` answer header. :class:`RequestLogMiddleware` writes one line per request.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from igtoken.app.logs import request_id
from igtoken.service.asgi import HTTPMiddleware
from igtoken.service.observe import ObservedRequestMiddleware, route_template

__all__ = ["REQUEST_ID_HEADER", "RequestIdMiddleware", "RequestLogMiddleware"]

REQUEST_ID_HEADER: Final = "x-request-id"
# A caller's id is kept only if it is short and plain (it goes into logs and a header).
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware(HTTPMiddleware):
    """One id per HTTP request: in :data:`~igtoken.app.logs.request_id` while it runs, and in its answer."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = ""
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER.encode():
                given = value.decode("latin-1")
                break
        rid = given if _GOOD_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


class RequestLogMiddleware(ObservedRequestMiddleware):
    """One line per request: method, route template, status, duration (no query string, ever)."""

    def __init__(self, app: ASGIApp, *, logger: logging.Logger | None = None) -> None:
        super().__init__(app)
        self.log = logger or logging.getLogger("igtoken.service.access")

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        """Log the request."""
        client = scope.get("client")
        self.log.info(
            "request",
            extra={
                "method": scope.get("method"),
                "route": route_template(scope),
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": client[0] if client else None,
            },
        )
