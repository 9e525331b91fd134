"""The Graph proxy's seams: which paths it forwards, how much body it reads, and its paging links.

Pure helpers for :func:`igtoken.service.routes.api.graph_proxy`, kept apart so each rule
reads on its own:

- :func:`check_graph_path`: only plain Graph paths (``me``, ``me/media``, ``1784…/insights``)
  are forwarded; control characters, empty or dot segments, anything outside
  ``[A-Za-z0-9_.-]`` is refused (400) before a URL is built from it.
- :func:`read_body`: a body larger than the limit is refused (413) from its ``Content-Length``,
  or, when streamed, as soon as the bytes read pass the limit; it is never read whole.
- :func:`proxy_paging`: Meta's ``paging.next``/``previous`` links carry the raw token (and on
  graph.facebook.com its proof); they are rewritten to the proxy's own URL for the same Graph
  path, without them. A link that does not point at the account's Graph host is removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException

__all__ = [
    "CALLER_CREDENTIALS",
    "check_graph_path",
    "proxy_paging",
    "read_body",
]

#: Query parameters of the caller never forwarded (any case): the proxy sends the account's token and
#: its own ``appsecret_proof``. Meta's Graph API takes no ``appsecret_time`` with Facebook Login tokens;
#: a caller's one would make Meta check a proof of ``token|time`` instead, so it is dropped too.
CALLER_CREDENTIALS: Final = frozenset({"access_token", "appsecret_proof", "appsecret_time"})
MAX_PATH_LENGTH: Final = 512
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_VERSION = re.compile(r"v\d{1,3}\.\d{1,2}")


class _AnyPath(Convertor[str]):
    """``{name:graph_path}``: like ``path``, but also matching control characters (``%0A``, ``%0D``)
    so such paths reach :func:`check_graph_path` and get a 400 rather than a 404 or, worse, a match
    with the trailing newline cut off."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_path", _AnyPath())


def check_graph_path(path: str) -> str:
    """``path`` if it is a plain relative Graph path, else :class:`HTTPException` 400."""
    segments = path.split("/")
    if (
        not path
        or len(path) > MAX_PATH_LENGTH
        or any(s in ("", ".", "..") or not _SEGMENT.fullmatch(s) for s in segments)
    ):
        raise HTTPException(
            400,
            "the Graph path must be relative and made of letters, digits, '_', '-' and '.', "
            "e.g. me/media or 17841400000000001/insights",
        )
    return path


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; a larger one is refused (413) without reading it whole."""
    too_large = HTTPException(413, f"the request body is larger than the proxy's limit of {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HTTPException(400, "Content-Length is not a number") from None
        if size > limit:
            raise too_large
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def proxy_paging(body: Any, *, graph_root: str, proxy_base: str) -> bool:
    """Rewrite every ``paging.next``/``previous`` in ``body`` (in place); whether anything changed.

    ``graph_root`` is the account's Graph host as igtoken reaches it (``https://graph.instagram.com``
    or the emulator's prefix), ``proxy_base`` the proxy's URL for the account, ending in ``/graph``.
    """
    changed = False
    for paging in _pagings(body):
        for key in ("next", "previous"):
            link = paging.get(key)
            if not isinstance(link, str):
                continue
            rewritten = _proxy_link(link, graph_root, proxy_base)
            if rewritten is None:
                del paging[key]
            else:
                paging[key] = rewritten
            changed = True
    return changed


def _pagings(node: Any) -> Iterable[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            paging = item.get("paging")
            if isinstance(paging, dict):
                yield paging
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _proxy_link(link: str, graph_root: str, proxy_base: str) -> str | None:
    try:
        parts, root = urlsplit(link), urlsplit(graph_root)
    except ValueError:
        return None
    prefix = root.path.rstrip("/") + "/"
    if (
        parts.scheme.lower() != root.scheme.lower()
        or parts.netloc.lower() != root.netloc.lower()
        or not parts.path.startswith(prefix)
    ):
        return None
    path = parts.path[len(prefix) :]
    first, _, rest = path.partition("/")
    if _VERSION.fullmatch(first) and rest:
        path = rest  # the proxy adds igtoken's own Graph version
    try:
        check_graph_path(path)
    except HTTPException:
        return None
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in CALLER_CREDENTIALS
    ]
    target = f"{proxy_base.rstrip('/')}/{quote(path)}"
    return f"{target}?{urlencode(query)}" if query else target
