"""Scripted faults: make an endpoint fail, stall, throttle or answer garbage on demand."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

FAULT_KINDS: Final = ("error", "slow", "timeout", "throttle", "malformed")
#: Throttle faults answer once the token is known (``common.require_token``); the rest before the handler.
THROTTLE: Final = ("throttle",)
BEFORE_TOKEN: Final = ("error", "slow", "timeout", "malformed")


class FaultError(ValueError):
    """A fault description the emulator cannot act on."""


@dataclass(slots=True)
class Fault:
    """One scripted fault.

    - ``error``: answer ``status`` (default 500) with a transient Graph error (code 2).
    - ``slow``: wait ``delay_seconds`` (default 2), then answer normally.
    - ``timeout``: wait ``delay_seconds`` (default 60) and answer 504; clients should give up first.
    - ``throttle``: answer the rate-limit error of the limit the call counts against, exactly as the
      emulator's own limit does once the token is known (see ``common.throttle_error``): 80002 for an
      Instagram token, 80001 for a Page token, 17 for a user token, 4 for an app token or a call
      that carries none; ``estimated_time_to_regain_access`` = ``wait_minutes``.
    - ``malformed``: answer 200 with ``body`` (default: truncated JSON) as ``application/json``.

    ``times`` is how many requests it hits (None: until removed). ``endpoint`` is an endpoint
    name from the request log (``ig_refresh_token``, ``ig_me``…) or ``*`` for all.
    """

    fault_id: str
    endpoint: str
    kind: str
    status: int | None = None
    delay_seconds: float | None = None
    wait_minutes: int = 5
    body: str | None = None
    times: int | None = None
    hits: int = 0

    def as_json(self) -> dict[str, object]:
        """The fault as the control API shows it."""
        return {
            "fault_id": self.fault_id,
            "endpoint": self.endpoint,
            "kind": self.kind,
            "status": self.status,
            "delay_seconds": self.delay_seconds,
            "wait_minutes": self.wait_minutes,
            "body": self.body,
            "times": self.times,
            "hits": self.hits,
        }


class FaultBook:
    """The faults in force; matching is free when there are none."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(
        self,
        endpoint: str,
        kind: str,
        *,
        status: int | None = None,
        delay_seconds: float | None = None,
        wait_minutes: int = 5,
        body: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Script a fault; see :class:`Fault` for the kinds."""
        if kind not in FAULT_KINDS:
            raise FaultError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        if not endpoint:
            raise FaultError("fault needs an endpoint name, or '*' for every endpoint")
        if times is not None and times < 1:
            raise FaultError("fault 'times' must be at least 1 (or omitted for 'until removed')")
        if status is not None and not 100 <= status <= 599:
            raise FaultError(f"fault status must be an HTTP status, not {status}")
        fault = Fault(f"f{next(self._ids)}", endpoint, kind, status, delay_seconds, wait_minutes, body, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, endpoint: str, kinds: Collection[str] = FAULT_KINDS) -> Fault | None:
        """The first fault of one of ``kinds`` that applies to ``endpoint``, counting the hit."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "*") and fault.kind in kinds:
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def remove(self, fault_id: str | None = None) -> int:
        """Remove one fault, or all of them; returns how many went."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.fault_id != fault_id]
            return before - len(self._faults)

    def all(self) -> list[Fault]:
        """The faults in force."""
        with self._lock:
            return list(self._faults)
