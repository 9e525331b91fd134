"""One wiring of a :class:`RefreshWorker` from a :class:`~igtoken.runtime.Runtime`.

``igtoken worker``, ``igtoken refresh`` and the service's built-in worker all build it here,
so they refresh with the same clients, notifier and delivery log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from igtoken._endpoints import Endpoints
    from igtoken.notify import Endpoint, Notifier
    from igtoken.refresh.worker import RefreshWorker
    from igtoken.runtime import Runtime
    from igtoken.settings import Settings
    from igtoken.vault import Vault

__all__ = ["WorkerParts", "build_worker", "single_worker_lock", "webhook_endpoints"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerParts:
    """A worker and the notifier it reports through (close both when done)."""

    worker: RefreshWorker
    notifier: Notifier

    async def aclose(self) -> None:
        """Close the worker's clients and the notifier's connections."""
        await self.worker.aclose()
        await self.notifier.aclose()


def build_worker(
    runtime: Runtime,
    *,
    endpoints: Endpoints,
    http: httpx.AsyncClient,
    owner: str | None = None,
    clock: Callable[[], datetime] = _now,
    **options: Any,
) -> WorkerParts:
    """A refresh worker over ``runtime``'s vault, calling Meta (or an emulator) at ``endpoints``."""
    from igtoken._client import AsyncClient
    from igtoken._retry import NO_RETRY
    from igtoken.notify import Notifier
    from igtoken.refresh.deliveries import VaultDeliveryLog
    from igtoken.refresh.worker import RefreshWorker, default_owner
    from igtoken.vault import AppRecord, AsyncVault

    vault = runtime.vault
    owner = owner or default_owner()

    def clients(app: AppRecord) -> AsyncClient:
        # No in-call retries: the worker reschedules failures, so one slow account never holds a slot.
        return AsyncClient(runtime.client_config(app, endpoints=endpoints), http=http, retry=NO_RETRY)

    notifier = Notifier(webhook_endpoints(runtime.settings), VaultDeliveryLog(vault, owner=owner))
    worker = RefreshWorker(
        AsyncVault(vault),
        clients,
        clock=clock,
        notifier=notifier,
        owner=owner,
        public_url=runtime.settings.public_url,
        **options,
    )
    return WorkerParts(worker, notifier)


def webhook_endpoints(settings: Settings) -> tuple[Endpoint, ...]:
    """The installation's webhook receivers (``IGTOKEN_WEBHOOK_URLS``), all signed with one secret."""
    from igtoken.notify import Endpoint

    if not settings.webhook_urls or settings.webhook_secret is None:
        return ()
    return tuple(Endpoint(url, settings.webhook_secret) for url in settings.webhook_urls)


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
