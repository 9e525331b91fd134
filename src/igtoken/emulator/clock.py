"""The emulator's clock: real time plus an offset, or frozen, and always movable by tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class EmulatorClock:
    """A clock every expiry rule in the emulator reads, so tests can jump days ahead.

    By default it starts at the real current time and runs at real speed; ``frozen=True`` stops it
    so only :meth:`advance` and :meth:`set` move it (what most tests want). One instance can be
    shared between the emulator and igtoken's refresh worker, so both agree on "now".

    ```python
    clock = EmulatorClock(datetime(2026, 1, 1, tzinfo=UTC), frozen=True)
    clock.advance(25 * 3600)        # a long-lived token is now old enough to refresh
    ```
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("EmulatorClock start must be timezone-aware (UTC)")
        self._lock = threading.Lock()
        self._base = time.time() if start is None else start.timestamp()
        self._mono0 = time.monotonic()
        self._frozen = frozen

    @property
    def frozen(self) -> bool:
        """True when the clock moves only by :meth:`advance` and :meth:`set`."""
        return self._frozen

    def timestamp(self) -> float:
        """Seconds since the Unix epoch, as the emulator sees it."""
        if self._frozen:
            return self._base
        return self._base + (time.monotonic() - self._mono0)

    def now(self) -> datetime:
        """The current emulated time, timezone-aware UTC."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number) by ``seconds``."""
        with self._lock:
            self._base += float(seconds)

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (timezone-aware); a running clock keeps running from there."""
        if when.tzinfo is None:
            raise ValueError("EmulatorClock.set needs a timezone-aware datetime")
        with self._lock:
            self._base = when.timestamp()
            self._mono0 = time.monotonic()

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "running"
        return f"EmulatorClock({self.now().isoformat()}, {state})"
