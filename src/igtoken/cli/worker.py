"""``igtoken worker``: keep every token in the vault alive until stopped.

Also home of :func:`open_worker`, the one wiring of settings to a :class:`RefreshWorker`
that ``igtoken refresh`` shares.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import gc
import json
import logging
import os
import signal
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import click

from igtoken.cli._context import AppContext, pass_ctx

if TYPE_CHECKING:
    import httpx

    from igtoken.app.permission_audit import PermissionAuditor
    from igtoken.app.runtime import Runtime
    from igtoken.cli._meta import MetaLink
    from igtoken.core.endpoints import Endpoints
    from igtoken.refresh.usecase import Refresher
    from igtoken.refresh.worker import RefreshWorker
    from igtoken.service.metrics import ServiceMetrics


def _runtime(ctx: AppContext) -> Runtime:
    runtime = getattr(ctx, "runtime", None)
    if runtime is not None:
        return runtime  # type: ignore[no-any-return]
    from igtoken.app.runtime import Runtime

    settings = ctx.settings
    if ctx.sandbox != settings.sandbox:
        settings = dataclasses.replace(settings, sandbox=ctx.sandbox)
    return Runtime(settings)


@contextlib.asynccontextmanager
async def open_worker(ctx: AppContext, **options: Any) -> AsyncIterator[RefreshWorker]:
    """A worker wired from settings: vault, endpoints, one client per app, vault-backed webhooks.

    On SQLite the worker lock is held for the duration (one worker per database file).
    """
    from igtoken.app.refresh_wiring import build_worker, single_worker_lock

    runtime = _runtime(ctx)
    with contextlib.ExitStack() as stack:
        stack.enter_context(single_worker_lock(runtime.vault))
        endpoints = _endpoints(runtime, stack)
        slots = int(options.get("concurrency", 32))
        http = _http(slots)
        parts = build_worker(runtime, endpoints=endpoints, http=http, **options)
        try:
            yield parts.worker
        finally:
            await parts.aclose()
            await http.aclose()


@contextlib.asynccontextmanager
async def open_refresher(ctx: AppContext, link: MetaLink | None = None) -> AsyncIterator[Refresher]:
    """The refresh use case wired from settings, for refreshing one account now.

    No worker lock: it refreshes under the token's lease, beside a running worker (whose
    refresh of the same token it waits for rather than repeats). It reaches Meta through
    ``link`` when given (a command's open :func:`~igtoken.cli._meta.meta_link`); otherwise in
    sandbox mode the sandbox emulator answers in this process, over the shared sandbox world.
    """
    import httpx

    from igtoken.app.refresh_wiring import build_refresher

    runtime = _runtime(ctx)
    if link is not None:
        http, endpoints = link.async_http(), link.endpoints
    elif runtime.sandbox and not runtime.settings.meta_base_url:
        from igtoken.app.runtime import SandboxEmulator
        from igtoken.cli._meta import SANDBOX_BASE_URL

        # The shared sandbox world, in this process: each request is one transaction on its file.
        app = SandboxEmulator().app()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_BASE_URL)
        endpoints = runtime.endpoints(sandbox_url=SANDBOX_BASE_URL)
    else:
        http, endpoints = _http(4), runtime.endpoints()
    parts = build_refresher(runtime, endpoints=endpoints, http=http, owner=f"cli-{os.getpid()}")
    try:
        yield parts.refresher
    finally:
        await parts.aclose()
        await http.aclose()


def _endpoints(runtime: Runtime, stack: contextlib.ExitStack) -> Endpoints:
    """Where Meta is: the configured hosts, or the sandbox emulator served for the duration."""
    from igtoken.app.runtime import SandboxEmulator

    sandbox_url = None
    if runtime.sandbox and not runtime.settings.meta_base_url:
        sandbox_url = stack.enter_context(SandboxEmulator().serve())
    return runtime.endpoints(sandbox_url)


def _http(slots: int) -> httpx.AsyncClient:
    from igtoken.app.refresh_wiring import worker_http

    return worker_http(slots)


_quick_exit_registered = False


def _quick_exit() -> None:
    """At interpreter exit, spare the cyclic garbage collector its last passes over every object.

    Python's finalization collects garbage over the whole heap (tens of thousands of objects
    once SQLAlchemy, httpx and the vault are loaded): some 0.1–0.2 s of CPU at the end of every
    worker process, for memory the operating system takes back anyway. Frozen objects are left
    to it. Runs before logging's own exit handler, which still flushes every log line; files and
    connections were closed by the worker itself.
    """
    gc.freeze()


def _register_quick_exit() -> None:
    global _quick_exit_registered
    if not _quick_exit_registered:
        _quick_exit_registered = True
        atexit.register(_quick_exit)


def _setup_logging(ctx: AppContext) -> None:
    from igtoken.app.logs import add_log_handler, set_log_format

    add_log_handler(ctx.settings.log_level, ctx.settings.log_format)
    set_log_format(ctx.settings.log_format)  # also a handler -v installed before settings were read
    logging.getLogger("igtoken.worker").setLevel(ctx.settings.log_level)
    # igtoken.http already logs each call to Meta once, redacted; httpx's own line would double it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # One line per account (igtoken.worker: account, outcome, the reason of a failure) says what
    # each refresh came to; the line per call to Meta beside it is for debugging (failed calls
    # are still logged, as warnings).
    if logging.getLevelName(ctx.settings.log_level) != logging.DEBUG:
        logging.getLogger("igtoken.http").setLevel(logging.WARNING)


async def _wait_for_database(ctx: AppContext, max_outage: float, stop: asyncio.Event) -> None:
    """Open the vault, waiting (with backoff) up to ``max_outage`` seconds while the database is down.

    A worker started with (or before) its database, as systemd or a container platform may do,
    waits for it instead of failing at once.
    """
    import time

    from igtoken.core.exceptions import DatabaseUnavailableError
    from igtoken.refresh.worker import is_outage

    runtime = _runtime(ctx)  # the same runtime open_worker uses, so the vault opened here is the worker's
    started, delay = time.monotonic(), 1.0
    while True:
        try:
            runtime.open_vault()
            return
        except DatabaseUnavailableError as exc:
            waited = time.monotonic() - started
            if not is_outage(exc) or waited >= max_outage or stop.is_set():
                raise
            logging.getLogger("igtoken.worker").warning(
                "waiting for the database (%.0f of %g s): %s", waited, max_outage, exc.message
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(delay, max_outage - waited))
            delay = min(delay * 2, 30.0)


@contextlib.asynccontextmanager
async def _metrics_server(
    metrics: ServiceMetrics | None,
    worker: RefreshWorker,
    port: int | None,
    host: str,
    runtime: Runtime | None = None,
) -> AsyncIterator[None]:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` while the worker runs (no port: nothing).

    ``/healthz`` is 503 with the reason when the worker's last tick is too old or the vault is
    unreachable (:class:`~igtoken.service.worker_health.WorkerHealth`).
    """
    if metrics is None or port is None:
        yield
        return
    import uvicorn

    from igtoken.service.metrics import metrics_app
    from igtoken.service.worker_health import WorkerHealth, stale_after

    health = WorkerHealth(
        worker.state,
        clock=worker.clock,
        stale_after=stale_after(worker.poll_interval, worker.lease_seconds),
        ping=runtime.vault.list_apps if runtime is not None else None,
    )

    worker.on_result = lambda result: metrics.record_refresh(result.outcome.value)
    if worker.notifier is not None:
        worker.notifier.on_attempt = lambda attempt: metrics.record_webhook_attempt(attempt.outcome.value)
    config = uvicorn.Config(
        metrics_app(metrics, health=health),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    # uvicorn says it is listening through a flag only, not an event.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if task.done():
        task.result()  # raise the bind error
        raise click.ClickException(f"could not serve metrics on {host}:{port}")
    logging.getLogger("igtoken.worker").info("metrics on http://%s:%d/metrics", host, port)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _serve(
    ctx: AppContext,
    until_idle: bool,
    options: dict[str, Any],
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await _wait_for_database(ctx, float(options.get("max_outage", 0.0)), stop)
    metrics = None
    options = dict(options)
    if metrics_port is not None:
        from igtoken.service.metrics import ServiceMetrics, vault_inventory

        runtime = _runtime(ctx)
        metrics = ServiceMetrics(vault_inventory(runtime.vault, runtime.now))
        # Meta's usage headers on the worker's own calls: app-wide figures, so no account label.
        options["on_usage"] = lambda app_id, usage: metrics.observe_usage(app_id, "", usage)
    async with (
        open_worker(ctx, **options) as worker,
        _metrics_server(metrics, worker, metrics_port, metrics_host, _runtime(ctx)),
    ):
        logging.getLogger("igtoken.worker").info("worker %s started", worker.owner)
        audit = _permission_audit(ctx)
        if until_idle:
            await asyncio.to_thread(audit.run_if_due, _runtime(ctx).now())
            while not stop.is_set():
                report = await worker.run_once(stop=stop)
                await worker.deliver_notifications()
                if report.claimed == 0:
                    break
        else:
            from igtoken.app.housekeeping import housekeeping_task
            from igtoken.app.permission_audit import auditor_task
            from igtoken.vault import AsyncVault

            runtime = _runtime(ctx)
            background = [
                asyncio.create_task(auditor_task(audit, clock=runtime.now)()),
                asyncio.ensure_future(housekeeping_task(AsyncVault(runtime.vault), clock=runtime.now)()),
            ]
            try:
                await worker.run_forever(stop)
            finally:
                for task in background:
                    task.cancel()
        logging.getLogger("igtoken.worker").info(
            "worker %s stopped: %s", worker.owner, dict(worker.state.counters)
        )
        return worker.state.as_json()


def _permission_audit(ctx: AppContext) -> PermissionAuditor:
    """The scheduled permission audit (weekly unless IGTOKEN_PERMISSION_AUDIT_DAYS says otherwise)."""
    from igtoken.app.permission_audit import build_auditor

    return build_auditor(_runtime(ctx))


@click.command("worker")
@click.option("--concurrency", default=32, show_default=True, help="Calls to Meta at once.")
@click.option("--batch-size", default=100, show_default=True, help="Tokens claimed per transaction.")
@click.option("--lease-seconds", default=120.0, show_default=True, help="How long a claim is leased.")
@click.option("--call-timeout", default=30.0, show_default=True, help="Give up on a call after this long.")
@click.option("--poll-interval", default=30.0, show_default=True, help="Seconds between looks when idle.")
@click.option(
    "--max-outage",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds to ride out an unavailable database, then exit. Default: IGTOKEN_WORKER_MAX_OUTAGE (300).",
)
@click.option(
    "--until-idle", is_flag=True, help="Exit once nothing is due (cron, tests) instead of running on."
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve /metrics and /healthz on this port (needs igtoken[server]).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Where --metrics-port listens.")
@pass_ctx
def worker(
    ctx: AppContext,
    concurrency: int,
    batch_size: int,
    lease_seconds: float,
    call_timeout: float,
    poll_interval: float,
    max_outage: float | None,
    until_idle: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Keep every token alive: refresh what is due, retry failures, flag dead tokens.

    Runs until SIGTERM or SIGINT, then finishes the refreshes in flight and exits. On SQLite
    one worker runs per database (a lock file says so); on PostgreSQL run as many as you like.
    A database outage is ridden out (retried with backoff) for --max-outage seconds; only then
    does the worker exit 5, naming the cause. Logs one line per outcome; prints its counters
    when it stops.
    """
    if metrics_port is not None:
        from igtoken.config.extras import require_extra

        require_extra("server")
    _setup_logging(ctx)
    _register_quick_exit()
    options = {
        "concurrency": concurrency,
        "batch_size": batch_size,
        "lease_seconds": lease_seconds,
        "call_timeout": call_timeout,
        "poll_interval": poll_interval,
        "max_outage": ctx.settings.worker_max_outage if max_outage is None else max_outage,
    }
    state = asyncio.run(_serve(ctx, until_idle, options, metrics_port, metrics_host))
    if ctx.json:
        click.echo(json.dumps(state))
    else:
        counters = ", ".join(f"{k}={v}" for k, v in sorted(state["counters"].items())) or "nothing to do"
        click.echo(f"worker stopped after {state['runs']} run(s): {counters}")


__all__: list[str] = ["open_refresher", "open_worker", "worker"]
