"""Meta's usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``) as a typed value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """How close the app and the account are to Meta's rate limits (percentages, 0–100)."""

    app_call_count: int | None = None
    app_total_time: int | None = None
    app_total_cputime: int | None = None
