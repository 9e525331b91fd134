"""The one refresh use case: refresh (or check) one account's token under its lease.

Every way of refreshing goes through :class:`Refresher`: the worker's schedule
(:meth:`Refresher.handle` on a claim it took with ``claim_due``), and on demand
(:meth:`Refresher.refresh_account`) from ``igtoken token``, ``igtoken refresh``, ``igtoken
doctor``, the API's ``POST /v1/accounts/{id}/refresh`` and the dashboard's "refresh now". The
rules, kept here once:

- a token is touched only while its lease is held; a slow call keeps the lease alive;
- the new token and its ``refreshed`` event are stored in one transaction, new before old, and
  only while the lease is still held (the vault checks it), so does ``needs_reauth``;
- every failure is classified (:func:`~igtoken.refresh.outcomes.classify`): retried later with
  backoff honouring Meta's wait hint, or, for a dead token, the account is marked as needing
  re-authorization with an absolute, working link (``/connect/{code}`` on the public URL) that
  goes into the event and the ``account.needs_reauth`` webhook;
- a refresh asked for while another holder has the lease waits for that holder's result and
  never calls Meta itself; past ``wait_timeout`` it answers "in progress";
- a token Meta calls dead in a call made elsewhere (the Graph proxy, ``doctor``, the token API)
  goes through the same needs-reauth step (:meth:`Refresher.token_dead`), under the lease too, and
  only while that token is still the current one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Final, TypeVar

from igtoken.client.clients import AsyncClient
from igtoken.core.exceptions import ConflictError, NotFoundError
from igtoken.core.models import AccessToken, AccountStatus, TokenKind
from igtoken.notify import Notifier, WebhookEventType
from igtoken.refresh import (
    DEFAULT_POLICY,
    Action,
    Decision,
    ExpiryWarning,
    RefreshPolicy,
    after_failure,
    next_refresh_at,
    plan,
)
from igtoken.refresh.batching import StoreRefresh, store_alone
from igtoken.refresh.facebook_accounts import PageTokenVerdict
from igtoken.refresh.facebook_checks import check_page_token, checked_event_data
from igtoken.refresh.outcomes import Failure, Outcome, classify
from igtoken.refresh.plan import scheduled_state
from igtoken.refresh.result import Result, just_refreshed, log_result, raise_for
from igtoken.vault import AppRecord, AsyncVault, Claim, EventType, FinishedRefresh, StoredToken

__all__ = ["REAUTH_LINK_LIFETIME", "ClientFactory", "Refresher", "Result", "raise_for"]

log = logging.getLogger("igtoken.worker")

_T = TypeVar("_T")

#: How long a re-authorization link stays usable.
REAUTH_LINK_LIFETIME: Final = timedelta(days=30)

#: Facebook Login token kinds: checked with ``debug_token``, never refreshed.
_FB_KINDS: Final = frozenset({TokenKind.FB_PAGE, TokenKind.FB_USER})

#: Builds the client used for one registered app (it is cached per app).
ClientFactory = Callable[[AppRecord], AsyncClient]


class Refresher:
    """Refreshes (or checks) one token at a time under its lease; see the module docstring.

    Args:
        vault: the vault, wrapped for async code.
        clients: builds an :class:`~igtoken.AsyncClient` for an app.
        clock: returns the current time (tz-aware UTC).
        notifier: where outbound notifications go; ``None`` sends none (vault events are kept).
        policy: the refresh policy the planner applies.
        owner: the lease owner id of scheduled claims; on-demand claims add a suffix per call.
        lease_seconds: how long a claim is leased; a slow call extends it every third of that.
        call_timeout: a call to Meta taking longer than this (seconds) is abandoned.
        public_url: the service's public base URL; re-authorization links are made absolute on
            it (without one the link is made, but no URL can be given for it).
        wait_timeout: how long an on-demand refresh waits for another holder's result.
    """

    def __init__(
        self,
        vault: AsyncVault,
        clients: ClientFactory,
        *,
        clock: Callable[[], datetime],
        notifier: Notifier | None = None,
        policy: RefreshPolicy = DEFAULT_POLICY,
        owner: str,
        lease_seconds: float = 120.0,
        call_timeout: float = 30.0,
        public_url: str | None = None,
        wait_timeout: float | None = None,
    ) -> None:
        if lease_seconds <= 0 or call_timeout <= 0:
            raise ValueError("lease_seconds and call_timeout must be positive")
        self.vault = vault
        #: How a refreshed token is stored under its lease: alone, in its own transaction.
        self._store: StoreRefresh = functools.partial(store_alone, vault)
        self.clock = clock
        self.notifier = notifier
        self.policy = policy
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.call_timeout = call_timeout
        self.public_url = public_url.rstrip("/") if public_url else None
        self.wait_timeout = wait_timeout if wait_timeout is not None else call_timeout + 5.0
        self._factory = clients
        self._clients: dict[str, AsyncClient] = {}
        self._apps: dict[str, AppRecord] = {}

    def store_with(self, store: StoreRefresh) -> None:
        """Store refreshed tokens with ``store`` from now on (the worker's group commit,
        :class:`~igtoken.refresh.batching.BatchedStore`)."""
        self._store = store

    async def aclose(self) -> None:
        """Close the clients this refresher made."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def reauthorize_url(self, code: str) -> str | None:
        """The absolute URL of the connect link with ``code``; ``None`` without a public URL."""
        return f"{self.public_url}/connect/{code}" if self.public_url else None

    # -- on demand ------------------------------------------------------------------------------

    async def refresh_account(
        self, account_id: str, *, force: bool = True, trigger: str = "on_demand"
    ) -> Result:
        """Refresh (or check) the account's served token now, under its lease.

        ``force`` acts whatever the schedule says (Meta's 24-hour rule still holds: a younger
        token is left alone and its schedule unchanged); otherwise the planner decides, as
        for the worker. While another holder has the lease this waits for its result (and
        returns it with ``joined`` set) instead of calling Meta; after ``wait_timeout`` the
        outcome is ``IN_PROGRESS``. :class:`~igtoken.NotFoundError` without a current token.
        """
        account = await self.vault.get_account(account_id)
        kind = account.served_kind
        if account.status.value != AccountStatus.ACTIVE.value:
            return Result(account_id, "", Outcome.NEEDS_REAUTH, account.status_reason or account.status.value)
        before = await self.vault.current_token(account_id, kind)
        recent = just_refreshed(before, self.clock()) if force else None
        if recent is not None:
            return recent
        claim = await self._claim_or_join(account_id, kind, before)
        if isinstance(claim, Result):
            return claim
        return await self.handle(claim, force=force, trigger=trigger)

    async def token_dead(
        self, account_id: str, token_id: str, error: BaseException, *, source: str
    ) -> Result | None:
        """Meta called the account's token ``token_id`` dead in a call made elsewhere: act on it now.

        For a component that used the token itself (the Graph proxy, ``doctor``, the token
        API): when ``error`` means the token is gone (:func:`~igtoken.refresh.outcomes.token_is_dead`)
        the account is marked as needing re-authorization by the same step as a failed refresh
        (the lease taken, the event with the absolute link, the ``account.needs_reauth`` webhook).
        Nothing is marked when ``token_id`` is no longer the current token (a refresh replaced it,
        so the answer was about the old one) or the account is no longer active. Returns ``None``
        when ``error`` does not mean a dead token (a throttle, a transient fault, anything else).
        """
        failure = classify(error)
        if failure.outcome is not Outcome.NEEDS_REAUTH:
            return None
        while True:
            account = await self.vault.get_account(account_id)
            if account.status.value != AccountStatus.ACTIVE.value:
                reason = account.status_reason or account.status.value
                return Result(account_id, token_id, Outcome.NEEDS_REAUTH, reason)
            try:
                before = await self.vault.current_token(account_id, account.served_kind)
            except NotFoundError:
                return Result(account_id, token_id, Outcome.SKIPPED, "the token is gone")
            if before.token_id != token_id:
                return Result(account_id, token_id, Outcome.SKIPPED, "the token was replaced meanwhile")
            claim = await self._claim_or_join(account_id, account.served_kind, before)
            if not isinstance(claim, Result):
                break
            if claim.outcome is Outcome.IN_PROGRESS:
                return claim
            # Another holder had the lease: its result settles it unless it left this token in place
            # on an active account (then the loop leases it and marks it).
        try:
            result = await self._needs_reauth(
                claim, failure.message, failure.error_code, self.clock(), source=source
            )
        except ConflictError as exc:  # the lease ran out meanwhile: the next holder decides
            result = Result(account_id, token_id, Outcome.LOST_LEASE, exc.message)
        log_result(result)
        return result

    async def _claim_or_join(
        self, account_id: str, kind: TokenKind | None, before: StoredToken
    ) -> Claim | Result:
        """Lease the account's token ``before`` under an owner of this call's own, or take the result
        of the holder that had it (waiting up to ``wait_timeout``; then "in progress")."""
        # Each call its own lease owner: two requests in one process must not share a lease.
        owner = f"{self.owner}:{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + self.wait_timeout
        waited = False
        pause = 0.02
        while True:
            try:
                claim = await self.vault.claim_account(
                    account_id, now=self.clock(), owner=owner, kind=kind, lease_seconds=self.lease_seconds
                )
                break
            except ConflictError:
                waited = True
                if time.monotonic() >= deadline:
                    return Result(
                        account_id,
                        before.token_id,
                        Outcome.IN_PROGRESS,
                        "a refresh of this account is in progress elsewhere",
                        joined=True,
                    )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.25)
        if waited or claim.token_id != before.token_id:
            # Another holder finished meanwhile: its result is ours; Meta is not asked again.
            await self.vault.release(claim)
            return await self._joined(account_id, kind, before)
        return claim

    async def _joined(self, account_id: str, kind: TokenKind | None, before: StoredToken) -> Result:
        account = await self.vault.get_account(account_id)
        if account.status.value != AccountStatus.ACTIVE.value:
            reason = account.status_reason or account.status.value
            return Result(account_id, before.token_id, Outcome.NEEDS_REAUTH, reason, joined=True)
        stored = await self.vault.current_token(account_id, kind)
        if stored.token_id != before.token_id:
            outcome, detail = Outcome.REFRESHED, "refreshed by another holder"
        elif stored.failure_count > before.failure_count:
            outcome, detail = Outcome.RETRY, stored.last_error or "the other holder's refresh failed"
        elif stored.token.kind is TokenKind.FB_PAGE:
            outcome, detail = Outcome.CHECKED, "checked by another holder"
        else:
            outcome, detail = Outcome.SKIPPED, "another holder left the token as it was"
        return Result(account_id, stored.token_id, outcome, detail, stored.next_refresh_at, joined=True)

    # -- one claimed token ----------------------------------------------------------------------

    async def handle(
        self, claim: Claim, now: datetime | None = None, *, force: bool = False, trigger: str = "schedule"
    ) -> Result:
        """Handle one claim; whatever goes wrong is recorded on that token alone."""
        try:
            result = await self._handle(claim, now, force=force, trigger=trigger)
        except ConflictError as exc:
            result = Result(claim.account_id, claim.token_id, Outcome.LOST_LEASE, exc.message, error=exc)
        except Exception as exc:  # one bad token never aborts a batch
            failure = classify(exc)
            log.exception("refreshing account %s failed unexpectedly", claim.account_id)
            result = await self._record_failure(claim, failure, now, exc)
        log_result(result)
        return result

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else self.clock()

    async def _handle(self, claim: Claim, now: datetime | None, *, force: bool, trigger: str) -> Result:
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
        warnings: list[tuple[ExpiryWarning, TokenKind]] = []
        if force:
            decision = _forced(claim, at)
        else:
            decision, warnings = await self._decide(claim, at)
        for warning, kind in warnings:
            await self._warn(claim, warning, kind, at)
        if decision.action is Action.REAUTHORIZE:
            return await self._needs_reauth(claim, decision.reason, None, at)
        if decision.action is Action.CHECK and claim.token.kind is not TokenKind.FB_PAGE:
            # Only page tokens are checked; a user token's expiry is warned about from its page token.
            decision = Decision(Action.WAIT, None, reason="user tokens are not checked on their own")
        if decision.action is Action.WAIT:
            if force:  # asked for now, nothing to do: the schedule stays as it was
                await self.vault.release(claim)
                return Result(claim.account_id, claim.token_id, Outcome.RESCHEDULED, decision.reason)
            later = decision.next_check_at or at + self.policy.page_check_interval
            await self.vault.set_next_refresh(claim.account_id, later, kind=claim.token.kind)
            await self.vault.release(claim)
            return Result(claim.account_id, claim.token_id, Outcome.RESCHEDULED, decision.reason, later)
        try:
            if decision.action is Action.CHECK:
                verdict = await self._leased(claim, self._check_page(claim))
                return await self._record_check(claim, verdict, self._now(now), trigger)
            new_token = await self._call(claim, decision.action, at)
        except ConflictError:
            raise
        except Exception as exc:
            failure = classify(exc)
            if failure.outcome is Outcome.NEEDS_REAUTH:
                return await self._needs_reauth(
                    claim, failure.message, failure.error_code, self._now(now), error=exc
                )
            if failure.outcome is Outcome.RESCHEDULED:
                # Too new for Meta: on schedule, try again at its 24-hour mark; on demand, say so.
                mark = None if force else failure.refreshable_at or at + self.policy.min_age
                if mark is not None:
                    await self.vault.set_next_refresh(claim.account_id, mark, kind=claim.token.kind)
                await self.vault.release(claim)
                return Result(
                    claim.account_id, claim.token_id, Outcome.RESCHEDULED, failure.message, mark, error=exc
                )
            return await self._record_failure(claim, failure, now, exc)
        done = self._now(now)
        new_token = dataclasses.replace(
            new_token,
            user_id=new_token.user_id or claim.token.user_id,
            scopes=new_token.scopes or claim.token.scopes,
        )
        scheduled = next_refresh_at(new_token.issued_at, claim.account_id, self.policy, new_token.expires_at)
        token_id = await self._store(FinishedRefresh(claim, new_token, done, scheduled, {"trigger": trigger}))
        await self._notify(
            WebhookEventType.TOKEN_REFRESHED,
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
        return Result(claim.account_id, token_id, Outcome.REFRESHED, "", scheduled)

    async def _check_page(self, claim: Claim) -> PageTokenVerdict:
        account = await self.vault.get_account(claim.account_id)
        client = await self.client(claim.app_id)
        return await check_page_token(client, claim.token, account.page_id)

    async def _record_check(
        self, claim: Claim, verdict: PageTokenVerdict, now: datetime, trigger: str
    ) -> Result:
        """A checked page token: dead means re-authorization; otherwise the next check is scheduled."""
        if verdict.needs_reauth:
            result = await self._needs_reauth(claim, verdict.detail, None, now)
            return dataclasses.replace(result, verdict=verdict)
        later = now + self.policy.page_check_interval
        data = checked_event_data(verdict, trigger)
        await self.vault.record_check_success(claim, data, now=now, next_check_at=later)
        return Result(
            claim.account_id, claim.token_id, Outcome.CHECKED, verdict.detail, later, verdict=verdict
        )

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
        state = scheduled_state(
            claim.account_id,
            kind,
            issued_at,
            expires_at,
            failure_count=claim.failure_count,
            next_refresh_at=claim.next_refresh_at,
            now=now,
            policy=self.policy,
            data_access_expires_at=data_access_expires_at,
        )
        decision = plan(state, now, self.policy)
        if decision.warning is None:
            return decision
        # Warnings fire once per threshold and expiry date: look up the last one announced.
        last_warned = await self._last_warned(claim.account_id, decision.warning.expires_at)
        return plan(dataclasses.replace(state, last_warned=last_warned), now, self.policy)

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
            WebhookEventType.TOKEN_EXPIRING,
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
        client = await self.client(claim.app_id)
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

    async def client(self, app_id: str) -> AsyncClient:
        """The client for the app with ``app_id`` (made once, then reused)."""
        client = self._clients.get(app_id)
        if client is None:
            app = self._apps.get(app_id) or await self.vault.get_app(app_id)
            self._apps[app_id] = app
            client = self._clients[app_id] = self._factory(app)
        return client

    async def _record_failure(
        self, claim: Claim, failure: Failure, now: datetime | None, error: BaseException | None = None
    ) -> Result:
        at = self._now(now)
        failures = claim.failure_count + 1
        retry_at = after_failure(failures, at, failure.retry_after, self.policy)
        count = await self.vault.record_refresh_failure(
            claim, failure.message, now=at, next_attempt_at=retry_at
        )
        await self._notify(
            WebhookEventType.TOKEN_REFRESH_FAILED,
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
        return Result(
            claim.account_id, claim.token_id, failure.outcome, failure.message, retry_at, error=error
        )

    async def _needs_reauth(
        self,
        claim: Claim,
        reason: str,
        error_code: int | None,
        now: datetime,
        *,
        error: BaseException | None = None,
        source: str = "refresh",
    ) -> Result:
        # The account's open re-authorization link (one per account, shared with the service's
        # 409 answers), its code derived from the key ring, so the URL is the one that works.
        link, code, _created = await self.vault.links.reauthorization(
            claim.account_id, now=now, ttl=REAUTH_LINK_LIFETIME
        )
        url = self.reauthorize_url(code.reveal())
        await self.vault.mark_needs_reauth(
            claim.account_id,
            reason,
            now=now,
            details={"reauthorize_url": url, "link_id": link.id, "error_code": error_code, "source": source},
            claim=claim,
        )
        await self._notify(
            WebhookEventType.ACCOUNT_NEEDS_REAUTH,
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
        return Result(claim.account_id, claim.token_id, Outcome.NEEDS_REAUTH, reason, None, url, error=error)

    async def _notify(self, event: WebhookEventType, data: Mapping[str, object], now: datetime) -> None:
        notifier = self.notifier
        if notifier is None or not notifier.endpoints:
            return
        await asyncio.to_thread(notifier.notify, event, data, now)


def _forced(claim: Claim, now: datetime) -> Decision:
    """What an on-demand refresh does, whatever the schedule: the kind's action, unless expired."""
    token = claim.token
    if token.expires_at is not None and token.expires_at > token.issued_at and now >= token.expires_at:
        expired = f"the token expired at {token.expires_at.isoformat()}"
        return Decision(Action.REAUTHORIZE, None, reason=expired)
    action = {
        TokenKind.IG_SHORT: Action.EXCHANGE,
        TokenKind.IG_LONG: Action.REFRESH,
        TokenKind.FB_PAGE: Action.CHECK,
    }.get(token.kind, Action.WAIT)
    return Decision(action, now if action is not Action.WAIT else None, reason="asked for now")
