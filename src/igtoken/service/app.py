"""``create_app``: the service's FastAPI application, and ``serve`` to run it under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from igtoken import __version__
from igtoken.app.logs import configure_logging
from igtoken.core.secret import Secret
from igtoken.service.app_state import ServiceState
from igtoken.service.asgi import HTTPMiddleware
from igtoken.service.config import ServiceConfig
from igtoken.service.errors import install_error_handlers
from igtoken.service.interfaces import BackgroundTask, ServiceDeps
from igtoken.service.logging import RequestIdMiddleware, RequestLogMiddleware
from igtoken.service.metrics import HTTPMetricsMiddleware, ServiceMetrics
from igtoken.service.openapi import install_openapi, operation_id
from igtoken.service.pages import STATIC_DIR, Pages
from igtoken.service.ratelimit import TokenBucketLimiter
from igtoken.service.routes import assets, dashboard, health, meta_webhooks, signin
from igtoken.service.security import InMemorySessionRevocations, SessionCodec, SessionMiddleware

log = logging.getLogger("igtoken.service")

# No scripts at all: the pages are plain HTML and CSS, so anything that runs is an injection.
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)


class SecurityHeadersMiddleware(HTTPMiddleware):
    """Headers every answer carries: no sniffing, no framing, no referrer (links are invitations)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("content-security-policy", _CSP)
                if self.hsts:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _task_name(task: BackgroundTask) -> str:
    return str(getattr(task, "__qualname__", None) or getattr(task, "__name__", None) or repr(task))


async def _supervise(state: ServiceState, task: BackgroundTask) -> None:
    name = _task_name(task)
    try:
        await task()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background task crashed", extra={"task": name})
    else:
        log.warning("background task returned", extra={"task": name})
    # A worker that stopped means tokens silently stop being refreshed; /readyz must say so.
    state.stopped_tasks.append(name)


def _lifespan(state: ServiceState) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.admin_password_generated:
            state.deps.announce(
                "igtoken sandbox: sign in to the dashboard at "
                f"{state.config.public_url.rstrip('/')}/signin with the admin password "
                f"{state.admin_password.reveal()}"
            )
        tasks = [asyncio.create_task(_supervise(state, task)) for task in state.deps.background_tasks]
        log.info("service started", extra={"background_tasks": len(tasks), "sandbox": state.config.sandbox})
        try:
            yield
        finally:
            for running in tasks:
                running.cancel()
            for running in tasks:
                with suppress(asyncio.CancelledError):
                    await running
            log.info("service stopped")

    return lifespan


def create_app(config: ServiceConfig, *, deps: ServiceDeps | None = None) -> FastAPI:
    """Build the service: probes, metrics, Meta webhooks, sign-in, and the dashboard if it has data.

    Routes that need the vault (token reads, connect-link onboarding, deauthorize,
    data deletion) are added by the caller with ``app.include_router`` and reach this
    wiring through ``request.app.state.igtoken`` (:class:`ServiceState`).
    """
    deps = deps or ServiceDeps()
    admin_password = config.admin_password
    generated = admin_password is None
    if admin_password is None:
        # Only reachable in sandbox mode: ServiceConfig refuses a missing password otherwise.
        admin_password = Secret(secrets.token_urlsafe(18))
    session_secret = config.session_secret or Secret(secrets.token_urlsafe(48))
    codec = SessionCodec(
        session_secret, max_age=config.session_max_age, secure=config.https, password=admin_password
    )
    wall_clock = lambda: deps.clock().timestamp()  # noqa: E731
    state = ServiceState(
        config=config,
        deps=deps,
        admin_password=admin_password,
        admin_password_generated=generated,
        metrics=ServiceMetrics(deps.inventory),
        limiter=TokenBucketLimiter(config.rate_limits, monotonic=deps.monotonic or time.monotonic),
        pages=Pages(app_name=config.app_name, clock=deps.clock),
        sessions=deps.session_revocations or InMemorySessionRevocations(wall_clock),
        session_codec=codec,
    )
    app = FastAPI(
        title="igtoken",
        version=__version__,
        lifespan=_lifespan(state),
        docs_url=None,  # served by routes.assets with igtoken's own copy of Swagger UI (works offline)
        redoc_url=None,
        openapi_url="/api/openapi.json" if config.api_docs else None,
        generate_unique_id_function=operation_id,
    )
    install_openapi(app)
    app.state.igtoken = state
    install_error_handlers(app)

    app.include_router(health.router)
    app.include_router(meta_webhooks.router)
    app.include_router(signin.router)
    app.include_router(assets.router)
    if config.api_docs and (config.sandbox or config.dev):
        app.include_router(assets.docs)
    if deps.dashboard_data is not None:
        app.include_router(dashboard.pages)
        if deps.dashboard_actions is not None:
            app.include_router(dashboard.actions)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Added innermost first: the request log sees every answer, including the error pages.
    app.add_middleware(SessionMiddleware, codec=codec, clock=wall_clock, revocations=state.sessions)
    app.add_middleware(SecurityHeadersMiddleware, hsts=config.https)
    app.add_middleware(HTTPMetricsMiddleware, metrics=state.metrics)
    app.add_middleware(RequestLogMiddleware)
    # Around the request log, so its line (and every other line the request causes) has the id.
    app.add_middleware(RequestIdMiddleware)
    if config.trusted_proxies:
        # Outermost, so the rate limiter, the request log and the session all see the real client.
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))
    return app


def make_server(app: FastAPI, *, host: str = "127.0.0.1", port: int = 8000) -> uvicorn.Server:
    """A uvicorn server for ``app`` that leaves logging to us (JSON) and logs requests once."""
    server_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        # Forwarded headers are the app's business, and only from ServiceConfig.trusted_proxies
        # (uvicorn's own default would believe any process on 127.0.0.1).
        proxy_headers=False,
        lifespan="on",
    )
    return uvicorn.Server(server_config)


def serve(
    config: ServiceConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    deps: ServiceDeps | None = None,
    sock: socket.socket | None = None,
    log_level: str = "INFO",
    log_format: str = "json",
) -> None:
    """Run the service until interrupted, logging ``log_format`` lines; ``sock`` serves a bound socket."""
    configure_logging(log_level, fmt=log_format)
    server = make_server(create_app(config, deps=deps), host=host, port=port)
    server.run(sockets=[sock] if sock is not None else None)
