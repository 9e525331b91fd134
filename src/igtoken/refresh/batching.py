"""Group commit for the worker: the refreshes that finish together are stored in one transaction.

The refresh use case stores each new token through a *store step* (:data:`StoreRefresh`). On
its own that is one write transaction, behind one thread hop, per refresh. The worker gives it a
:class:`BatchedStore` instead: a finished refresh is queued, and while one batch is being written
the refreshes finishing meanwhile queue up behind it and go in the next, so under load each
transaction carries many refreshes and none waits on a timer.

Nothing about the lease rules changes: the vault checks each item's lease in the statement that
retires its token (:meth:`~igtoken.vault.Vault.record_refresh_successes`); an item whose lease
was lost is skipped and its caller gets the :class:`~igtoken.ConflictError` a lone store would
have raised, while the others are stored. A batch that fails for another reason than an
unavailable database is stored again item by item, so one bad row never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from igtoken.core.exceptions import ConflictError, DatabaseUnavailableError
from igtoken.vault import AsyncVault, Claim, FinishedRefresh

__all__ = ["BatchedStore", "StoreRefresh", "lost_lease", "store_alone"]

log = logging.getLogger("igtoken.worker")


#: Stores a refreshed token under its claim's lease: the new row id, or :class:`ConflictError`.
StoreRefresh = Callable[[FinishedRefresh], Awaitable[str]]


async def store_alone(vault: AsyncVault, item: FinishedRefresh) -> str:
    """The lone store step: ``item`` in a transaction of its own (the on-demand refresher's)."""
    return await vault.record_refresh_success(
        item.claim, item.new_token, now=item.now, next_refresh_at=item.next_refresh_at, details=item.details
    )


def lost_lease(claim: Claim) -> ConflictError:
    """What storing a refresh whose lease was lost raises (as the vault's lone store does)."""
    return ConflictError(
        f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}; "
        "the refreshed token was not stored"
    )


class BatchedStore:
    """A :class:`StoreRefresh` writing what finishes together in one transaction (up to ``max_batch``)."""

    def __init__(self, vault: AsyncVault, *, max_batch: int = 100) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.vault = vault
        self.max_batch = max_batch
        self._queue: list[tuple[FinishedRefresh, asyncio.Future[str]]] = []
        self._writer: asyncio.Task[None] | None = None
        #: How many transactions and items were written (for tests and metrics).
        self.batches = 0
        self.items = 0

    async def __call__(self, item: FinishedRefresh) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            # Its own task, not the caller's: a caller that is cancelled does not strand the others.
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[FinishedRefresh, asyncio.Future[str]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._write(batch)
                batch = []
        except BaseException as exc:  # torn down (the loop closing): nobody may wait forever
            stranded, self._queue = [*batch, *self._queue], []
            for _item, future in stranded:
                _settle(future, exc=exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise

    async def _write(self, batch: list[tuple[FinishedRefresh, asyncio.Future[str]]]) -> None:
        items = [item for item, _future in batch]
        try:
            ids: list[str | None] = await self.vault.record_refresh_successes(items)
        except DatabaseUnavailableError as exc:
            for _item, future in batch:
                _settle(future, exc=exc)
            return
        except Exception:
            log.exception("a batch of %d refreshes failed to store; storing them one by one", len(batch))
            await self._one_by_one(batch)
            return
        self.batches += 1
        self.items += len(batch)
        for (item, future), token_id in zip(batch, ids, strict=True):
            if token_id is None:
                _settle(future, exc=lost_lease(item.claim))
            else:
                _settle(future, result=token_id)

    async def _one_by_one(self, batch: list[tuple[FinishedRefresh, asyncio.Future[str]]]) -> None:
        for item, future in batch:
            try:
                token_id = await store_alone(self.vault, item)
            except Exception as exc:
                _settle(future, exc=exc)
            else:
                _settle(future, result=token_id)


def _settle(
    future: asyncio.Future[str], *, result: str | None = None, exc: BaseException | None = None
) -> None:
    with contextlib.suppress(asyncio.InvalidStateError):
        if exc is not None:
            future.set_exception(exc)
        else:
            assert result is not None
            future.set_result(result)
