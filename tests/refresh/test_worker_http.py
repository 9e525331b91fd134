"""The worker's HTTP client: calls spread over small connection pools, each counted until its body closes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from igtoken.app._pools import SpreadTransport
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


async def test_worker_http_has_one_pool_per_eight_slots() -> None:
    for slots, pools in ((1, 1), (8, 1), (9, 2), (32, 4)):
        client = worker_http(slots)
        transport = client._transport
        assert isinstance(transport, SpreadTransport) and len(transport._transports) == pools
        await client.aclose()
