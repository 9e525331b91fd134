"""``build_app``: the whole service put together from its wiring, its routes and its background tasks.

Apart from :mod:`igtoken.service.wiring` (the parts the routes use), so the routes can import the
wiring and this module can import the routes without either importing the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import httpx
from fastapi import FastAPI

from igtoken.app.housekeeping import housekeeping_task
from igtoken.core.endpoints import Endpoints
from igtoken.core.secret import Secret
from igtoken.core.usage import Usage
from igtoken.service.config import RateLimit, RateLimits, ServiceConfig
from igtoken.service.interfaces import (
    BackgroundTask,
    ReadinessCheck,
    ServiceDeps,
)
from igtoken.service.metrics import vault_inventory

if TYPE_CHECKING:
    from igtoken.app.runtime import Runtime
    from igtoken.config.settings import Settings
    from igtoken.vault import AsyncVault
from igtoken.service.wiring import (
    SERVICE_BUSY_TIMEOUT,
    ServiceWiring,
    VaultApiKeys,
    VaultRateLimiter,
    VaultSessionRevocations,
    _utc_now,
)

__all__ = ["SANDBOX_VERIFY_TOKEN", "build_app", "meta_webhook_verify_token", "rate_limits_from"]

log = logging.getLogger("igtoken.service.wiring")


def close_at_shutdown(http: httpx.AsyncClient) -> BackgroundTask:
    """A background task that only waits, and closes the shared HTTP pool when the service stops."""

    async def close_http_pool_at_shutdown() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await http.aclose()

    return close_http_pool_at_shutdown


def refresh_worker_task(
    runtime: Runtime,
    endpoints: Endpoints,
    http: httpx.AsyncClient,
    *,
    clock: Callable[[], datetime] = _utc_now,
    on_outcome: Callable[[str], None] | None = None,
    public_url: str | None = None,
    on_delivery: Callable[[str], None] | None = None,
    on_usage: Callable[[str, Usage], None] | None = None,
) -> BackgroundTask:
    """The refresh worker as a background task of the service (see :mod:`igtoken.app.refresh_wiring`).

    On SQLite only one worker may run per database file: if a separate ``igtoken worker``
    already holds the lock, the service says so in its log and serves without one. At
    shutdown the worker stops between batches and finishes the refreshes in flight.
    """
    from igtoken.app.refresh_wiring import build_worker, single_worker_lock
    from igtoken.core.exceptions import ConflictError

    async def refresh_worker() -> None:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(single_worker_lock(runtime.vault))
            except ConflictError as exc:
                log.warning("refresh worker not started: %s", exc.message)
                await asyncio.Event().wait()  # stay "running": the other worker does the job
            parts = build_worker(
                runtime, endpoints=endpoints, http=http, clock=clock, public_url=public_url, on_usage=on_usage
            )
            if on_outcome is not None:
                parts.worker.on_result = lambda result: on_outcome(result.outcome.value)
            if on_delivery is not None:
                parts.notifier.on_attempt = lambda attempt: on_delivery(attempt.outcome.value)
            stop = asyncio.Event()
            running = asyncio.ensure_future(parts.worker.run_forever(stop))
            try:
                await asyncio.shield(running)
            except asyncio.CancelledError:
                stop.set()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(running, timeout=30)
                raise
            finally:
                await parts.aclose()

    return refresh_worker


def _vault_ping(vault: AsyncVault) -> ReadinessCheck:
    async def check() -> None:
        # A read, then an empty write transaction: a SQLite file locked by another process still
        # reads (WAL) but would refuse every write, and /readyz should say so.
        await vault.list_apps()
        await vault.check_writable()

    return ReadinessCheck(name="vault", check=check, timeout=SERVICE_BUSY_TIMEOUT + 2)


def rate_limits_from(settings: Settings) -> RateLimits:
    """The service's rate limits: ``IGTOKEN_RATE_LIMIT_*`` where set, the defaults elsewhere."""
    defaults = RateLimits()
    chosen: dict[str, RateLimit] = {}
    for group in ("signin", "public", "api", "webhooks"):
        value = getattr(settings, f"rate_limit_{group}")
        chosen[group] = getattr(defaults, group) if value is None else RateLimit(*value)
    return RateLimits(**chosen)


#: The verify token of Meta's webhook subscription in sandbox mode, unless one is set (shown in the banner).
SANDBOX_VERIFY_TOKEN: Final = Secret("igtoken-sandbox-verify-token")


def meta_webhook_verify_token(settings: Settings, *, sandbox: bool) -> Secret | None:
    """``IGTOKEN_META_WEBHOOK_VERIFY_TOKEN``; in sandbox mode :data:`SANDBOX_VERIFY_TOKEN` when unset."""
    if settings.meta_webhook_verify_token is not None:
        return settings.meta_webhook_verify_token
    return SANDBOX_VERIFY_TOKEN if sandbox else None


def build_app(
    runtime: Runtime,
    *,
    public_url: str,
    endpoints: Endpoints,
    sandbox: bool = False,
    admin_password: Secret | None = None,
    session_secret: Secret | None = None,
    worker: bool = True,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = _utc_now,
    rate_limits: RateLimits | None = None,
    extra_tasks: Sequence[BackgroundTask] = (),
    announce: Callable[[str], None] | None = None,
) -> FastAPI:
    """The whole service over ``runtime``'s vault, talking to Meta (or an emulator) at ``endpoints``."""
    from igtoken.service.app import create_app
    from igtoken.service.meta_events import meta_event_handler
    from igtoken.service.routes import api, api_keys_page, connect, meta_apps, meta_callbacks, onboarding_api
    from igtoken.service.vault_dashboard import VaultDashboard
    from igtoken.vault import AsyncVault

    settings = runtime.settings
    # A request must not hang on a SQLite file another process has locked: fail over to 503 soon.
    runtime.vault.set_busy_timeout(
        SERVICE_BUSY_TIMEOUT if settings.database_busy_timeout is None else settings.database_busy_timeout
    )
    vault = AsyncVault(runtime.vault)
    if http is None:
        # Meta's calls (token exchange, refresh, proxied Graph reads) share one pool.
        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
    wiring = ServiceWiring(
        vault=vault,
        runtime=runtime,
        endpoints=endpoints,
        public_url=public_url.rstrip("/"),
        http=http,
        clock=clock,
        sandbox=sandbox,
    )
    wiring.api_keys = VaultApiKeys(vault, clock)
    from igtoken.service.anomaly import usage_watch

    wiring.usage_watch = wiring.api_keys.watch = usage_watch(runtime, clock)

    def app_secrets() -> dict[str, Secret]:
        # Webhooks are signed with the Meta app secret (Facebook Login) or the Instagram app secret.
        secrets: dict[str, Secret] = {}
        for app in runtime.vault.list_apps():
            secrets[app.instagram_app_id] = app.app_secret
            if app.meta_app_id and app.meta_app_secret is not None:
                secrets[app.meta_app_id] = app.meta_app_secret
        return secrets

    config = ServiceConfig(
        public_url=wiring.public_url,
        webhook_verify_token=meta_webhook_verify_token(settings, sandbox=sandbox),
        sandbox=sandbox,
        dev=settings.dev,
        admin_password=admin_password if admin_password is not None else settings.admin_password,
        session_secret=session_secret if session_secret is not None else runtime.session_secret(),
        meta_app_secrets=app_secrets,
        rate_limits=rate_limits or rate_limits_from(settings),
        trusted_proxies=settings.trusted_proxies,
        metrics_token=settings.metrics_token,
        api_docs=settings.api_docs,
    )
    dashboard = VaultDashboard(wiring)
    tasks: list[BackgroundTask] = [
        close_at_shutdown(http),
        wiring.runner.close_at_shutdown,
        housekeeping_task(vault, clock=clock),
        *extra_tasks,
    ]
    if worker:
        from igtoken.app.permission_audit import auditor_task, build_auditor

        # The weekly permission audit (IGTOKEN_PERMISSION_AUDIT_DAYS), beside the refresh worker.
        tasks.append(auditor_task(build_auditor(runtime), clock=clock))
    outcomes: list[Callable[[str], None]] = []  # filled once the app (and its metrics) exists
    deliveries: list[Callable[[str], None]] = []
    usages: list[Callable[[str, str, Usage | None], None]] = []
    if worker:

        def record_outcome(outcome: str) -> None:
            for record in outcomes:
                record(outcome)

        def record_delivery(outcome: str) -> None:
            for record in deliveries:
                record(outcome)

        def record_usage(app_id: str, usage: Usage) -> None:
            # Seen on the worker's own calls (refreshes, checks): app-wide, so no account label.
            for observe in usages:
                observe(app_id, "", usage)

        # Re-authorization links in the worker's events and webhooks are made on this service's URL.
        tasks.append(
            refresh_worker_task(
                runtime,
                endpoints,
                http,
                clock=clock,
                on_outcome=record_outcome,
                public_url=wiring.public_url,
                on_delivery=record_delivery,
                on_usage=record_usage,
            )
        )
    deps_kwargs: dict[str, Any] = {}
    if announce is not None:
        deps_kwargs["announce"] = announce
    deps = ServiceDeps(
        dashboard_data=dashboard,
        dashboard_actions=dashboard,
        api_keys=wiring.api_keys,
        reauthorize_url=wiring.reauthorize_url,
        webhook_handler=meta_event_handler(runtime, clock),
        readiness_checks=(_vault_ping(vault),),
        background_tasks=tuple(tasks),
        inventory=vault_inventory(runtime.vault, clock),
        session_revocations=VaultSessionRevocations(vault, clock),
        shared_limiter=VaultRateLimiter(vault, clock),
        clock=clock,
        **deps_kwargs,
    )
    app = create_app(config, deps=deps)
    app.state.wiring = wiring
    outcomes.append(app.state.igtoken.metrics.record_refresh)
    deliveries.append(app.state.igtoken.metrics.record_webhook_attempt)
    usages.append(app.state.igtoken.metrics.observe_usage)
    from igtoken.service.usage_record import UsageRecorder

    # Each account's last usage (seen by the Graph proxy) goes to the vault for the dashboard.
    app.state.usage_recorder = UsageRecorder(runtime.vault, clock)
    app.state.igtoken.metrics.usage_listeners.append(app.state.usage_recorder)
    wiring.usage_watch.register_metrics(app.state.igtoken.metrics.registry)
    app.include_router(connect.router)
    app.include_router(meta_callbacks.router)
    app.include_router(api.router)
    # The token route first of all: its path overlaps no other route's, and it is the busiest.
    app.include_router(api.token_router)
    app.router.routes.insert(0, app.router.routes.pop())
    app.include_router(onboarding_api.router)
    app.include_router(meta_apps.pages)
    app.include_router(meta_apps.actions)
    app.include_router(api_keys_page.pages)
    app.include_router(api_keys_page.actions)
    return app
