"""The refresh worker: claim due tokens with a lease, refresh them concurrently, record every outcome.

It wires the pure planner (:func:`~igtoken.refresh.plan`) to the vault (leases, storage, events),
the async client (the calls to Meta) and the notifier (outbound webhooks). Rules it keeps:

- a token is touched only while its lease is held; a slow call keeps the lease alive, and a
  worker that dies simply lets its leases expire, so another worker picks the tokens up;
- a claim that waited for a free slot is checked again (lease, current token), so a token
  changed meanwhile is left alone;
- the new token is stored before the old one is retired, in one transaction (the vault does it);
- every failure is classified (:func:`~igtoken.refresh.outcomes.classify`): retried later with
  backoff honouring Meta's wait hint, or, for a dead token, the account is marked as needing
  re-authorization and a connect link is made for it; one bad token never aborts a batch;
- no call waits inside the client: a throttled account gets a later slot, the others go on.

PostgreSQL lets several workers run at once (``FOR UPDATE SKIP LOCKED``); on SQLite one worker
runs, made explicit by :func:`igtoken.vault.worker_lock` in the commands that start one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from igtoken._client import AsyncClient
from igtoken._exceptions import ConflictError, NotFoundError
from igtoken._models import AccessToken, TokenKind
from igtoken.facebook_accounts import PageTokenVerdict
from igtoken.facebook_checks import check_page_token, checked_event_data
from igtoken.notify import EventType as NotifyEvent
from igtoken.notify import Notifier
from igtoken.refresh.outcomes import Failure, Outcome, classify
from igtoken.refresh.plan import (
    DEFAULT_POLICY,
    Action,
    Decision,
    ExpiryWarning,
    after_failure,
    next_refresh_at,
    plan,
)
from igtoken.refresh.policy import RefreshPolicy
from igtoken.refresh.state import AccountStatus, TokenState
from igtoken.vault import AppRecord, AsyncVault, Claim, EventType

__all__ = ["REAUTH_LINK_LIFETIME", "BatchReport", "ClientFactory", "RefreshWorker", "Result", "WorkerState"]

log = logging.getLogger("igtoken.worker")

_T = TypeVar("_T")

#: How long a re-authorization link stays usable.
REAUTH_LINK_LIFETIME: Final = timedelta(days=30)

#: Facebook Login token kinds: checked with ``debug_token``, never refreshed.
_FB_KINDS: Final = frozenset({TokenKind.FB_PAGE, TokenKind.FB_USER})

#: Builds the client the worker uses for one registered app (it is cached per app).
ClientFactory = Callable[[AppRecord], AsyncClient]


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one claimed token. ``detail`` never holds a token."""

    account_id: str
    token_id: str
    outcome: Outcome
    detail: str = ""
    next_attempt_at: datetime | None = None
    reauthorize_url: str | None = None


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

    def as_json(self) -> dict[str, Any]:
        """A plain-JSON snapshot."""
        return {
            "owner": self.owner,
            "started_at": self.started_at.isoformat(),
            "running": self.running,
            "runs": self.runs,
            "counters": dict(self.counters),
            "last_run": self.last_run.as_json() if self.last_run else None,
        }


def default_owner() -> str:
    """A lease owner id unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RefreshWorker:
    """Keeps the vault's tokens alive. One instance per process; run it with :meth:`run_forever`.

    Args:
        vault: the vault, wrapped for async code.
        clients: builds an :class:`~igtoken.AsyncClient` for an app (see ``Runtime.client_config``);
            build it without in-call retries, since the worker reschedules failures itself.
        clock: returns the current time (tz-aware UTC); tests share the emulator's clock.
        notifier: where outbound notifications go; ``None`` sends none (vault events are still kept).
        policy: the refresh policy the planner applies.
        owner: this worker's lease owner id (default: host, pid and a random suffix).
        concurrency: at most this many calls to Meta at once.
        batch_size: tokens claimed per transaction.
        lease_seconds: how long a claim is leased; a slow call extends it every third of that.
        call_timeout: a call to Meta taking longer than this (seconds) is abandoned and retried later.
        public_url: the service's public base URL, put in front of re-authorization link paths.
        poll_interval: how long :meth:`run_forever` waits (seconds) when nothing was due.
    """

    def __init__(
        self,
        vault: AsyncVault,
        clients: ClientFactory,
        *,
        clock: Callable[[], datetime],
        notifier: Notifier | None = None,
        policy: RefreshPolicy = DEFAULT_POLICY,
        owner: str | None = None,
        concurrency: int = 32,
        batch_size: int = 100,
        lease_seconds: float = 120.0,
        call_timeout: float = 30.0,
        public_url: str | None = None,
        poll_interval: float = 30.0,
    ) -> None:
        if concurrency < 1 or batch_size < 1:
            raise ValueError("concurrency and batch_size must be at least 1")
        if lease_seconds <= 0 or call_timeout <= 0 or poll_interval <= 0:
            raise ValueError("lease_seconds, call_timeout and poll_interval must be positive")
        self.vault = vault
        self.clock = clock
        self.notifier = notifier
        self.policy = policy
        self.owner = owner or default_owner()
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.call_timeout = call_timeout
        self.public_url = public_url.rstrip("/") if public_url else None
        self.poll_interval = poll_interval
        self.state = WorkerState(owner=self.owner, started_at=clock())
        self._factory = clients
        self._clients: dict[str, AsyncClient] = {}
        self._apps: dict[str, AppRecord] = {}
        self._gate = asyncio.Semaphore(concurrency)
        #: Called with each result as it is recorded (progress bars); must not raise.
        self.on_result: Callable[[Result], None] | None = None

    # -- the loop -------------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Refresh what is due, send due notifications, sleep, repeat, until ``stop`` is set.

        A set ``stop`` is honoured between batches: in-flight refreshes always finish and are
        recorded before this returns.
        """
        self.state.running = True
        try:
            while not stop.is_set():
                report = await self.run_once(self.clock(), stop=stop)
                await self.deliver_notifications()
                if stop.is_set():
                    break
                if report.claimed >= self.batch_size:
                    continue  # more is probably due: no pause
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)
        finally:
            self.state.running = False

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
            results.extend(task.result() for task in done)
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
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    # -- one token ------------------------------------------------------------------------------

    async def _guarded(self, claim: Claim, now: datetime | None) -> Result:
        """Handle one claim; whatever goes wrong is recorded on that token alone."""
        async with self._gate:
            try:
                result = await self._handle(claim, now)
            except ConflictError as exc:
                result = Result(claim.account_id, claim.token_id, Outcome.LOST_LEASE, exc.message)
            except Exception as exc:  # one bad token never aborts a batch
                failure = classify(exc)
                log.exception("refreshing account %s failed unexpectedly", claim.account_id)
                result = await self._record_failure(claim, failure, now)
        _log_result(result)
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else self.clock()

    async def _handle(self, claim: Claim, now: datetime | None) -> Result:
        at = self._now(now)
        if claim.lease_expires_at - self.clock() < timedelta(seconds=self.lease_seconds * 2 / 3):
            # The claim waited (a busy gate): make sure the lease is still ours before touching
            # the token; ConflictError here means another worker has it, and nothing was sent.
            claim = await self.vault.extend_lease(claim, now=self.clock(), lease_seconds=self.lease_seconds)
            # Read again: a new login or a deletion may have happened while it waited. A claim
            # handled at once needs no second read: the claim read the row in the transaction
            # that leased it, under the row lock, and found it current on an active account.
            try:
                stored = await self.vault.current_token(claim.account_id, claim.token.kind)
            except NotFoundError:
                await self.vault.release(claim)
                return Result(claim.account_id, claim.token_id, Outcome.SKIPPED, "the token is gone")
            if stored.token_id != claim.token_id or stored.account_status.value != AccountStatus.ACTIVE.value:
                await self.vault.release(claim)
                return Result(
                    claim.account_id, claim.token_id, Outcome.SKIPPED, "the token changed after the claim"
                )
            claim = dataclasses.replace(
                claim,
                token=stored.token,
                failure_count=stored.failure_count,
                next_refresh_at=stored.next_refresh_at,
            )
        decision, warnings = await self._decide(claim, at)
        for warning, kind in warnings:
            await self._warn(claim, warning, kind, at)
        if decision.action is Action.REAUTHORIZE:
            return await self._needs_reauth(claim, decision.reason, None, at)
        if decision.action is Action.CHECK and claim.token.kind is not TokenKind.FB_PAGE:
            # Only page tokens are checked; a user token's expiry is warned about from its page token.
            decision = Decision(Action.WAIT, None, reason="user tokens are not checked on their own")
        if decision.action is Action.WAIT:
            later = decision.next_check_at or at + self.policy.page_check_interval
            await self.vault.set_next_refresh(claim.account_id, later, kind=claim.token.kind)
            await self.vault.release(claim)
            return Result(claim.account_id, claim.token_id, Outcome.RESCHEDULED, decision.reason, later)
        try:
            if decision.action is Action.CHECK:
                verdict = await self._leased(claim, self._check_page(claim))
                return await self._record_check(claim, verdict, self._now(now))
            new_token = await self._call(claim, decision.action, at)
        except ConflictError:
            raise
        except Exception as exc:
            failure = classify(exc)
            if failure.outcome is Outcome.NEEDS_REAUTH:
                return await self._needs_reauth(claim, failure.message, failure.error_code, self._now(now))
            if failure.outcome is Outcome.RESCHEDULED:
                later = failure.refreshable_at or at + self.policy.min_age
                await self.vault.set_next_refresh(claim.account_id, later, kind=claim.token.kind)
                await self.vault.release(claim)
                return Result(claim.account_id, claim.token_id, Outcome.RESCHEDULED, failure.message, later)
            return await self._record_failure(claim, failure, now)
        done = self._now(now)
        scheduled = next_refresh_at(new_token.issued_at, claim.account_id, self.policy, new_token.expires_at)
        await self.vault.record_refresh_success(claim, new_token, now=done, next_refresh_at=scheduled)
        await self._notify(
            NotifyEvent.TOKEN_REFRESHED,
            {
                "account_id": claim.account_id,
                "app_id": claim.app_id,
                "token_kind": new_token.kind.value,
                "issued_at": new_token.issued_at,
                "expires_at": new_token.expires_at,
                "next_attempt_at": scheduled,
            },
            done,
        )
        return Result(claim.account_id, claim.token_id, Outcome.REFRESHED, "", scheduled)

    async def _check_page(self, claim: Claim) -> PageTokenVerdict:
        account = await self.vault.get_account(claim.account_id)
        client = await self._client(claim.app_id)
        return await check_page_token(client, claim.token, account.page_id)

    async def _record_check(self, claim: Claim, verdict: PageTokenVerdict, now: datetime) -> Result:
        """A checked page token: dead means re-authorization; otherwise the next check is scheduled."""
        if verdict.needs_reauth:
            return await self._needs_reauth(claim, verdict.detail, None, now)
        later = now + self.policy.page_check_interval
        data = checked_event_data(verdict, "schedule")
        await self.vault.record_check_success(claim, data, now=now, next_check_at=later)
        return Result(claim.account_id, claim.token_id, Outcome.CHECKED, verdict.detail, later)

    async def _decide(
        self, claim: Claim, now: datetime
    ) -> tuple[Decision, list[tuple[ExpiryWarning, TokenKind]]]:
        """The planner's decision for the claim, and the expiry warnings to announce with it.

        A Facebook Login account's page token carries the account's data-access expiry, and
        its user token's 60-day expiry is warned about from the page token's checks (the user
        token itself is never scheduled).
        """
        token = claim.token
        data_access: datetime | None = None
        user_expiry: tuple[datetime, datetime] | None = None
        if token.kind in _FB_KINDS:
            account = await self.vault.get_account(claim.account_id)
            data_access = account.data_access_expires_at
            if token.kind is TokenKind.FB_PAGE:
                with contextlib.suppress(NotFoundError):
                    user = await self.vault.current_token(claim.account_id, TokenKind.FB_USER)
                    if user.token.expires_at is not None and user.token.expires_at > user.token.issued_at:
                        user_expiry = (user.token.issued_at, user.token.expires_at)
        decision = await self._plan_one(
            claim, token.kind, token.issued_at, token.expires_at, data_access, now
        )
        warnings = [(decision.warning, token.kind)] if decision.warning is not None else []
        if user_expiry is not None:
            issued, expires = user_expiry
            user_decision = await self._plan_one(claim, TokenKind.FB_USER, issued, expires, None, now)
            if user_decision.warning is not None and user_decision.action is not Action.REAUTHORIZE:
                warnings.append((user_decision.warning, TokenKind.FB_USER))
        return decision, warnings

    async def _plan_one(
        self,
        claim: Claim,
        kind: TokenKind,
        issued_at: datetime,
        expires_at: datetime | None,
        data_access_expires_at: datetime | None,
        now: datetime,
    ) -> Decision:
        failures = claim.failure_count
        scheduled = claim.next_refresh_at
        facts: dict[str, Any] = {
            "account_id": claim.account_id,
            "kind": kind,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "data_access_expires_at": data_access_expires_at,
            "failure_count": failures,
            # The vault keeps when the next attempt is due, not when the last one failed; the
            # failed attempt was one backoff step before it (a floor when Meta asked for longer).
            "last_failure_at": (
                (scheduled - self.policy.backoff(failures))
                if failures and scheduled
                else (now if failures else None)
            ),
            "next_attempt_at": scheduled,
        }
        if expires_at is not None and expires_at <= issued_at:
            facts["expires_at"] = None
        decision = plan(TokenState(**facts), now, self.policy)
        if decision.warning is None:
            return decision
        # Warnings fire once per threshold and expiry date: look up the last one announced.
        facts["last_warned"] = await self._last_warned(claim.account_id, decision.warning.expires_at)
        return plan(TokenState(**facts), now, self.policy)

    async def _last_warned(self, account_id: str, expires_at: datetime) -> timedelta | None:
        events = await self.vault.events(account_id=account_id, types=[EventType.EXPIRING], limit=1000)
        warned = [
            timedelta(days=float(e.data["threshold_days"]))
            for e in events
            if e.data.get("expires_at") == expires_at.isoformat() and "threshold_days" in e.data
        ]
        return min(warned, default=None)

    async def _warn(self, claim: Claim, warning: ExpiryWarning, kind: TokenKind, now: datetime) -> None:
        data = {
            "expires_at": warning.expires_at.isoformat(),
            "threshold_days": warning.threshold_days,
            "expiry_subject": warning.subject,
            "token_kind": kind.value,
        }
        await self.vault.append_event(
            EventType.EXPIRING, now=now, app_id=claim.app_id, account_id=claim.account_id, data=data
        )
        await self._notify(
            NotifyEvent.TOKEN_EXPIRING,
            {
                "account_id": claim.account_id,
                "app_id": claim.app_id,
                "token_kind": kind.value,
                "expires_at": warning.expires_at,
                "threshold_days": warning.threshold_days,
                "expiry_subject": warning.subject,
            },
            now,
        )

    async def _call(self, claim: Claim, action: Action, now: datetime) -> AccessToken:
        client = await self._client(claim.app_id)
        call: Awaitable[AccessToken]
        if action is Action.EXCHANGE:
            call = client.exchange_long_lived(claim.token, now=now)
        else:
            call = client.refresh(claim.token, now=now)
        return await self._leased(claim, call)

    async def _leased(self, claim: Claim, call: Awaitable[_T]) -> _T:
        """Await a call to Meta under the call timeout, keeping the claim's lease alive meanwhile."""
        heartbeat = asyncio.create_task(self._keep_lease(claim))
        try:
            async with asyncio.timeout(self.call_timeout):
                return await call
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConflictError):
                await heartbeat

    async def _keep_lease(self, claim: Claim) -> None:
        """While a call is slow, push the lease out every third of its length."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            claim = await self.vault.extend_lease(claim, now=self.clock(), lease_seconds=self.lease_seconds)

    async def _client(self, app_id: str) -> AsyncClient:
        client = self._clients.get(app_id)
        if client is None:
            app = self._apps.get(app_id) or await self.vault.get_app(app_id)
            self._apps[app_id] = app
            client = self._clients[app_id] = self._factory(app)
        return client

    async def _record_failure(self, claim: Claim, failure: Failure, now: datetime | None) -> Result:
        at = self._now(now)
        failures = claim.failure_count + 1
        retry_at = after_failure(failures, at, failure.retry_after, self.policy)
        count = await self.vault.record_refresh_failure(
            claim, failure.message, now=at, next_attempt_at=retry_at
        )
        await self._notify(
            NotifyEvent.TOKEN_REFRESH_FAILED,
            {
                "account_id": claim.account_id,
                "app_id": claim.app_id,
                "token_kind": claim.token.kind.value,
                "error": failure.message,
                "error_code": failure.error_code,
                "failure_count": count,
                "next_attempt_at": retry_at,
            },
            at,
        )
        return Result(claim.account_id, claim.token_id, failure.outcome, failure.message, retry_at)

    async def _needs_reauth(self, claim: Claim, reason: str, error_code: int | None, now: datetime) -> Result:
        link, _code = await self.vault.links.create(
            claim.app_id,
            now=now,
            expires_at=now + REAUTH_LINK_LIFETIME,
            account_id=claim.account_id,
            label="re-authorize",
        )
        path = f"/connect/{link.id}"
        url = f"{self.public_url}{path}" if self.public_url else path
        await self.vault.mark_needs_reauth(
            claim.account_id,
            reason,
            now=now,
            details={"reauthorize_url": url, "link_id": link.id, "error_code": error_code},
        )
        await self._notify(
            NotifyEvent.ACCOUNT_NEEDS_REAUTH,
            {
                "account_id": claim.account_id,
                "app_id": claim.app_id,
                "status": AccountStatus.NEEDS_REAUTH.value,
                "reason": reason,
                "error_code": error_code,
                "reauthorize_url": url,
            },
            now,
        )
        return Result(claim.account_id, claim.token_id, Outcome.NEEDS_REAUTH, reason, None, url)

    async def _notify(self, event: NotifyEvent, data: Mapping[str, object], now: datetime) -> None:
        notifier = self.notifier
        if notifier is None or not notifier.endpoints:
            return
        await asyncio.to_thread(notifier.notify, event, data, now)


def _log_result(result: Result) -> None:
    """One line per outcome; never a token (details come from igtoken's redacted messages)."""
    level = logging.WARNING if result.outcome in (Outcome.NEEDS_REAUTH, Outcome.ERROR) else logging.INFO
    extra = f" next={result.next_attempt_at.isoformat()}" if result.next_attempt_at else ""
    link = f" link={result.reauthorize_url}" if result.reauthorize_url else ""
    detail = f" ({result.detail})" if result.detail else ""
    log.log(
        level, "account=%s outcome=%s%s%s%s", result.account_id, result.outcome.value, extra, link, detail
    )
