"""The "upcoming expiries" bar chart, as plain geometry the template draws as inline SVG.

Pure: the days and counts come in, rectangles come out, so it is tested without a
browser and renders without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from igtoken.service.views import ExpiryBucket


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar: where it is drawn and what it says."""

    day: date
    count: int
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True, slots=True)
class ExpiryChart:
    """Everything the SVG needs: its size, its bars, and a sentence for screen readers."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    max_count: int
    summary: str
    first_day: date | None
    last_day: date | None


def expiry_chart(
    buckets: Sequence[ExpiryBucket],
    *,
    start: date,
    days: int = 60,
    width: int = 600,
    height: int = 120,
) -> ExpiryChart:
    """Lay out one bar per day from ``start`` to ``start + days``; days without expiries get no bar.

    The last day is included: a token issued now for 60 days expires on day 60, and the
    chart that says "in the next 60 days" must show it (so there are ``days + 1`` slots).
    """
    slots = days + 1
    counts: dict[date, int] = {}
    for bucket in buckets:
        if bucket.count > 0 and start <= bucket.day <= start + timedelta(days=days):
            counts[bucket.day] = counts.get(bucket.day, 0) + bucket.count
    max_count = max(counts.values(), default=0)
    slot = width / slots
    bars = []
    for offset in range(slots):
        day = start + timedelta(days=offset)
        count = counts.get(day, 0)
        if not count:
            continue
        bar_height = max(2.0, height * count / max_count)
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(offset * slot + slot * 0.1, 2),
                y=round(height - bar_height, 2),
                width=round(slot * 0.8, 2),
                height=round(bar_height, 2),
                label=f"{day.isoformat()}: {count} token{'s expire' if count != 1 else ' expires'}",
            )
        )
    total = sum(counts.values())
    summary = (
        f"{total} token{'s expire' if total != 1 else ' expires'} in the next {days} days"
        if total
        else f"No token expires in the next {days} days"
    )
    return ExpiryChart(
        width=width,
        height=height,
        bars=tuple(bars),
        max_count=max_count,
        summary=summary,
        first_day=start,
        last_day=start + timedelta(days=days),
    )
