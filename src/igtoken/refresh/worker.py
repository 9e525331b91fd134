"""The refresh worker: claim due tokens with a lease, refresh them concurrently, record every outcome.

It claims what is due from the vault batch by batch, as many as there are free call slots, and
hands each claim to the one refresh use case (:class:`~igtoken.refresh.usecase.Refresher`), which
keeps the rules: the lease held throughout, new token before old in one transaction, every
failure classified, dead tokens flagged with a working re-authorization link. Rules kept here:

- a token is claimed only when a call slot is free, so no lease ticks down while it waits;
- a worker that dies simply lets its leases expire, so another worker picks the tokens up;
- one bad token never aborts a batch; no call waits inside the client: a throttled account
  gets a later slot, the others go on.
- refreshes that finish together are stored together: one lease-checked transaction for the lot
  (:class:`~igtoken.refresh.batching.BatchedStore`), not one write (and thread hop) each.

A database outage (the server restarting, a failover, every connection terminated) does not
stop the worker: it waits and tries again with backoff, for up to ``max_outage`` seconds, then
gives back the leases it lost track of so their tokens are due at once. Only a longer outage,
or a database that refuses the credentials, ends it (with the real cause).

PostgreSQL lets several workers run at once (``FOR UPDATE SKIP LOCKED``); on SQLite one worker
runs, made explicit by :func:`igtoken.vault.worker_lock` in the commands that start one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from igtoken.core.exceptions import DatabaseCorruptError, DatabaseRefusedError, DatabaseUnavailableError
from igtoken.notify import Notifier
from igtoken.refresh.batching import BatchedStore
from igtoken.refresh.policy import RefreshPolicy
from igtoken.refresh.usecase import REAUTH_LINK_LIFETIME, ClientFactory, Refresher, Result
from igtoken.vault import AsyncVault, Claim

__all__ = [
    "DEFAULT_MAX_OUTAGE",
    "REAUTH_LINK_LIFETIME",
    "BatchReport",
    "ClientFactory",
    "RefreshWorker",
    "Result",
    "WorkerState",
    "is_outage",
]

log = logging.getLogger("igtoken.worker")

#: How long (seconds) a worker rides out an unreachable database before it gives up.
DEFAULT_MAX_OUTAGE = 300.0
#: The longest pause between two tries while the database is unreachable.
_MAX_OUTAGE_BACKOFF = 30.0


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unavailable for now (waiting helps).

    Refused credentials, a missing database or a damaged SQLite file are not: they need a person.
    """
    return isinstance(exc, DatabaseUnavailableError) and not isinstance(
        exc, DatabaseRefusedError | DatabaseCorruptError
    )


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One :meth:`RefreshWorker.run_once`: what was claimed and how each token ended up."""

    started_at: datetime
    finished_at: datetime
    wall_seconds: float
    results: tuple[Result, ...]

    @property
    def claimed(self) -> int:
        """How many tokens were claimed (and handled) in this run."""
        return len(self.results)

    @property
    def counts(self) -> dict[str, int]:
        """How many tokens ended in each outcome."""
        return dict(Counter(r.outcome.value for r in self.results))

    def as_json(self) -> dict[str, Any]:
        """A plain-JSON summary for logs, metrics and ``--json``."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "wall_seconds": round(self.wall_seconds, 3),
            "claimed": self.claimed,
            "counts": self.counts,
        }


@dataclass
class WorkerState:
    """What the worker has done since it started, for the service's metrics and ``/healthz``."""

    owner: str
    started_at: datetime
    runs: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    last_run: BatchReport | None = None
    running: bool = False
    #: When the current database outage began (``None``: the database answers), and its cause.
    outage_since: datetime | None = None
    outage_cause: str | None = None
    #: How many outages the worker has ridden out.
    outages: int = 0

    def as_json(self) -> dict[str, Any]:
        """A plain-JSON snapshot."""
        return {
            "owner": self.owner,
            "started_at": self.started_at.isoformat(),
            "running": self.running,
            "runs": self.runs,
            "counters": dict(self.counters),
            "last_run": self.last_run.as_json() if self.last_run else None,
            "outage_since": self.outage_since.isoformat() if self.outage_since else None,
            "outage_cause": self.outage_cause,
            "outages": self.outages,
        }


def default_owner() -> str:
    """A lease owner id unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RefreshWorker:
    """Keeps the vault's tokens alive. One instance per process; run it with :meth:`run_forever`.

    Each claim goes to ``refresher``, the one refresh use case, which also gives the worker its
    vault, clock, notifier, lease owner and lease length; the worker adds the schedule around it.
    Finished refreshes are stored together (group commit): the refresher's store is switched to
    a :class:`~igtoken.refresh.batching.BatchedStore` of ``batch_size``.

    Args:
        refresher: the refresh use case, built over clients without in-call retries (the worker
            reschedules failures itself); see :func:`igtoken.app.refresh_wiring.build_worker`.
        concurrency: at most this many calls to Meta at once.
        batch_size: tokens claimed per transaction.
        poll_interval: how long :meth:`run_forever` waits (seconds) when nothing was due.
        max_outage: how long (seconds) :meth:`run_forever` keeps retrying an unavailable database
            before it raises the error.
    """

    def __init__(
        self,
        refresher: Refresher,
        *,
        concurrency: int = 32,
        batch_size: int = 100,
        poll_interval: float = 30.0,
        max_outage: float = DEFAULT_MAX_OUTAGE,
    ) -> None:
        if concurrency < 1 or batch_size < 1:
            raise ValueError("concurrency and batch_size must be at least 1")
        if poll_interval <= 0 or max_outage < 0:
            raise ValueError("poll_interval and max_outage must be positive")
        self.refresher = refresher
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_outage = max_outage
        self._outage_started = 0.0
        self.state = WorkerState(owner=self.owner, started_at=self.clock())
        #: Refreshes that finish together are stored in one transaction (group commit).
        self.store = BatchedStore(self.vault, max_batch=batch_size)
        refresher.store_with(self.store)
        self._gate = asyncio.Semaphore(concurrency)
        #: Called with each result as it is recorded (progress bars); must not raise.
        self.on_result: Callable[[Result], None] | None = None

    # What the worker shares with the refresh use case it wraps is read from it, never copied.

    @property
    def vault(self) -> AsyncVault:
        """The vault the refresher stores in."""
        return self.refresher.vault

    @property
    def clock(self) -> Callable[[], datetime]:
        """The refresher's clock."""
        return self.refresher.clock

    @property
    def notifier(self) -> Notifier | None:
        """Where the refresher's notifications go."""
        return self.refresher.notifier

    @property
    def policy(self) -> RefreshPolicy:
        """The refresh policy the planner applies."""
        return self.refresher.policy

    @property
    def owner(self) -> str:
        """The lease owner id of this worker's claims."""
        return self.refresher.owner

    @property
    def lease_seconds(self) -> float:
        """How long a claim is leased."""
        return self.refresher.lease_seconds

    # -- the loop -------------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Refresh what is due, send due notifications, sleep, repeat, until ``stop`` is set.

        A set ``stop`` is honoured between batches: in-flight refreshes always finish and are
        recorded before this returns. While the database is unavailable it waits and tries
        again (backoff up to 30 s); after ``max_outage`` seconds of it the error is raised.
        """
        self.state.running = True
        delay = 1.0
        try:
            while not stop.is_set():
                try:
                    recovering, released = self.state.outage_since is not None, 0
                    if recovering:
                        # Nothing is in flight: the leases this worker still holds are ones it lost
                        # track of in the outage. Given back, their tokens are due again at once.
                        released = await self.vault.release_owned(self.owner)
                    report = await self.run_once(self.clock(), stop=stop)
                    if recovering:
                        self._recovered(released)
                    await self.deliver_notifications()
                except DatabaseUnavailableError as exc:
                    if not is_outage(exc):
                        raise
                    pause = self._outage(exc, delay)
                    delay = min(delay * 2, _MAX_OUTAGE_BACKOFF)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=pause)
                    continue
                delay = 1.0
                if stop.is_set():
                    break
                if report.claimed >= self.batch_size:
                    continue  # more is probably due: no pause
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)
        finally:
            self.state.running = False

    def _outage(self, exc: DatabaseUnavailableError, delay: float) -> float:
        """Note an outage (raise once it lasted ``max_outage``); how long to wait before the next try."""
        state = self.state
        if state.outage_since is None:
            state.outage_since = self.clock()
            state.outages += 1
            self._outage_started = time.monotonic()
            log.warning(
                "worker %s: the database is unavailable; retrying for up to %g s: %s",
                self.owner,
                self.max_outage,
                exc.message,
            )
        state.outage_cause = exc.message
        lasted = time.monotonic() - self._outage_started
        if lasted >= self.max_outage:
            raise DatabaseUnavailableError(
                f"the database has been unavailable for {lasted:.0f} s, longer than the worker waits "
                f"(IGTOKEN_WORKER_MAX_OUTAGE={self.max_outage:g}): {exc.message}",
                fix=exc.fix,
            ) from exc
        # Jitter, so a fleet of workers does not come back in one burst.
        return min(delay * random.uniform(0.5, 1.0), self.max_outage - lasted)  # noqa: S311

    def _recovered(self, released: int) -> None:
        """The database answers again: say so, and for how long it did not."""
        lasted = time.monotonic() - self._outage_started
        self.state.outage_since = None
        self.state.outage_cause = None
        log.warning(
            "worker %s: the database is available again after %.0f s; %d lost lease(s) given back",
            self.owner,
            lasted,
            released,
        )

    async def deliver_notifications(self) -> None:
        """Send the notifications that are due; a failing receiver is retried later by the notifier."""
        if self.notifier is None or not self.notifier.endpoints:
            return
        try:
            await self.notifier.run_due(self.clock())
        except Exception:  # a delivery problem must never stop refreshing
            log.exception("sending webhook notifications failed; they stay queued")

    async def run_once(
        self,
        now: datetime | None = None,
        *,
        stop: asyncio.Event | None = None,
        account_ids: frozenset[str] | None = None,
    ) -> BatchReport:
        """Claim every token due at ``now`` (batch by batch) and handle each; returns what happened.

        Tokens handled in this run are not handled again in it, even if still due (a failure
        rescheduled into the past by a clock jump, say): the next run takes them. With
        ``account_ids`` only those accounts are handled; other claims are released untouched.
        """
        started = now or self.clock()
        wall0 = time.perf_counter()
        results: list[Result] = []
        seen: set[str] = set()
        running: set[asyncio.Task[Result]] = set()
        exhausted = False
        outage: BaseException | None = None
        # Claim only as many tokens as there are free slots, and claim again as slots free up.
        # A token claimed ahead of a free slot would sit with a lease ticking down, and once
        # it expired another worker could claim and refresh the same token: the double
        # refresh that the lease exists to prevent.
        while True:
            stopping = stop is not None and stop.is_set()
            free = self.concurrency - len(running)
            if free > 0 and not exhausted and not stopping:
                claims = await self.vault.claim_due(
                    now=now or self.clock(),
                    owner=self.owner,
                    limit=min(free, self.batch_size),
                    lease_seconds=self.lease_seconds,
                )
                new = [c for c in claims if c.token_id not in seen]
                fresh = [c for c in new if account_ids is None or c.account_id in account_ids]
                for claim in claims:
                    if claim not in fresh:
                        await self.vault.release(claim)
                seen.update(c.token_id for c in new)
                running.update(asyncio.create_task(self._guarded(c, now)) for c in fresh)
                exhausted = not new or len(claims) < min(free, self.batch_size)
            if not running:
                break
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                failure = task.exception()
                if failure is None:
                    results.append(task.result())
                elif is_outage(failure) and outage is None:
                    outage, exhausted = failure, True  # stop claiming; let the others finish
                else:
                    raise failure
        if outage is not None:
            raise outage
        report = BatchReport(
            started_at=started,
            finished_at=self.clock(),
            wall_seconds=time.perf_counter() - wall0,
            results=tuple(results),
        )
        self.state.runs += 1
        self.state.counters.update(r.outcome.value for r in results)
        self.state.last_run = report
        return report

    async def aclose(self) -> None:
        """Close the clients this worker made."""
        await self.refresher.aclose()

    # -- one token ------------------------------------------------------------------------------

    async def _guarded(self, claim: Claim, now: datetime | None) -> Result:
        """Handle one claim with the refresh use case, within the concurrency gate."""
        async with self._gate:
            result = await self.refresher.handle(claim, now)
        if self.on_result is not None:
            self.on_result(result)
        return result
