"""The worker's HTTP client parts (see ``worker_http``): a transport that spreads requests over
several connection pools, a network backend whose connections answer httpcore's "is it readable?"
cheaply, and a client that keeps no cookies."""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import httpcore
import httpx

__all__ = ["CheapCheckBackend", "CookielessClient", "SpreadTransport", "use_backend"]


class SpreadTransport(httpx.AsyncBaseTransport):
    """Sends each request through the pool with the fewest requests in flight (until its body is closed)."""

    def __init__(self, transports: Sequence[httpx.AsyncBaseTransport]) -> None:
        if not transports:
            raise ValueError("at least one transport")
        self._transports = list(transports)
        self._busy = [0] * len(self._transports)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self._busy
        pick = busy.index(min(busy))
        busy[pick] += 1
        try:
            response = await self._transports[pick].handle_async_request(request)
        except BaseException:
            busy[pick] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Counted(response.stream, busy, pick),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool's in-flight count when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, busy: list[int], pick: int) -> None:
        self._stream, self._busy, self._pick, self._open = stream, busy, pick, True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._busy[self._pick] -= 1
        await self._stream.aclose()


# -- the network backend --------------------------------------------------------------------------


class _CheapCheckStream(httpcore.AsyncNetworkStream):
    """A connection that keeps its socket at hand for httpcore's idle-connection check.

    httpcore asks each idle connection of a pool, on every request the pool starts or ends,
    whether the server closed it (``get_extra_info("is_readable")``). anyio answers by building a
    table of every attribute of the socket, a ``getpeername`` system call included, each time:
    with a worker's dozens of kept-alive connections that was a good part of a call's CPU.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._poll: Any = None

    def _readable(self) -> bool:
        """httpcore's check (something to read, or the socket gone), with one poll set per connection."""
        sock = self._socket
        fd = -1 if sock is None else sock.fileno()
        if fd < 0:  # closed: its number may belong to another socket by now, so no poll
            return True
        if self._poll is None:
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN)
        return bool(self._poll.poll(0))

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface, as below)
    ) -> httpcore.AsyncNetworkStream:
        return _CheapCheckStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._readable()
        if info == "socket":
            return self._socket
        return self._inner.get_extra_info(info)


class CheapCheckBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, with connections that answer "is it readable?" cheaply."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CheapCheckStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _CheapCheckStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def use_backend(transport: httpx.AsyncHTTPTransport, backend: httpcore.AsyncNetworkBackend) -> bool:
    """Make ``transport``'s connection pool open its connections through ``backend``.

    httpx builds the pool itself and takes no backend, so this sets the pool's; ``False`` (and
    nothing changed) if this httpx or httpcore keeps it elsewhere.
    """
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        return False
    pool._network_backend = backend
    return True


# -- the client -----------------------------------------------------------------------------------


class _NoCookies(httpx.Cookies):
    """A cookie store that keeps none of the cookies it is offered."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class CookielessClient(httpx.AsyncClient):
    """An :class:`httpx.AsyncClient` that neither stores nor sends cookies.

    The worker calls Meta for many accounts over one client: a cookie one account's answer set
    must not ride along on another account's call. And httpx reads every response's cookies
    through :mod:`http.cookiejar`, which builds a :class:`urllib.request.Request` for each one:
    a noticeable part of a call's CPU, for nothing.
    """

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty."""
        return _NoCookies()

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("this client keeps no cookies")
