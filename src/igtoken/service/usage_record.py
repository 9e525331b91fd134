"""Keeps each account's last Meta usage in the vault, for the dashboard.

The Graph proxy sees Meta's usage headers on every answer for an account and hands the figures
to the metrics (``igtoken_meta_usage_ratio``); :class:`UsageRecorder` listens there and writes them
to the vault (:class:`~igtoken.vault.usage.AccountUsages`) off the event loop, so the proxied
answer never waits for it. Unchanged figures are written again only after ``refresh_after``, so
a busy account costs one small write a minute, not one per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import anyio.to_thread

if TYPE_CHECKING:
    from igtoken.vault import Vault

log = logging.getLogger("igtoken.service.usage")

#: How often unchanged figures are written again (so "reported 3 minutes ago" stays true).
DEFAULT_REFRESH_AFTER = timedelta(minutes=1)


class UsageRecorder:
    """A usage listener of :class:`~igtoken.service.metrics.ServiceMetrics` that writes to the vault."""

    def __init__(
        self,
        vault: Vault,
        clock: Callable[[], datetime],
        *,
        refresh_after: timedelta = DEFAULT_REFRESH_AFTER,
    ) -> None:
        self._vault = vault
        self._clock = clock
        self._refresh_after = refresh_after
        self._last: dict[str, tuple[datetime, dict[str, float]]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def __call__(self, app_id: str, account_id: str, figures: Mapping[str, float]) -> None:
        """Note ``figures`` (percent by kind) for ``account_id``; app-wide calls (no account) are not kept."""
        if not account_id or not figures:
            return
        now = self._clock()
        clean = dict(figures)
        last = self._last.get(account_id)
        if last is not None and last[1] == clean and now - last[0] < self._refresh_after:
            return
        self._last[account_id] = (now, clean)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write(account_id, clean, now)  # called from a thread: write in it
            return
        task = loop.create_task(anyio.to_thread.run_sync(self._write, account_id, clean, now))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _write(self, account_id: str, figures: dict[str, float], now: datetime) -> None:
        try:
            self._vault.usage.record(account_id, figures, now=now)
        except Exception:
            # Usage is advice for the dashboard: a failed write must never fail the call it came with.
            self._last.pop(account_id, None)
            log.warning("could not record Meta usage", exc_info=True, extra={"account_id": account_id})

    async def drain(self) -> None:
        """Wait for the writes under way (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
