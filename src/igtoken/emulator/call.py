"""One request as the emulator's handlers see it: which host it was meant for, its parameters, its token."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response

from igtoken.emulator.model import Token
from igtoken.emulator.world import World

JSON_TYPE = "application/json; charset=UTF-8"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response with the content type every client accepts."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type=JSON_TYPE)


class Call:
    """The request plus what routing found out: virtual host, path segments, endpoint name.

    ``mode`` says how the host was chosen: ``prefix`` (``/graph.instagram.com/…``), ``header``
    (``Host`` / ``X-Forwarded-Host``) or ``guess`` (a bare loopback path; see docs/emulator.md).
    """

    __slots__ = (
        "account",
        "endpoint",
        "form",
        "host",
        "method",
        "mode",
        "pairs",
        "query",
        "query_string",
        "request",
        "segments",
        "token",
        "usage_headers",
        "world",
    )

    def __init__(self, request: Request, world: World, host: str, segments: list[str], mode: str) -> None:
        self.request = request
        self.world = world
        self.host = host
        self.segments = segments
        self.mode = mode
        self.method = request.method
        # Read the raw scope rather than request.url: building a URL object costs more than the handler.
        self.query_string: str = request.scope["query_string"].decode("latin-1")
        self.pairs = parse_qsl(self.query_string, keep_blank_values=True)
        self.query: dict[str, str] = dict(self.pairs)
        self.form: list[tuple[str, str]] | None = None
        self.endpoint = "unknown"
        self.token: Token | None = None
        self.account: str | None = None
        self.usage_headers: dict[str, str] | None = None

    async def read_form(self) -> dict[str, str]:
        """Form fields from the body (urlencoded or multipart); a JSON body yields none, as at Meta."""
        if self.form is None:
            ctype = self.request.headers.get("content-type", "")
            if ctype.startswith("multipart/form-data"):
                async with self.request.form() as form:
                    self.form = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            elif ctype.startswith("application/x-www-form-urlencoded") or (
                not ctype and self.method in ("POST", "PUT")
            ):
                raw = await self.request.body()
                self.form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
            else:
                self.form = []
        return dict(self.form)

    async def params(self) -> dict[str, str]:
        """Query and form merged (form wins); GET with a form body counts too (Authlib sends that)."""
        merged = dict(self.query)
        merged.update(await self.read_form())
        return merged

    def basic_credentials(self) -> tuple[str, str] | None:
        """``(client_id, client_secret)`` from an ``Authorization: Basic`` header, if there is one."""
        header = self.request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            return None
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret) if sep else None

    def token_value(self, params: dict[str, str] | None = None) -> str | None:
        """The access token: ``access_token`` parameter first, else ``Authorization: Bearer``/``OAuth``."""
        value = (params or self.query).get("access_token")
        if value:
            return value
        header = self.request.headers.get("authorization")
        if header:
            scheme, _, rest = header.partition(" ")
            if scheme.lower() in ("bearer", "oauth") and rest.strip():
                return rest.strip()
        return None

    def fields(self, default: tuple[str, ...]) -> list[str]:
        """``fields`` as ``a,b``, ``a, b`` or repeated keys, in order, without duplicates.

        Graph field expansion (``instagram_business_account{id,username}``) stays one name;
        :func:`split_field` takes it apart.
        """
        names: list[str] = []
        for chunk in (value for key, value in self.pairs if key == "fields"):
            for name in _top_level(chunk):
                name = name.strip()
                if name and name not in names:
                    names.append(name)
        return names or list(default)

    def url_for(self, host: str, path: str, query: dict[str, str] | None = None) -> str:
        """An absolute URL for ``host``+``path`` that leads back to this emulator, however it was reached."""
        url = self.request.url
        if self.mode == "prefix":
            base = f"{url.scheme}://{url.netloc}/{host}"
        elif self.mode == "header":
            base = f"{url.scheme}://{host}"
        else:
            base = f"{url.scheme}://{url.netloc}"
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{base}{path}{suffix}"

    def self_url(self, query: dict[str, str]) -> str:
        """This request's own URL with a new query (for ``paging.next``)."""
        url = self.request.url
        return str(url.replace(query=urlencode(query)))


def _top_level(chunk: str) -> list[str]:
    """Split a fields value on the commas outside braces."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(chunk):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append(chunk[start:index])
            start = index + 1
    parts.append(chunk[start:])
    return parts


def split_field(name: str) -> tuple[str, list[str] | None]:
    """``"a{b,c}"`` → ``("a", ["b", "c"])``; ``"a"`` → ``("a", None)`` (a field without expansion)."""
    base, brace, rest = name.partition("{")
    if not brace:
        return name, None
    inner = rest[:-1] if rest.endswith("}") else rest
    subfields: list[str] = []
    for sub in _top_level(inner):
        sub = sub.strip()
        if sub and sub not in subfields:
            subfields.append(sub)
    return base.strip(), subfields
