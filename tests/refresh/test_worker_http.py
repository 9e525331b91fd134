"""The worker's HTTP client: calls spread over small connection pools, each counted until its body closes."""

from __future__ import annotations

import asyncio
import ssl
from typing import ClassVar

import httpx
import pytest

from igtoken.app._pools import CheapCheckBackend, SpreadTransport, use_backend
from igtoken.app.refresh_wiring import worker_http


async def test_requests_go_to_the_least_busy_pool_and_are_counted_until_closed() -> None:
    release = asyncio.Event()
    seen: list[int] = []

    def pool(n: int) -> httpx.AsyncBaseTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            seen.append(n)
            await release.wait()
            return httpx.Response(200, json={"pool": n})

        return httpx.MockTransport(handler)

    spread = SpreadTransport([pool(0), pool(1), pool(2)])
    async with httpx.AsyncClient(transport=spread, base_url="https://graph.example") as client:
        calls = [asyncio.create_task(client.get("/x")) for _ in range(6)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert sorted(seen) == [0, 0, 1, 1, 2, 2] and spread._busy == [2, 2, 2]
        release.set()
        answers = await asyncio.gather(*calls)
        assert [a.status_code for a in answers] == [200] * 6
        assert spread._busy == [0, 0, 0]  # every body read and closed


async def test_a_failed_request_frees_its_pool() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    spread = SpreadTransport([httpx.MockTransport(broken)])
    async with httpx.AsyncClient(transport=spread) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://graph.example/x")
    assert spread._busy == [0]


async def test_worker_http_has_one_pool_per_four_slots_each_with_the_cheap_check_backend() -> None:
    for slots, pools in ((1, 1), (4, 1), (5, 2), (32, 8)):
        client = worker_http(slots)
        transport = client._transport
        assert isinstance(transport, SpreadTransport) and len(transport._transports) == pools
        for each in transport._transports:
            assert isinstance(each, httpx.AsyncHTTPTransport)
            assert isinstance(each._pool._network_backend, CheapCheckBackend)
        # One TLS context (the CA bundle loaded once), shared by every pool, verifying certificates.
        contexts = {id(each._pool._ssl_context) for each in transport._transports}  # type: ignore[attr-defined]
        assert len(contexts) == 1
        context = transport._transports[0]._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
        await client.aclose()


async def test_use_backend_leaves_an_unknown_pool_alone() -> None:
    transport = httpx.AsyncHTTPTransport()
    transport._pool = object()  # type: ignore[assignment]
    assert not use_backend(transport, CheapCheckBackend())


class _Recorder(asyncio.Protocol):
    """A tiny HTTP/1.1 server: answers each request with a cookie, notes the Cookie headers it got."""

    cookies: ClassVar[list[str | None]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")[1:]
            found = [v for k, _, v in (line.partition(": ") for line in lines) if k.lower() == "cookie"]
            _Recorder.cookies.append(found[0] if found else None)
            body = b'{"ok":true}'
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: sid=account-a; Path=/\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )


async def test_worker_http_keeps_connections_alive_and_keeps_no_cookies() -> None:
    _Recorder.cookies = []
    server = await asyncio.get_running_loop().create_server(_Recorder, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = worker_http(4)
    try:
        for _ in range(3):  # one pool of four: the same kept-alive connection, checked before reuse
            response = await client.get(f"http://127.0.0.1:{port}/refresh_access_token")
            assert response.json() == {"ok": True}
            assert response.headers["set-cookie"].startswith("sid=")  # the answer is untouched
        assert _Recorder.cookies == [None, None, None]  # one account's cookie never reaches the next call
        assert len(client.cookies) == 0
        with pytest.raises(TypeError):
            client.cookies = {"sid": "x"}
        transport = client._transport
        assert isinstance(transport, SpreadTransport)
        pool = transport._transports[0]
        assert isinstance(pool, httpx.AsyncHTTPTransport)
        assert len(pool._pool.connections) == 1  # reused, not reopened
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    """The cheap readability check still sees a server-side close, so the next call opens a new one."""
    opened: list[asyncio.Transport] = []

    class Once(_Recorder):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            opened.append(self.transport)

    server = await asyncio.get_running_loop().create_server(Once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = worker_http(1)
    try:
        assert (await client.get(f"http://127.0.0.1:{port}/a")).status_code == 200
        opened[0].close()  # the server drops the kept-alive connection
        await asyncio.sleep(0.05)
        assert (await client.get(f"http://127.0.0.1:{port}/b")).status_code == 200
        assert len(opened) == 2
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
