"""The vault's housekeeping as a background task: prune at start and every hour, a count in the logs.

Run by the service and by ``igtoken worker``, so a deployment whose service runs without a worker,
or whose workers run without a service, still prunes (several runners only repeat an idempotent pass).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from igtoken.vault import AsyncVault

__all__ = ["HOUSEKEEPING_INTERVAL", "housekeeping_pass", "housekeeping_task"]

log = logging.getLogger("igtoken.housekeeping")

#: A background task: an async callable run until cancelled.
BackgroundTask = Callable[[], Awaitable[None]]

#: How often the service prunes expired states, finished links, old replay records and delivered webhooks.
HOUSEKEEPING_INTERVAL: Final = 3600.0


def housekeeping_task(
    vault: AsyncVault, *, clock: Callable[[], datetime], interval: float = HOUSEKEEPING_INTERVAL
) -> BackgroundTask:
    """A background task pruning the vault (:meth:`Vault.prune`) at start and every ``interval`` seconds.

    Each pass logs how many rows went, by table. A pass that fails (a locked database) is logged
    and the next one tries again; the task itself keeps running.
    """

    async def housekeeping() -> None:
        while True:
            await housekeeping_pass(vault, now=clock())
            await asyncio.sleep(interval)

    return housekeeping


async def housekeeping_pass(vault: AsyncVault, *, now: datetime) -> dict[str, int] | None:
    """One pruning pass, logged; ``None`` if it failed."""
    from igtoken.core.exceptions import StorageError

    try:
        counts = await vault.prune(now=now)
    except StorageError as exc:
        log.warning(
            "housekeeping pass failed", extra={"error_class": type(exc).__name__, "error": exc.message}
        )
        return None
    log.info(
        "housekeeping: pruned %d rows",
        sum(counts.values()),
        extra={"pruned": counts, "total": sum(counts.values())},
    )
    return counts
