"""An httpx transport that spreads requests over several connection pools (see ``worker_http``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx

__all__ = ["SpreadTransport"]


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
