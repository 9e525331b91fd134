"""The seams between the service and the rest of igtoken.

The service knows HTTP, pages, sessions and metrics; the vault, the client and the
refresh engine sit behind these protocols and are handed in as :class:`ServiceDeps`.
Every protocol is async: implementations over the sync vault offload to a thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from igtoken.core.secret import Secret
from igtoken.service.views import (
    AccountDetail,
    AccountRow,
    AppChoice,
    DeletionRequestRow,
    EventRow,
    ExpiryBucket,
    LinkRow,
    NewLink,
)
from igtoken.vault.stats import Inventory


class DashboardData(Protocol):
    """What the dashboard reads. Unknown ids raise :class:`~igtoken.core.exceptions.NotFoundError`."""

    async def list_accounts(self) -> Sequence[AccountRow]:
        """Every connected account, in the order the dashboard should list them."""
        ...

    async def account(self, account_id: str) -> AccountDetail:
        """One account's details."""
        ...

    async def events(self, account_id: str) -> Sequence[EventRow]:
        """One account's audit trail, newest first."""
        ...

    async def apps(self) -> Sequence[AppChoice]:
        """The Meta apps a connect link can be created for."""
        ...

    async def links(self) -> Sequence[LinkRow]:
        """Connect and re-authorization links, newest first."""
        ...

    async def deletion_requests(self) -> Sequence[DeletionRequestRow]:
        """Data deletion requests, newest first."""
        ...

    async def expiry_histogram(self) -> Sequence[ExpiryBucket]:
        """Upcoming token expiries per day, for the chart."""
        ...


class DashboardActions(Protocol):
    """What the dashboard's buttons do. Each returns a short message shown after the redirect."""

    async def refresh_now(self, account_id: str) -> str:
        """Refresh one account's token now (errors propagate and are shown as such)."""
        ...

    async def create_reauth_link(self, account_id: str) -> LinkRow:
        """Make a link that lets the account's owner log in again; ``url`` must be set."""
        ...

    async def disconnect(self, account_id: str) -> str:
        """Forget the account's tokens and mark it disconnected."""
        ...

    async def create_link(self, new: NewLink) -> LinkRow:
        """Make a connect link; ``url`` must be set, it is shown once."""
        ...

    async def revoke_link(self, link_id: str) -> str:
        """Make a connect link unusable."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKeyPrincipal:
    """Who an API key speaks for: every account (``account_ids is None``) or the listed ones,
    and what it may do (``capabilities is None``: everything)."""

    id: str
    account_ids: frozenset[str] | None = None
    capabilities: frozenset[str] | None = None

    def may_read(self, account_id: str) -> bool:
        """Whether this key is scoped to ``account_id``."""
        return self.account_ids is None or account_id in self.account_ids

    def may(self, capability: str) -> bool:
        """Whether this key has ``capability`` (``tokens:read``, ``graph``, …)."""
        return self.capabilities is None or capability in self.capabilities


class SessionRevocations(Protocol):
    """Dashboard sessions ended server-side (sign-out), shared by every instance of the service."""

    async def revoke(self, session_id: str, *, until: datetime) -> None:
        """Refuse the session ``session_id`` from now until ``until`` (when its cookie expires anyway)."""
        ...

    async def is_revoked(self, session_id: str) -> bool:
        """Whether the session ``session_id`` was ended."""
        ...


class SharedRateLimiter(Protocol):
    """Token buckets every instance of the service shares (the sign-in limit), e.g. in the database."""

    async def take(self, group: str, client: str, *, per_minute: float, burst: int) -> float | None:
        """Spend one token of ``client`` in ``group``; ``None`` if allowed, else seconds to wait."""
        ...


class ApiKeyVerifier(Protocol):
    """Checks an API key (stored hashed by the vault) and says whom it speaks for."""

    async def verify(self, key: Secret) -> ApiKeyPrincipal | None:
        """The principal of a valid, unrevoked key; ``None`` for anything else."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified event from Meta: which app signed it, and the parsed body."""

    app_id: str
    payload: Mapping[str, Any]
    received_at: datetime


#: Takes a verified webhook event; raising makes the service answer 500 so Meta retries.
WebhookHandler = Callable[[WebhookEvent], Awaitable[None]]

#: A long-running job (refresh worker, expiry warner) started with the app and cancelled at shutdown.
BackgroundTask = Callable[[], Awaitable[None]]

#: Makes (or finds) a re-authorization URL for an account, for 409 answers; ``None`` if it cannot.
ReauthorizeUrlFactory = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class ReadinessCheck:
    """A named probe for ``/readyz``: returns when healthy, raises (or times out) when not."""

    name: str
    check: Callable[[], Awaitable[None]]
    timeout: float = 2.0


#: Reads the inventory for ``/metrics``; sync, called in a worker thread at scrape time.
InventorySource = Callable[[], Inventory]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stderr_write(text: str) -> None:
    import sys

    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class ServiceDeps:
    """Everything the service gets from outside HTTP; every field is optional.

    A route whose dependency is missing is not mounted (dashboard), answers 503
    (webhook intake, token reads) or has nothing to report (metrics gauges).
    """

    dashboard_data: DashboardData | None = None
    dashboard_actions: DashboardActions | None = None
    api_keys: ApiKeyVerifier | None = None
    webhook_handler: WebhookHandler | None = None
    reauthorize_url: ReauthorizeUrlFactory | None = None
    readiness_checks: Sequence[ReadinessCheck] = ()
    background_tasks: Sequence[BackgroundTask] = ()
    inventory: InventorySource | None = None
    #: Where sign-outs are recorded; ``None``: in this process's memory (one instance only).
    session_revocations: SessionRevocations | None = None
    #: Where the sign-in limit is counted; ``None``: in this process's memory (one instance only).
    shared_limiter: SharedRateLimiter | None = None
    #: The wall clock, for pages ("in 12 days") and webhook receipt times.
    clock: Callable[[], datetime] = field(default=_utc_now)
    #: A monotonic clock in seconds, for the rate limiter.
    monotonic: Callable[[], float] | None = None
    #: Where start-up notices for a human go (the sandbox admin password); never the log.
    announce: Callable[[str], None] = field(default=_stderr_write)
