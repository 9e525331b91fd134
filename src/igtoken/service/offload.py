"""Blocking vault work for the event loop, on threads of its own, many calls per hand-over.

The token route does one short piece of blocking work per request (the key lookup, the
account and token reads, the audit insert: well under a tenth of a millisecond on SQLite).
Handing each piece to anyio's thread pool and back cost more CPU than the work itself: two
thread wake-ups, a capacity limiter, a future and a self-pipe write per request, and under
load dozens of threads fighting for the GIL. Here the loop collects the calls its requests
make during one turn, hands them over together at the end of the turn (at most
:data:`MAX_BATCH` at a time), and awaits a future each; a runner thread runs them one after
another and settles their futures with one ``call_soon_threadsafe``. Under load a hand-over
carries several requests; at rest it is one request, as before. (On SQLite the token route
now tries its work on the loop first, in the vault's non-blocking mode, and comes here only
when that would wait: see ``ServiceWiring.serve_token``. PostgreSQL reads always come here.)

A slow call must not hold up the calls queued behind it in its hand-over (a SQLite file
another process holds locked makes every call wait out the busy timeout): an idle thread
that finds a call running for longer than :data:`STEAL_AFTER` takes the calls still waiting
behind it and hands them out one by one, starting threads as needed (up to
:data:`MAX_THREADS`), so they wait side by side, not one after another.

Each call runs in a copy of the caller's context (so log lines keep the request id) and
finishes on its thread even if its request is cancelled: the work (e.g. the audited read)
is done or not done as a whole, never torn. :meth:`VaultRunner.close` lets the calls handed
over finish and stops the threads; the service does so at shutdown, after the last request
(:meth:`VaultRunner.close_at_shutdown`). A thread idle for :data:`IDLE_SECONDS` ends on its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Final, TypeVar

__all__ = ["VaultRunner"]

R = TypeVar("R")

#: Threads kept ready for calls.
DEFAULT_THREADS: Final = 4
#: The most threads at once, while slow calls wait side by side.
MAX_THREADS: Final = 40
#: The most calls in one hand-over: a turn with more hands them to several threads, which then
#: overlap (SQLite and the network run without the GIL).
MAX_BATCH: Final = 8
#: A call running this long (seconds) lets idle threads take the calls waiting behind it.
STEAL_AFTER: Final = 0.1
#: A thread with nothing to do for this long (seconds) ends; the next call starts another.
IDLE_SECONDS: Final = 30.0

_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", contextvars.Context]
_Outcome = tuple["asyncio.Future[Any]", bool, Any]


class _Batch:
    """Calls handed over together; the ones not yet started can be taken by another thread."""

    __slots__ = ("jobs", "lock", "loop", "started")

    def __init__(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        self.loop = loop
        self.jobs = deque(jobs)
        self.lock = threading.Lock()
        self.started = 0.0


class VaultRunner:
    """Runs blocking calls off the event loop (see the module docs); threads start on first use."""

    def __init__(
        self, threads: int = DEFAULT_THREADS, *, max_threads: int = MAX_THREADS, name: str = "igtoken-vault"
    ) -> None:
        if threads < 1 or max_threads < threads:
            raise ValueError("a runner needs at least one thread, and max_threads no fewer")
        self._size = threads
        self._max = max_threads
        self._name = name
        self._batches: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        # Calls made during the current turn of each event loop, handed over together at its end.
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        self._running: set[_Batch] = set()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._queued = 0
        self._lock = threading.Lock()
        self._closed = False
        self.idle_seconds = IDLE_SECONDS

    async def run(self, fn: Callable[[], R]) -> R:
        """``fn()`` on a runner thread; its result, or what it raised."""
        if self._closed:
            raise RuntimeError("the vault runner is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        job = (fn, future, contextvars.copy_context())
        pending = self._pending.get(loop)
        if pending is not None and len(pending) >= MAX_BATCH:
            self._hand_over(loop)
            pending = None
        if pending is None:
            # The first call of this turn: hand this turn's calls over once the loop has run
            # every other ready callback (other requests reaching the same point join them).
            self._pending[loop] = [job]
            loop.call_soon(self._hand_over, loop)
        else:
            pending.append(job)
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs = self._pending.pop(loop, None)
        if not jobs:
            return
        if self._closed:
            _settle([(future, False, RuntimeError("the vault runner is closed")) for _fn, future, _c in jobs])
            return
        self._put(_Batch(loop, jobs))

    def _put(self, batch: _Batch) -> None:
        with self._lock:
            self._queued += 1
        self._batches.put(batch)
        self._ensure_threads()

    def _ensure_threads(self) -> None:
        # An idle thread for every batch waiting (up to MAX_THREADS), so a batch never waits for
        # a thread that is busy with a slow call. After the put: under the lock an idle thread
        # also takes to leave, so a batch is either seen by a thread that stays, or a thread
        # is started for it here.
        if len(self._threads) >= self._size and self._idle >= self._queued:
            return
        with self._lock:
            missing = max(self._size - len(self._threads), self._queued - self._idle)
            while missing > 0 and not self._closed and len(self._threads) < self._max:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                self._idle += 1  # counted idle until it takes something
                thread.start()
                missing -= 1

    def _work(self) -> None:
        batches = self._batches
        idle_since = time.monotonic()
        while True:
            try:
                # Short waits, so a call stuck behind a slow one is taken within STEAL_AFTER.
                batch = batches.get(timeout=STEAL_AFTER)
            except queue.Empty:
                self._steal()
                if time.monotonic() - idle_since < self.idle_seconds:
                    continue
                with self._lock:
                    if not batches.empty():
                        continue
                    me = threading.current_thread()
                    if me in self._threads:
                        self._threads.remove(me)
                        self._idle -= 1
                    return
            if batch is None:
                with self._lock:
                    self._idle -= 1
                return
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            self._run_batch(batch)
            with self._lock:
                self._idle += 1
            idle_since = time.monotonic()

    def _run_batch(self, batch: _Batch) -> None:
        outcomes: list[_Outcome] = []
        self._running.add(batch)
        try:
            while True:
                with batch.lock:
                    if not batch.jobs:
                        break
                    fn, future, context = batch.jobs.popleft()
                    batch.started = started = time.monotonic()
                try:
                    outcomes.append((future, True, context.run(fn)))
                except BaseException as exc:  # handed to the awaiting request, raised there
                    outcomes.append((future, False, exc))
                if time.monotonic() - started >= STEAL_AFTER:
                    # A slow call answers at once; the ones behind it may have been taken meanwhile.
                    _settle_on(batch.loop, outcomes)
                    outcomes = []
        finally:
            self._running.discard(batch)
        if outcomes:
            _settle_on(batch.loop, outcomes)

    def _steal(self) -> None:
        """Hand out, one by one, the calls waiting behind a call that has run too long."""
        now = time.monotonic()
        for batch in list(self._running):
            if now - batch.started < STEAL_AFTER:
                continue
            with batch.lock:
                waiting = list(batch.jobs)
                batch.jobs.clear()
            for job in waiting:
                self._put(_Batch(batch.loop, [job]))

    def close(self, timeout: float = 30.0) -> None:
        """Finish the calls handed over and stop the threads (waiting at most ``timeout`` seconds each)."""
        self._closed = True
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._batches.put(None)
        for thread in threads:
            thread.join(timeout)

    async def close_at_shutdown(self) -> None:
        """A background task that only waits, and closes the runner when the service stops.

        The service stops its background tasks after the last request is answered, so every
        call handed over (and its audit event) is finished by then.
        """
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(self.close)


def _settle_on(loop: asyncio.AbstractEventLoop, outcomes: list[_Outcome]) -> None:
    # A closed loop (RuntimeError) has nobody awaiting these any more.
    with suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[_Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
