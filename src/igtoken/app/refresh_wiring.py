"""One wiring of the refresh use case and its worker from a :class:`~igtoken.app.runtime.Runtime`.

``igtoken worker``, ``igtoken refresh``, ``igtoken token``, ``igtoken doctor``, the service's
built-in worker and its on-demand refresh all build them here, so they refresh with the same
clients, notifier, delivery log and public URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Required, TypedDict, Unpack

from igtoken.core.webhook_secret import split_signing_secrets

if TYPE_CHECKING:
    import httpx

    from igtoken.app.runtime import Runtime
    from igtoken.client.clients import AsyncClient
    from igtoken.client.retry import RetryPolicy
    from igtoken.config.settings import Settings
    from igtoken.core.config import ClientConfig
    from igtoken.core.endpoints import Endpoints
    from igtoken.core.usage import Usage
    from igtoken.notify import Attempt, Endpoint, Notifier
    from igtoken.refresh.policy import RefreshPolicy
    from igtoken.refresh.usecase import Refresher
    from igtoken.refresh.worker import RefreshWorker
    from igtoken.vault import Vault

__all__ = [
    "RefresherArgs",
    "RefresherParts",
    "WorkerParts",
    "build_refresher",
    "build_worker",
    "deliver_queued",
    "single_worker_lock",
    "webhook_endpoints",
    "worker_http",
]


@dataclass
class _ClosedTogether:
    """Parts that are closed together, in the order they are listed (the user first, then the
    notifier's connections)."""

    async def aclose(self) -> None:
        """Close every part."""
        for part in fields(self):
            await getattr(self, part.name).aclose()


@dataclass
class WorkerParts(_ClosedTogether):
    """A worker and the notifier it reports through (close both when done)."""

    worker: RefreshWorker
    notifier: Notifier


@dataclass
class RefresherParts(_ClosedTogether):
    """The refresh use case and the notifier it reports through (close both when done)."""

    refresher: Refresher
    notifier: Notifier


def _parts(
    runtime: Runtime,
    endpoints: Endpoints,
    http: httpx.AsyncClient,
    owner: str,
    on_demand: bool,
    on_usage: UsageSink | None = None,
) -> tuple[Callable[[Any], Any], Notifier]:
    from igtoken.client.clients import AsyncClient
    from igtoken.client.retry import NO_RETRY
    from igtoken.notify import Notifier
    from igtoken.refresh.deliveries import VaultDeliveryLog
    from igtoken.vault import AppRecord

    def clients(app: AppRecord) -> AsyncClient:
        config = runtime.client_config(app, endpoints=endpoints)
        # The worker reschedules failures itself, so one slow account never holds a slot; a
        # person waiting on an on-demand refresh is better served by the client's own retries.
        retry = None if on_demand else NO_RETRY
        if on_usage is not None:
            return _usage_reporting_client(config, http, retry, app.id, on_usage)
        return AsyncClient(config, http=http, retry=retry)

    # The worker's notifier sends webhooks over its own client (no redirects, no proxy settings);
    # an on-demand refresher only queues them, for the worker to send, so it opens nothing.
    log = VaultDeliveryLog(runtime.vault, owner=owner)
    sender = http if on_demand else None  # never used to send when on demand
    notifier = Notifier(webhook_endpoints(runtime.settings), log, client=sender)
    return clients, notifier


class RefresherArgs(TypedDict, total=False):
    """What :func:`build_refresher` and :func:`build_worker` take to build the refresh use case."""

    #: Where Meta (or an emulator) is called.
    endpoints: Required[Endpoints]
    #: The connections those calls go over (the caller closes it).
    http: Required[httpx.AsyncClient]
    #: The lease owner id (default: host, pid and a random suffix).
    owner: str | None
    #: The clock (default: the runtime's).
    clock: Callable[[], datetime] | None
    #: Makes re-authorization links absolute (default: ``IGTOKEN_PUBLIC_URL``).
    public_url: str | None
    policy: RefreshPolicy
    lease_seconds: float
    call_timeout: float
    wait_timeout: float | None


#: The arguments passed on to :class:`~igtoken.refresh.usecase.Refresher` as they are.
_TUNING: Final = frozenset({"policy", "lease_seconds", "call_timeout", "wait_timeout"})


def _refresher(
    runtime: Runtime, args: RefresherArgs, *, on_demand: bool, on_usage: UsageSink | None = None
) -> tuple[Refresher, Notifier]:
    """The refresh use case over ``runtime``'s vault, with its clients and its notifier (see
    :func:`_parts` for what ``on_demand`` changes)."""
    from igtoken.refresh.usecase import Refresher
    from igtoken.refresh.worker import default_owner
    from igtoken.vault import AsyncVault

    owner = args.get("owner") or default_owner()
    clients, notifier = _parts(runtime, args["endpoints"], args["http"], owner, on_demand, on_usage)
    tuning: dict[str, Any] = {k: v for k, v in args.items() if k in _TUNING}
    refresher = Refresher(
        AsyncVault(runtime.vault),
        clients,
        clock=args.get("clock") or runtime.now,
        notifier=notifier,
        owner=owner,
        public_url=args.get("public_url") or runtime.settings.public_url,
        **tuning,
    )
    return refresher, notifier


def build_refresher(runtime: Runtime, **args: Unpack[RefresherArgs]) -> RefresherParts:
    """The refresh use case for on-demand callers, over ``runtime``'s vault.

    For the front doors a person waits on (API, dashboard, ``igtoken token``, ``refresh``,
    ``doctor``): the client retries a failed call at once, and webhooks are only queued (a
    worker sends them).
    """
    return RefresherParts(*_refresher(runtime, args, on_demand=True))


def build_worker(
    runtime: Runtime,
    *,
    concurrency: int = 32,
    batch_size: int = 100,
    poll_interval: float = 30.0,
    max_outage: float | None = None,
    on_usage: UsageSink | None = None,
    **args: Unpack[RefresherArgs],
) -> WorkerParts:
    """A refresh worker over ``runtime``'s vault, around the refresh use case ``args`` describe.

    The service passes its own ``public_url``, which in sandbox mode is where it listens. The
    worker rides out a database outage for ``IGTOKEN_WORKER_MAX_OUTAGE`` seconds unless
    ``max_outage`` says. ``on_usage`` is called with ``(app id, usage)`` for every answer of
    Meta's that carries usage headers (the metrics' ``igtoken_meta_usage_ratio``).
    """
    from igtoken.refresh.worker import RefreshWorker

    refresher, notifier = _refresher(runtime, args, on_demand=False, on_usage=on_usage)
    worker = RefreshWorker(
        refresher,
        concurrency=concurrency,
        batch_size=batch_size,
        poll_interval=poll_interval,
        max_outage=runtime.settings.worker_max_outage if max_outage is None else max_outage,
    )
    return WorkerParts(worker, notifier)


#: Told ``(app id, usage)`` whenever Meta's answer to a worker's call carries usage headers.
UsageSink = Callable[[str, "Usage"], None]


def _usage_reporting_client(
    config: ClientConfig, http: httpx.AsyncClient, retry: RetryPolicy | None, app_id: str, on_usage: UsageSink
) -> AsyncClient:
    """An :class:`~igtoken.AsyncClient` that also reports the usage figures of each answer."""
    from igtoken.client.clients import AsyncClient
    from igtoken.core.usage import parse_usage

    class UsageReportingClient(AsyncClient):
        def _record(self, response: httpx.Response) -> None:
            super()._record(response)  # keeps last_usage, as every client does
            usage = parse_usage(response.headers)
            if usage is not None:
                on_usage(app_id, usage)

    return UsageReportingClient(config, http=http, retry=retry)


async def deliver_queued(
    runtime: Runtime,
    *,
    owner: str | None = None,
    clock: Callable[[], datetime] | None = None,
    limit: int = 1000,
) -> list[Attempt]:
    """Send the webhooks due now over a client of its own; the attempts made (none without receivers).

    For one-shot commands (``igtoken refresh``) whose refreshes only queued their events: what
    is due goes out before the command exits, and a receiver that is down gets it later from
    any worker (the deliveries stay in the vault with their retry schedule).
    """
    from igtoken.notify import Notifier
    from igtoken.refresh.deliveries import VaultDeliveryLog
    from igtoken.refresh.worker import default_owner

    endpoints = webhook_endpoints(runtime.settings)
    if not endpoints:
        return []
    notifier = Notifier(endpoints, VaultDeliveryLog(runtime.vault, owner=owner or default_owner()))
    try:
        return await notifier.run_due((clock or runtime.now)(), limit=limit)
    finally:
        await notifier.aclose()


def webhook_endpoints(settings: Settings) -> tuple[Endpoint, ...]:
    """The webhook receivers (``IGTOKEN_WEBHOOK_URLS``), signed with ``IGTOKEN_WEBHOOK_SECRET``.

    While rotating, the setting holds several secrets separated by spaces (newest first): every
    request is then signed with each, so a receiver holding any of them accepts it.
    """
    from igtoken.notify import Endpoint

    if not settings.webhook_urls or settings.webhook_secret is None:
        return ()
    secrets = split_signing_secrets(settings.webhook_secret, where="IGTOKEN_WEBHOOK_SECRET")
    return tuple(Endpoint(url, secrets) for url in settings.webhook_urls)


@contextlib.contextmanager
def single_worker_lock(vault: Vault) -> Iterator[None]:
    """On SQLite, hold the one-worker lock beside the database file; elsewhere, nothing.

    :class:`~igtoken.ConflictError` when another worker already runs on that file.
    """
    from igtoken.vault import worker_lock

    database = vault.engine.url.database
    if vault.engine.dialect.name == "sqlite" and database:
        with worker_lock(Path(f"{database}.worker.lock")):
            yield
    else:
        yield


#: Calls in flight per connection pool of :func:`worker_http`.
_SLOTS_PER_POOL = 4


def worker_http(slots: int) -> httpx.AsyncClient:
    """The HTTP client of a worker with ``slots`` calls to Meta in flight: one kept-alive connection each.

    httpx's connection pool looks over every connection it holds on each request it starts and
    ends (checking each idle one for a server-side close with a system call), so one pool of 32
    connections spent more CPU on that than on the call itself. The connections are spread over
    several pools of up to four instead, each request sent through the pool with the fewest
    in flight: the same connections and limits, a small fraction of the bookkeeping. Their
    connections keep their socket at hand for that check (:class:`~igtoken.app._pools.CheapCheckBackend`).
    """
    import httpx

    from igtoken.app._pools import CheapCheckBackend, CookielessClient, SpreadTransport, use_backend

    pools = max(1, -(-slots // _SLOTS_PER_POOL))
    per_pool = -(-slots // pools)
    # Idle connections are dropped well before a server's usual 5-second keep-alive: a request
    # sent on a connection the server is closing at that moment fails with a transport error.
    # One TLS context for all the pools: loading the CA bundle costs tens of milliseconds each time.
    tls = httpx.create_ssl_context(trust_env=False)
    transports = [
        httpx.AsyncHTTPTransport(
            verify=tls,
            limits=httpx.Limits(
                max_connections=per_pool, max_keepalive_connections=per_pool, keepalive_expiry=2.0
            ),
            trust_env=False,
        )
        for _ in range(pools)
    ]
    backend = CheapCheckBackend()
    for transport in transports:
        use_backend(transport, backend)
    # No cookies: one client calls for every account, and no account's cookie may reach another's call.
    return CookielessClient(
        timeout=httpx.Timeout(20.0, connect=5.0), transport=SpreadTransport(transports), trust_env=False
    )
