"""A small scripted stand-in for Meta's token hosts, served through httpx.MockTransport or real loopback HTTP.

It is not the emulator (that is built separately): it answers the happy path
with Meta's observed shapes, and ``fail`` scripts an error for a given path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

from .ig_meta_fakes import (
    APP_ID,
    APP_SCOPED_ID,
    APP_SECRET,
    CODE,
    IG_USER_ID,
    LONG_TOKEN,
    REDIRECT_URI,
    REFRESHED_TOKEN,
    SHORT_TOKEN,
)

HOSTS = {
    "www.instagram.com",
    "api.instagram.com",
    "graph.instagram.com",
    "www.facebook.com",
    "graph.facebook.com",
}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def _graph_error(code: int, message: str, subcode: int | None = None) -> httpx.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Fz54k3GZrio",
    }
    if subcode:
        error["error_subcode"] = subcode
    return _json(400, {"error": error})


@dataclass
class FakeMeta:
    """Callable as an httpx MockTransport handler; records every request it saw."""

    account_type: str = "BUSINESS"
    seen: list[httpx.Request] = field(default_factory=list)
    #: path -> list of responses to give (in order) before answering normally.
    script: dict[str, list[httpx.Response]] = field(default_factory=dict)

    def fail(self, path: str, *responses: httpx.Response) -> None:
        self.script.setdefault(path, []).extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.host in HOSTS:
            path = request.url.path
        else:
            # Emulator form: /<host>/<path>
            path = "/" + request.url.path.lstrip("/").partition("/")[2]
        scripted = self.script.get(path)
        if scripted:
            return scripted.pop(0)
        usage = {"x-app-usage": json.dumps({"call_count": 12, "total_time": 3, "total_cputime": 2})}
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if path == "/oauth/access_token" and request.method == "POST":
            body = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if body.get("client_id") != APP_ID:
                return _json(
                    400,
                    {"error_type": "OAuthException", "code": 400, "error_message": "Invalid platform app"},
                )
            if body.get("client_secret") != APP_SECRET or body.get("redirect_uri") != REDIRECT_URI:
                msg = (
                    "Error validating verification code. Please make sure your redirect_uri is identical "
                    "to the one you used in the OAuth dialog request."
                )
                return _json(400, {"error_type": "OAuthException", "code": 400, "error_message": msg})
            if body.get("code") != CODE:
                return _json(
                    400,
                    {
                        "error_type": "OAuthException",
                        "code": 400,
                        "error_message": "Invalid authorization code",
                    },
                )
            return _json(
                200,
                {
                    "access_token": SHORT_TOKEN,
                    "user_id": int(APP_SCOPED_ID),
                    "permissions": ["instagram_business_basic"],
                },
            )
        if path.endswith("/access_token") and query.get("grant_type") == "ig_exchange_token":
            if query.get("client_secret") != APP_SECRET:
                return _graph_error(100, "Error validating client secret.")
            if query.get("access_token") != SHORT_TOKEN:
                return _graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            return _json(
                200, {"access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5183944}, usage
            )
        if path.endswith("/refresh_access_token"):
            if query.get("access_token") not in (LONG_TOKEN, REFRESHED_TOKEN):
                return _graph_error(190, f"Malformed access token {query.get('access_token')}")
            return _json(
                200, {"access_token": REFRESHED_TOKEN, "token_type": "bearer", "expires_in": 5183944}, usage
            )
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if path.endswith(("/me", "/media")):
            if bearer not in (LONG_TOKEN, REFRESHED_TOKEN):
                return _graph_error(190, "Error validating access token: Session has expired", 463)
            if path.endswith("/me"):
                return _json(
                    200,
                    {
                        "user_id": IG_USER_ID,
                        "username": "acme",
                        "id": APP_SCOPED_ID,
                        "account_type": self.account_type,
                    },
                    usage,
                )
            if query.get("after") == "P2":
                return _json(200, {"data": [{"id": "3"}], "paging": {"cursors": {"before": "P2"}}})
            nxt = (
                f"https://graph.instagram.com/v25.0/{IG_USER_ID}/media?access_token={bearer}&limit=2&after=P2"
            )
            return _json(200, {"data": [{"id": "1"}, {"id": "2"}], "paging": {"next": nxt}})
        return httpx.Response(
            404, text="<html>Sorry, this page isn't available.</html>", headers={"content-type": "text/html"}
        )


@contextmanager
def serve(app: FakeMeta) -> Iterator[str]:
    """Serve ``app`` over real HTTP on 127.0.0.1 (ephemeral port); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = httpx.Request(
                self.command,
                f"http://127.0.0.1:{self.server.server_address[1]}{self.path}",  # type: ignore[index]
                headers=dict(self.headers),
                content=body,
            )
            response = app(request)
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() not in {"content-length", "transfer-encoding"}:
                    self.send_header(key, value)
            self.send_header("content-length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
