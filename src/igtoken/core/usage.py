"""Meta's usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``) as a typed value.

Both headers carry JSON in a string. Meta adds keys over time and sent other
names in the Basic Display era (``call_volume``, ``cpu_time``), so unknown keys
are ignored and a header that does not parse is treated as absent: usage is
advice, and a bad header must never turn a good response into an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

APP_USAGE_HEADER: Final = "x-app-usage"
BUSINESS_USAGE_HEADER: Final = "x-business-use-case-usage"

# Older names Meta used for the same figures.
_ALIASES: Final = {"call_volume": "call_count", "cpu_time": "total_cputime"}


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _figures(raw: Mapping[str, object]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, value in raw.items():
        name = _ALIASES.get(key, key)
        if name not in out or out[name] is None:
            out[name] = _number(value)
    return out


def _percents(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


@dataclass(frozen=True, slots=True)
class BusinessUseCaseUsage:
    """One entry of ``X-Business-Use-Case-Usage``: usage for one business object (an account, a Page)."""

    business_id: str
    #: ``instagram``, ``pages``, ``messenger``, … as Meta names the use case.
    type: str | None = None
    call_count: float | None = None
    total_cputime: float | None = None
    total_time: float | None = None
    #: Minutes until calls are allowed again; 0 or ``None`` when not throttled.
    estimated_time_to_regain_access: float | None = None

    @property
    def max_percent(self) -> float | None:
        """The highest of the three percentages; throttling starts at 100."""
        return _percents(self.call_count, self.total_cputime, self.total_time)


@dataclass(frozen=True, slots=True)
class Usage:
    """How close the app and the account are to Meta's rate limits (percentages, 0–100)."""

    app_call_count: float | None = None
    app_total_time: float | None = None
    app_total_cputime: float | None = None
    business: tuple[BusinessUseCaseUsage, ...] = ()

    @property
    def max_percent(self) -> float | None:
        """The highest percentage in either header, or ``None`` when none was sent."""
        return _percents(
            self.app_call_count,
            self.app_total_time,
            self.app_total_cputime,
            *(entry.max_percent for entry in self.business),
        )

    def regain_after(self) -> timedelta | None:
        """Meta's own estimate of how long until a throttled account may call again.

        ``None`` when no entry carries an estimate.
        """
        minutes = [
            e.estimated_time_to_regain_access
            for e in self.business
            if e.estimated_time_to_regain_access is not None
        ]
        return timedelta(minutes=max(minutes)) if minutes else None


def _load(value: str | None) -> object:
    if value is None:
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def parse_usage(headers: Mapping[str, str]) -> Usage | None:
    """Read both usage headers from a response's headers; ``None`` when neither is usable.

    Never raises: a malformed header is ignored (Meta's docs say the headers are
    advisory and appear only "once enough calls have been made").
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    app = _load(lowered.get(APP_USAGE_HEADER))
    buc = _load(lowered.get(BUSINESS_USAGE_HEADER))
    app_figures = _figures(app) if isinstance(app, dict) else None
    entries: list[BusinessUseCaseUsage] = []
    if isinstance(buc, dict):
        for business_id, items in buc.items():
            for item in items if isinstance(items, list) else [items]:
                if not isinstance(item, dict):
                    continue
                figures = _figures(item)
                kind = item.get("type")
                entries.append(
                    BusinessUseCaseUsage(
                        business_id=str(business_id),
                        type=kind if isinstance(kind, str) else None,
                        call_count=figures.get("call_count"),
                        total_cputime=figures.get("total_cputime"),
                        total_time=figures.get("total_time"),
                        estimated_time_to_regain_access=figures.get("estimated_time_to_regain_access"),
                    )
                )
    if app_figures is None and not entries:
        return None
    app_figures = app_figures or {}
    return Usage(
        app_call_count=app_figures.get("call_count"),
        app_total_time=app_figures.get("total_time"),
        app_total_cputime=app_figures.get("total_cputime"),
        business=tuple(entries),
    )
