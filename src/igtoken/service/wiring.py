"""The service put together: settings → vault, Meta endpoints, the seams, and the routes that need them.

:func:`build_app` is what ``igtoken serve`` and the tests call. It turns a :class:`Runtime`
into a :class:`ServiceConfig` and :class:`ServiceDeps` (the vault-backed dashboard, API
keys, readiness and inventory), builds the app with :func:`create_app`, then mounts the
routes that need the vault and the client: connect links and the OAuth callback, Meta's
deauthorize and data-deletion callbacks, and the ``/v1`` token API with its Graph proxy.
Those routes reach the vault through :class:`ServiceWiring` on ``app.state.wiring``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
import httpx
from fastapi import Request

from igtoken.core.config import ClientConfig
from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import (
    NotFoundError,
    TokenExpiredError,
)
from igtoken.core.models import AccessToken
from igtoken.core.secret import Secret
from igtoken.service.interfaces import (
    ApiKeyPrincipal,
)
from igtoken.service.metrics import vault_inventory
from igtoken.service.offload import VaultRunner

if TYPE_CHECKING:
    from igtoken.app.runtime import Runtime
    from igtoken.refresh.usecase import Refresher
    from igtoken.service.anomaly import UsageWatch
    from igtoken.vault import AccountRecord, AppRecord, AsyncVault, StoredToken

__all__ = [
    "CALLBACK_PATH",
    "ServiceWiring",
    "VaultApiKeys",
    "redirect_uri_for",
    "vault_inventory",
    "wiring_of",
]

log = logging.getLogger("igtoken.service.wiring")

#: Where Instagram sends the browser back; the redirect URI is the public URL plus this path.
CALLBACK_PATH: Final = "/oauth/callback"
#: How long a person has between clicking Continue and coming back from Instagram.
STATE_TTL: Final = timedelta(minutes=15)
#: How long (seconds) a request waits for a SQLite file another process holds locked, then 503.
SERVICE_BUSY_TIMEOUT: Final = 3.0
#: How long a re-authorization link made by the service (dashboard, 409 answers) stays valid.
REAUTH_LINK_TTL: Final = timedelta(days=7)


def redirect_uri_for(public_url: str) -> str:
    """The OAuth redirect URI of a service reached at ``public_url``."""
    return public_url.rstrip("/") + CALLBACK_PATH


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceWiring:
    """What the vault-backed routes share: the vault, where Meta is, the public URL, one HTTP pool."""

    vault: AsyncVault
    runtime: Runtime
    endpoints: Endpoints
    public_url: str
    http: httpx.AsyncClient
    clock: Callable[[], datetime] = field(default=_utc_now)
    #: Sandbox apps are ours: the service's redirect URI is registered with them at start-up.
    sandbox: bool = False
    #: The API keys the token API accepts (set by :func:`build_app`).
    api_keys: VaultApiKeys | None = None
    #: Token reads and proxy calls are counted here for the security anomaly alerts (set by build_app).
    usage_watch: UsageWatch | None = None
    #: The token route's blocking work runs here (see :mod:`igtoken.service.offload`).
    runner: VaultRunner = field(default_factory=VaultRunner, repr=False)
    _refresher: Refresher | None = field(default=None, init=False, repr=False)
    _background: set[asyncio.Future[None]] = field(default_factory=set, init=False, repr=False)

    @property
    def proxy_max_body(self) -> int:
        """The largest request body the Graph proxy forwards (``IGTOKEN_PROXY_MAX_BODY``)."""
        return self.runtime.settings.proxy_max_body

    @property
    def redirect_uri(self) -> str:
        """The OAuth redirect URI, derived from the public URL."""
        return redirect_uri_for(self.public_url)

    def link_url(self, code: Secret) -> str:
        """The public URL of a connect link with ``code``."""
        return f"{self.public_url.rstrip('/')}/connect/{code.reveal()}"

    def client_config(self, app: AppRecord) -> ClientConfig:
        """The client configuration of ``app`` with the service's redirect URI (which it must know).

        For a Facebook Login app the credentials are the Meta app's (``config.facebook``).
        """
        return self.runtime.client_config(app, endpoints=self.endpoints, redirect_uri=self.redirect_uri)

    async def serve_token(self, key: Secret, account_id: str, *, now: datetime) -> StoredToken:
        """The token API's read: verify ``key``, check its scope, serve the token and record the read.

        In the order the API promises: an unknown or revoked key is refused (401) and a key
        not scoped to the account is refused (403) before anything about the account is
        looked up; an unusable account is refused without recording a read. The
        ``token_read`` event names the key and is committed before the token is returned.

        On SQLite the whole of it (two indexed reads, a decryption, one insert: tens of
        microseconds) first runs right here in the vault's non-blocking mode: handing it to a
        thread and back cost more than the work. Whatever would wait there (another process's
        lock, another writer of this one, a key to refuse or to touch) raises ``WouldBlock``
        with nothing written, and the work is done again on a :class:`VaultRunner` thread,
        where waiting is allowed, as it always is on PostgreSQL (a network round trip).
        """
        from igtoken.service.apikeys import known_principal, require_capability, require_scope

        api_keys = self.api_keys
        if api_keys is None:
            raise RuntimeError("ServiceWiring.api_keys is not set; build the app with build_app")
        vault = self.vault.sync
        watch = self.usage_watch

        def serve(*, report_refusals: bool = True) -> tuple[ApiKeyPrincipal, StoredToken]:
            principal = known_principal(api_keys.principal(key, report_refusals=report_refusals))
            require_capability(principal, "tokens:read")
            require_scope(principal, account_id)
            _account, stored = vault.serve_token(
                account_id, now=now, reader=principal.id, check=require_usable
            )
            return principal, stored

        if vault.serves_nonblocking:
            from igtoken.vault.direct import WouldBlock

            try:
                with vault.nonblocking():
                    principal, stored = serve(report_refusals=False)
            except WouldBlock:
                pass
            else:
                if vault.claim_checkpoint():
                    self._in_background(vault.checkpoint)
                if watch is not None:
                    alerts = watch.count(key_id=principal.id, account_id=account_id, kind="token_read")
                    if alerts:
                        await self.runner.run(partial(watch.alert, alerts))
                return stored

        def served() -> StoredToken:
            principal, stored = serve()
            if watch is not None:
                watch.used(key_id=principal.id, account_id=account_id, kind="token_read")
            if vault.serves_nonblocking:
                vault.prepare_nonblocking()  # so the next read can try the event loop first
            return stored

        return await self.runner.run(served)

    def _in_background(self, fn: Callable[[], None]) -> None:
        """``fn()`` on a runner thread, not awaited (a failure is logged)."""
        task = asyncio.ensure_future(self.runner.run(fn))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Future[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background vault work failed", exc_info=task.exception())

    async def create_reauth_link(self, account_id: str) -> tuple[str, str]:
        """The account's re-authorization link: ``(link id, URL)``.

        An open one (unused, unrevoked, valid for at least half of :data:`REAUTH_LINK_TTL`
        more) is handed out again, so repeated 409 answers and dashboard clicks do not pile
        up links; its code is recomputed from the vault's key ring, never stored.
        """
        link, code, _created = await self.vault.links.reauthorization(
            account_id, now=self.clock(), ttl=REAUTH_LINK_TTL
        )
        return link.id, self.link_url(code)

    async def reauthorize_url(self, account_id: str) -> str | None:
        """For 409 answers: the account's open re-authorization link, ``None`` if unknown or deleted."""
        try:
            account = await self.vault.get_account(account_id)
        except NotFoundError:
            return None
        if account.status == "deleted":
            return None
        return (await self.create_reauth_link(account_id))[1]

    def refresher(self) -> Refresher:
        """The refresh use case for on-demand refreshes (API, dashboard), made on first use."""
        if self._refresher is None:
            from igtoken.app.refresh_wiring import build_refresher
            from igtoken.refresh.worker import default_owner

            self._refresher = build_refresher(
                self.runtime,
                endpoints=self.endpoints,
                http=self.http,
                owner=f"{default_owner()}:service",
                clock=self.clock,
                public_url=self.public_url,
            ).refresher
        return self._refresher

    async def refresh(self, account_id: str) -> StoredToken:
        """Refresh the account's token now, through the one refresh use case (under its lease).

        A Facebook Login account's page token cannot be refreshed: it is checked with Meta's
        ``debug_token`` instead. A refresh already under way elsewhere (the worker, another
        request) is waited for, not repeated. If Meta refuses the token the account is marked
        for re-authorization and the error raised (409 with the link).
        """
        from igtoken.refresh.usecase import raise_for

        account = await self.vault.get_account(account_id)
        require_usable(account)
        raise_for(await self.refresher().refresh_account(account_id, trigger="on_demand"))
        return await self.vault.current_token(account_id, account.served_kind)

    async def token_dead(self, account_id: str, token_id: str, error: BaseException, *, source: str) -> None:
        """Meta called the token dead in a call the service made with it (Graph proxy, token API).

        When ``error`` means the token is gone, the account is marked as needing
        re-authorization by the refresh use case's one step (event, link, webhook), so the next
        token read answers 409 with the link. Throttles and transient faults change nothing. A
        failure to record it is logged, never raised: the caller still gets Meta's answer.
        """
        try:
            result = await self.refresher().token_dead(account_id, token_id, error, source=source)
        except Exception:
            log.exception("could not mark account %s as needing re-authorization", account_id)
            return
        if result is not None:
            log.warning(
                "Meta refused the token of account %s (%s): %s", account_id, source, result.outcome.value
            )


def require_usable(account: AccountRecord) -> None:
    """Refuse an account whose tokens are gone or dead, with the error that says what to do."""
    status = str(account.status)
    if status == "deleted":
        raise NotFoundError(f"the data of account {account.id!r} was deleted at the person's request")
    if status == "deauthorized":
        raise TokenExpiredError(
            f"account {account.id!r} removed the app on "
            f"{'Facebook' if account.via_facebook else 'Instagram'}; its tokens were destroyed",
            fix="the account's owner must connect again (re-authorization link)",
        )
    if status == "needs_reauth":
        raise TokenExpiredError(
            f"Meta no longer accepts the token of account {account.id!r}"
            + (f": {account.status_reason}" if account.status_reason else ""),
            fix="the account's owner must log in again (re-authorization link)",
        )


def wiring_of(request: Request) -> ServiceWiring:
    """The :class:`ServiceWiring` of the app serving ``request``."""
    wiring = request.app.state.wiring
    assert isinstance(wiring, ServiceWiring)
    return wiring


class VaultApiKeys:
    """:class:`~igtoken.service.interfaces.ApiKeyVerifier` over the vault's hashed API keys.

    No verification is cached: every request looks its key up, so a revoked key stops
    working with the next request.
    """

    def __init__(self, vault: AsyncVault, clock: Callable[[], datetime] = _utc_now) -> None:
        self._keys = vault.sync.api_keys
        self._clock = clock
        #: Told of every refused key (revoked ones by id), for the security anomaly alerts.
        self.watch: UsageWatch | None = None

    def principal(self, key: Secret, *, report_refusals: bool = True) -> ApiKeyPrincipal | None:
        """:meth:`verify`, blocking: for code already on a worker thread.

        Without ``report_refusals`` (in the vault's non-blocking mode, where an alert cannot be
        queued) a key to refuse raises :class:`~igtoken.vault.direct.WouldBlock` instead, so the
        caller asks again where the refusal can be reported.
        """
        text = key.reveal()
        # The vault's keys look like igt_<8 hex>_<secret>; anything else is not worth a query.
        if not text.startswith("igt_") or len(text) > 200:
            if not report_refusals:
                from igtoken.vault.direct import WouldBlock

                raise WouldBlock
            if self.watch is not None:
                self.watch.refused(revoked_key_id=None)
            return None
        try:
            record = self._keys.verify(key, now=self._clock())
        except NotFoundError:
            if not report_refusals:
                from igtoken.vault.direct import WouldBlock

                raise WouldBlock from None
            if self.watch is not None:
                self.watch.refused(revoked_key_id=self._keys.revoked_prefix(key))
            return None
        scope = None if record.account_ids is None else frozenset(record.account_ids)
        able = None if record.capabilities is None else frozenset(record.capabilities)
        return ApiKeyPrincipal(id=record.prefix, account_ids=scope, capabilities=able)

    async def verify(self, key: Secret) -> ApiKeyPrincipal | None:
        """The principal of a valid, unrevoked key; ``None`` for anything else."""
        return await anyio.to_thread.run_sync(self.principal, key)


class VaultSessionRevocations:
    """:class:`~igtoken.service.interfaces.SessionRevocations` in the vault, shared by every instance."""

    def __init__(self, vault: AsyncVault, clock: Callable[[], datetime] = _utc_now) -> None:
        self._vault = vault
        self._clock = clock

    async def revoke(self, session_id: str, *, until: datetime) -> None:
        """Record the sign-out until the cookie would expire anyway."""
        await self._vault.sessions.revoke(session_id, now=self._clock(), expires_at=until)

    async def is_revoked(self, session_id: str) -> bool:
        """Whether the session was signed out."""
        return await self._vault.sessions.is_revoked(session_id)


class VaultRateLimiter:
    """:class:`~igtoken.service.interfaces.SharedRateLimiter` in the vault, shared by every instance."""

    def __init__(self, vault: AsyncVault, clock: Callable[[], datetime] = _utc_now) -> None:
        self._vault = vault
        self._clock = clock

    async def take(self, group: str, client: str, *, per_minute: float, burst: int) -> float | None:
        """Spend one token of ``client`` in ``group``; ``None`` if allowed, else seconds to wait."""
        return await self._vault.rate_buckets.take(
            group, client, per_minute=per_minute, burst=burst, now=self._clock()
        )


def token_body(stored: StoredToken, *, include_token: bool) -> dict[str, Any]:
    """What the API says about a token; the token itself only when asked for it."""
    token: AccessToken = stored.token
    body: dict[str, Any] = {
        "account_id": stored.account_id,
        "kind": str(token.kind),
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
        "user_id": token.user_id,
        "scopes": list(token.scopes),
        "next_refresh_at": stored.next_refresh_at,
    }
    if include_token:
        body = {"access_token": token.value.reveal(), "token_type": "bearer", **body}
    return body
