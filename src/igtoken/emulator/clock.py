"""The emulator's clock: the wall clock plus an offset, or frozen, and always movable by tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class EmulatorClock:
    """A clock every expiry rule in the emulator reads, so tests can jump days ahead.

    By default it is the system's wall clock plus an offset (0 at first) that :meth:`advance` and
    :meth:`set` move. Reading the wall clock on every call, rather than counting from a start,
    means a process whose clock is moved from outside (libfaketime, an NTP step) moves the
    emulator with it, and a saved offset keeps meaning the same thing after a restart.
    ``frozen=True`` stops it so only :meth:`advance` and :meth:`set` move it (what most tests want).
    One instance can be shared between the emulator and igtoken's refresh worker, so both agree.

    ```python
    clock = EmulatorClock(datetime(2026, 1, 1, tzinfo=UTC), frozen=True)
    clock.advance(25 * 3600)        # a long-lived token is now old enough to refresh
    ```
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("EmulatorClock start must be timezone-aware (UTC)")
        self._lock = threading.Lock()
        self._frozen = frozen
        # Frozen: _value is the time itself. Running: _value is the offset from the wall clock.
        if frozen:
            self._value = time.time() if start is None else start.timestamp()
        else:
            self._value = 0.0 if start is None else start.timestamp() - time.time()

    @classmethod
    def with_offset(cls, offset: float) -> EmulatorClock:
        """A running clock ``offset`` seconds ahead of the wall clock (behind when negative)."""
        clock = cls()
        clock._value = float(offset)
        return clock

    @property
    def frozen(self) -> bool:
        """True when the clock moves only by :meth:`advance` and :meth:`set`."""
        return self._frozen

    @property
    def offset(self) -> float:
        """Seconds between this clock and the wall clock (what a running clock keeps between restarts)."""
        if self._frozen:
            return self._value - time.time()
        return self._value

    def timestamp(self) -> float:
        """Seconds since the Unix epoch, as the emulator sees it."""
        if self._frozen:
            return self._value
        return time.time() + self._value

    def now(self) -> datetime:
        """The current emulated time, timezone-aware UTC."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number) by ``seconds``."""
        with self._lock:
            self._value += float(seconds)

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (timezone-aware); a running clock keeps running from there."""
        if when.tzinfo is None:
            raise ValueError("EmulatorClock.set needs a timezone-aware datetime")
        with self._lock:
            self._value = when.timestamp() if self._frozen else when.timestamp() - time.time()

    def adopt(self, other: EmulatorClock) -> None:
        """Take ``other``'s mode and position (a world reloaded from a shared file keeps its clock object)."""
        with self._lock:
            self._frozen = other._frozen
            self._value = other._value

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "running"
        return f"EmulatorClock({self.now().isoformat()}, {state})"
