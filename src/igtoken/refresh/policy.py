"""When to refresh, retry, warn and check: one frozen value with reasoned defaults.

The defaults and the reasons behind them are written up in ``docs/refresh.md``.
In short: Meta refreshes an Instagram Login token only from 24 hours of age
until it expires at 60 days; igtoken refreshes at about 7 days, so a refresh
that keeps failing still has weeks of slack before anything breaks, and the
expiry warnings only ever fire when something is really wrong.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from igtoken.core.exceptions import ConfigurationError

#: Meta's rule: a long-lived token cannot be refreshed before it is 24 hours old.
META_MIN_AGE: Final = timedelta(hours=24)
#: The longest life Meta gives an Instagram Login token (``expires_in`` is ≈ 5,183,944 s).
META_MAX_LIFETIME: Final = timedelta(days=60)

_ZERO: Final = timedelta(0)


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """How the refresh engine paces itself. Every field has a default that suits most fleets.

    Args:
        refresh_age: Refresh a long-lived token once it is this old. Well before day 60 so that a
            failing refresh has weeks of retries left; well after day 1 so that a healthy fleet does
            not call Meta every day.
        jitter: Each account's refresh moves by up to this much either way, by a fixed amount derived
            from a hash of its account id: a fleet connected in one afternoon does not refresh in
            one burst, and an account's schedule is stable from one cycle to the next.
        min_age: Never refresh a token younger than this. Meta's rule is 24 hours; a larger value is
            allowed, a smaller one is a :class:`ConfigurationError`.
        failure_backoff: Wait after the 1st, 2nd, … consecutive failure; the last entry repeats.
            Must be positive and non-decreasing.
        retry_after_cap: Meta's own wait hint (``retry_after``) is a floor on the backoff, up to this
            much: one odd hint cannot park a token for weeks.
        expiry_margin: A scheduled refresh is never later than this before expiry, however large
            ``refresh_age`` is, so retries always have room.
        final_attempt_lead: When backoff would carry the next attempt past expiry, one last attempt
            is made this long before expiry instead.
        warn_before: Warn when a token has this little time left (largest first). Each threshold
            fires once per expiry date.
        page_check_interval: How often a Facebook page token (which never expires but can be
            invalidated) is checked with ``debug_token``.
    """

    refresh_age: timedelta = timedelta(days=7)
    jitter: timedelta = timedelta(hours=12)
    min_age: timedelta = META_MIN_AGE
    failure_backoff: tuple[timedelta, ...] = (
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(hours=12),
    )
    retry_after_cap: timedelta = timedelta(days=1)
    expiry_margin: timedelta = timedelta(days=3)
    final_attempt_lead: timedelta = timedelta(hours=1)
    warn_before: tuple[timedelta, ...] = (
        timedelta(days=14),
        timedelta(days=7),
        timedelta(days=3),
        timedelta(days=1),
    )
    page_check_interval: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        for name in (
            "refresh_age",
            "jitter",
            "min_age",
            "retry_after_cap",
            "expiry_margin",
            "final_attempt_lead",
            "page_check_interval",
        ):
            if not isinstance(getattr(self, name), timedelta):
                raise ConfigurationError(f"RefreshPolicy.{name} must be a timedelta")
        if self.min_age < META_MIN_AGE:
            raise ConfigurationError(
                f"RefreshPolicy.min_age is {self.min_age}, below Meta's 24-hour minimum",
                fix="Meta rejects refreshes of tokens under 24 hours old; use min_age >= 24 hours",
            )
        if not self.min_age <= self.refresh_age <= META_MAX_LIFETIME:
            raise ConfigurationError(
                f"RefreshPolicy.refresh_age is {self.refresh_age}; it must lie between min_age "
                f"({self.min_age}) and the 60-day token lifetime",
                fix="the default of 7 days leaves weeks of slack for failed refreshes",
            )
        if not _ZERO <= self.jitter <= self.refresh_age:
            raise ConfigurationError(
                f"RefreshPolicy.jitter is {self.jitter}; it must lie between 0 and refresh_age"
            )
        _check_backoff(self.failure_backoff)
        if self.retry_after_cap < _ZERO:
            raise ConfigurationError("RefreshPolicy.retry_after_cap must not be negative")
        if not _ZERO <= self.expiry_margin < META_MAX_LIFETIME:
            raise ConfigurationError(
                f"RefreshPolicy.expiry_margin is {self.expiry_margin}; it must lie between 0 and 60 days"
            )
        if not _ZERO < self.final_attempt_lead <= max(self.expiry_margin, timedelta(hours=1)):
            raise ConfigurationError(
                "RefreshPolicy.final_attempt_lead must be positive and no larger than expiry_margin "
                "(or one hour, when the margin is smaller)"
            )
        _check_thresholds(self.warn_before)
        if self.page_check_interval < timedelta(minutes=1):
            raise ConfigurationError(
                f"RefreshPolicy.page_check_interval is {self.page_check_interval}; use at least a minute"
            )

    def backoff(self, failure_count: int) -> timedelta:
        """The wait after ``failure_count`` consecutive failures (1 = the first); the last step repeats."""
        if failure_count < 1:
            raise ValueError(f"failure_count counts failures so far and starts at 1, got {failure_count}")
        return self.failure_backoff[min(failure_count, len(self.failure_backoff)) - 1]

    def jitter_offset(self, account_id: str) -> timedelta:
        """This account's fixed shift of its refresh time, within ``[-jitter, +jitter]``.

        A hash, not a random generator: the same account always gets the same shift, on every
        worker and after every restart, and tests can predict it.
        """
        if not isinstance(account_id, str) or not account_id:
            raise ValueError("account_id must be a non-empty string")
        digest = hashlib.sha256(account_id.encode()).digest()
        unit = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
        return self.jitter * (2 * unit - 1)


def _check_backoff(schedule: Sequence[timedelta]) -> None:
    if not isinstance(schedule, tuple) or not schedule:
        raise ConfigurationError("RefreshPolicy.failure_backoff must be a non-empty tuple of timedeltas")
    previous = _ZERO
    for step in schedule:
        if not isinstance(step, timedelta) or step <= _ZERO:
            raise ConfigurationError(f"RefreshPolicy.failure_backoff has a non-positive step: {step!r}")
        if step < previous:
            raise ConfigurationError(
                "RefreshPolicy.failure_backoff must not decrease: a later failure never waits less"
            )
        previous = step


def _check_thresholds(thresholds: Sequence[timedelta]) -> None:
    if not isinstance(thresholds, tuple):
        raise ConfigurationError("RefreshPolicy.warn_before must be a tuple of timedeltas")
    for threshold in thresholds:
        if not isinstance(threshold, timedelta) or threshold <= _ZERO:
            raise ConfigurationError(f"RefreshPolicy.warn_before has a non-positive threshold: {threshold!r}")
    if list(thresholds) != sorted(set(thresholds), reverse=True):
        raise ConfigurationError(
            "RefreshPolicy.warn_before must be distinct and largest first, e.g. 14, 7, 3, 1 days"
        )


def require_aware(name: str, value: datetime) -> None:
    """Reject a naive datetime: every time igtoken handles is timezone-aware UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def retry_after_delta(retry_after: timedelta | float | None) -> timedelta | None:
    """Normalise a server wait hint (seconds or a timedelta); a missing or negative hint is ``None``."""
    if retry_after is None:
        return None
    if isinstance(retry_after, timedelta):
        return retry_after if retry_after > _ZERO else None
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float):
        raise TypeError(f"retry_after must be seconds or a timedelta, not {type(retry_after).__name__}")
    if not math.isfinite(retry_after) or retry_after <= 0:
        return None
    # Above a year, timedelta arithmetic would overflow soon; the cap is far below anyway.
    return timedelta(seconds=min(retry_after, 365 * 86400))
