"""``/healthz`` of a standalone worker (``igtoken worker --metrics-port``): is it really working?

A process that answers HTTP is not yet a worker that keeps tokens alive: its loop may be stuck
on a call, or the vault may be gone. So the probe says 503, with the reason, when

- the worker is riding out a database outage (its loop saw the vault fail),
- the vault does not answer a read now (checked at each probe, with a short timeout: a worker
  asleep between ticks would otherwise not notice for a whole poll interval), or
- the last tick finished longer ago than ``stale_after`` (a few tick intervals), or none has
  finished that long after the start;

and 200 with the last tick's time otherwise. An orchestrator restarts the process on 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from igtoken.core.exceptions import IGTokenError
from igtoken.refresh.worker import WorkerState

#: How long (seconds) one probe waits for the vault before it calls it unreachable.
DEFAULT_PING_TIMEOUT = 5.0


def stale_after(poll_interval: float, lease_seconds: float) -> float:
    """Seconds without a finished tick before the worker counts as stuck.

    Three idle pauses, plus one lease: a busy tick may take that long (a slow call to Meta is
    abandoned well within its lease), and a single late tick is not yet a failure.
    """
    return 3 * poll_interval + lease_seconds


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _reason(exc: BaseException) -> str:
    # An igtoken error's message is written for operators and names no credential; anything else
    # (a driver's text may hold a URL) is named by its type only.
    if isinstance(exc, IGTokenError):
        return exc.message
    return type(exc).__name__


@dataclass
class WorkerHealth:
    """The probe: ``await health()`` gives ``(healthy, JSON body)``."""

    state: WorkerState
    clock: Callable[[], datetime]
    stale_after: float
    #: A cheap vault read, run in a thread; raises when the vault cannot be read.
    ping: Callable[[], object] | None = None
    ping_timeout: float = DEFAULT_PING_TIMEOUT

    async def __call__(self) -> tuple[bool, dict[str, Any]]:
        state = self.state
        last = state.last_run.finished_at if state.last_run is not None else None
        body: dict[str, Any] = {
            "last_tick_at": _iso(last) if last is not None else None,
            "stale_after_seconds": self.stale_after,
        }
        if state.outage_since is not None:
            return False, {
                **body,
                "status": "fail",
                "reason": f"the vault is unreachable since {_iso(state.outage_since)}: {state.outage_cause}",
            }
        if self.ping is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(self.ping), timeout=self.ping_timeout)
            except TimeoutError:
                return False, {
                    **body,
                    "status": "fail",
                    "reason": f"the vault did not answer within {self.ping_timeout:g} s",
                }
            except Exception as exc:  # any failure to read is the answer
                return False, {
                    **body,
                    "status": "fail",
                    "reason": f"the vault is unreachable: {_reason(exc)}",
                }
        now = self.clock()
        since = last if last is not None else state.started_at
        age = (now - since).total_seconds()
        if age > self.stale_after:
            what = (
                f"the last tick finished {age:.0f} s ago"
                if last is not None
                else f"no tick has finished in the {age:.0f} s since the worker started"
            )
            return False, {
                **body,
                "status": "fail",
                "reason": f"{what}, more than {self.stale_after:g} s: the worker is stuck",
            }
        return True, {**body, "status": "ok"}
