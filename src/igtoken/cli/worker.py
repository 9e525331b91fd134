"""``igtoken worker``: keep every token in the vault alive until stopped.

Also home of :func:`open_worker`, the one wiring of settings to a :class:`RefreshWorker`
that ``igtoken refresh`` shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from igtoken.cli._context import AppContext, pass_ctx

if TYPE_CHECKING:
    from igtoken.refresh.worker import RefreshWorker
    from igtoken.runtime import Runtime


def _runtime(ctx: AppContext) -> Runtime:
    runtime = getattr(ctx, "runtime", None)
    if runtime is not None:
        return runtime  # type: ignore[no-any-return]
    from igtoken.runtime import Runtime

    settings = ctx.settings
    if ctx.sandbox != settings.sandbox:
        settings = dataclasses.replace(settings, sandbox=ctx.sandbox)
    return Runtime(settings)


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def open_worker(ctx: AppContext, **options: Any) -> AsyncIterator[RefreshWorker]:
    """A worker wired from settings: vault, endpoints, one client per app, vault-backed webhooks.

    On SQLite the worker lock is held for the duration (one worker per database file).
    """
    import httpx

    from igtoken.refresh.wiring import build_worker, single_worker_lock
    from igtoken.runtime import SandboxEmulator

    runtime = _runtime(ctx)
    with contextlib.ExitStack() as stack:
        stack.enter_context(single_worker_lock(runtime.vault))
        sandbox_url = None
        if runtime.sandbox and not runtime.settings.meta_base_url:
            sandbox_url = stack.enter_context(SandboxEmulator().serve())
        endpoints = runtime.endpoints(sandbox_url)
        slots = int(options.get("concurrency", 32))
        # One kept-alive connection per call slot (httpx keeps 20 by default, so a busy worker
        # would open and close connections all the time), and idle ones dropped well before a
        # server's usual 5-second keep-alive: a request sent on a connection the server is closing
        # at that moment fails with a transport error.
        limits = httpx.Limits(max_connections=slots, max_keepalive_connections=slots, keepalive_expiry=2.0)
        http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0), limits=limits, trust_env=False)
        parts = build_worker(runtime, endpoints=endpoints, http=http, **options)
        try:
            yield parts.worker
        finally:
            await parts.aclose()
            await http.aclose()


def _setup_logging(ctx: AppContext) -> None:
    from igtoken._log_redaction import install_log_redaction

    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=ctx.settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    logging.getLogger("igtoken.worker").setLevel(ctx.settings.log_level)
    install_log_redaction()
    # igtoken.http already logs each call to Meta once, redacted; httpx's own line would double it.
    logging.getLogger("httpx").setLevel(logging.WARNING)


async def _serve(ctx: AppContext, until_idle: bool, options: dict[str, Any]) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_worker(ctx, **options) as worker:
        logging.getLogger("igtoken.worker").info("worker %s started", worker.owner)
        if until_idle:
            while not stop.is_set():
                report = await worker.run_once(stop=stop)
                await worker.deliver_notifications()
                if report.claimed == 0:
                    break
        else:
            await worker.run_forever(stop)
        logging.getLogger("igtoken.worker").info(
            "worker %s stopped: %s", worker.owner, dict(worker.state.counters)
        )
        return worker.state.as_json()


@click.command("worker")
@click.option("--concurrency", default=32, show_default=True, help="Calls to Meta at once.")
@click.option("--batch-size", default=100, show_default=True, help="Tokens claimed per transaction.")
@click.option("--lease-seconds", default=120.0, show_default=True, help="How long a claim is leased.")
@click.option("--call-timeout", default=30.0, show_default=True, help="Give up on a call after this long.")
@click.option("--poll-interval", default=30.0, show_default=True, help="Seconds between looks when idle.")
@click.option(
    "--until-idle", is_flag=True, help="Exit once nothing is due (cron, tests) instead of running on."
)
@pass_ctx
def worker(
    ctx: AppContext,
    concurrency: int,
    batch_size: int,
    lease_seconds: float,
    call_timeout: float,
    poll_interval: float,
    until_idle: bool,
) -> None:
    """Keep every token alive: refresh what is due, retry failures, flag dead tokens.

    Runs until SIGTERM or SIGINT, then finishes the refreshes in flight and exits. On SQLite
    one worker runs per database (a lock file says so); on PostgreSQL run as many as you like.
    Logs one line per outcome; prints its counters when it stops.
    """
    _setup_logging(ctx)
    options = {
        "concurrency": concurrency,
        "batch_size": batch_size,
        "lease_seconds": lease_seconds,
        "call_timeout": call_timeout,
        "poll_interval": poll_interval,
    }
    state = asyncio.run(_serve(ctx, until_idle, options))
    if ctx.json:
        click.echo(json.dumps(state))
    else:
        counters = ", ".join(f"{k}={v}" for k, v in sorted(state["counters"].items())) or "nothing to do"
        click.echo(f"worker stopped after {state['runs']} run(s): {counters}")


__all__: list[str] = ["open_worker", "worker"]
