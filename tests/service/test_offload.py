"""The vault runner: blocking calls off the event loop, handed over many at a time."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time

import pytest

from igtoken.service.offload import MAX_BATCH, VaultRunner

_who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def test_results_and_errors_come_back_to_their_callers() -> None:
    runner = VaultRunner(threads=2)
    loop_thread = threading.get_ident()

    def work(i: int) -> tuple[int, bool]:
        if i % 7 == 3:
            raise KeyError(i)
        return i * i, threading.get_ident() != loop_thread

    calls = [runner.run(functools.partial(work, i)) for i in range(3 * MAX_BATCH + 5)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for i, result in enumerate(results):
        if i % 7 == 3:
            assert isinstance(result, KeyError) and result.args == (i,)
        else:
            assert result == (i * i, True)  # computed off the event loop's thread
    runner.close()


async def test_each_call_runs_in_its_callers_context() -> None:
    runner = VaultRunner(threads=1)

    async def as_(name: str) -> str:
        _who.set(name)
        return await runner.run(_who.get)

    assert await asyncio.gather(*(as_(f"r{i}") for i in range(10))) == [f"r{i}" for i in range(10)]
    runner.close()


async def test_a_cancelled_caller_leaves_the_others_their_answers() -> None:
    runner = VaultRunner(threads=1)
    gate = threading.Event()
    ran: list[str] = []

    def slow() -> str:
        gate.wait(5)
        ran.append("slow")
        return "slow"

    first = asyncio.ensure_future(runner.run(slow))
    second = asyncio.ensure_future(runner.run(lambda: "quick"))
    await asyncio.sleep(0.01)
    first.cancel()
    gate.set()
    assert await second == "quick"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert ran == ["slow"]  # the call itself finished: work is done whole or not at all
    runner.close()


async def test_idle_threads_end_and_come_back() -> None:
    runner = VaultRunner(threads=2)
    runner.idle_seconds = 0.05
    assert await runner.run(lambda: 1) == 1
    deadline = time.monotonic() + 5
    while runner._threads and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert runner._threads == []
    assert await runner.run(lambda: 2) == 2  # a thread is started again for the next call
    runner.close()


async def test_close_stops_the_threads_and_refuses_new_calls() -> None:
    runner = VaultRunner(threads=3)
    assert await runner.run(lambda: "ok") == "ok"
    threads = list(runner._threads)
    assert len(threads) == 3
    runner.close()
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError):
        await runner.run(lambda: "late")


def test_a_runner_needs_a_thread() -> None:
    with pytest.raises(ValueError):
        VaultRunner(threads=0)


async def test_the_service_closes_it_at_shutdown() -> None:
    runner = VaultRunner(threads=2)
    task = asyncio.ensure_future(runner.close_at_shutdown())
    assert await runner.run(lambda: "served") == "served"
    threads = list(runner._threads)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert threads and not any(t.is_alive() for t in threads)
