"""The refresh engine's pure half: policy, token state and the planner.

The worker that claims tokens and calls Meta builds on these; see ``docs/refresh.md``.
"""

from __future__ import annotations

from igtoken.core.models import AccountStatus
from igtoken.refresh.plan import (
    DEFAULT_POLICY,
    Action,
    Decision,
    ExpiryWarning,
    after_failure,
    next_refresh_at,
    plan,
)
from igtoken.refresh.policy import META_MAX_LIFETIME, META_MIN_AGE, RefreshPolicy
from igtoken.refresh.state import TokenState

__all__ = [
    "DEFAULT_POLICY",
    "META_MAX_LIFETIME",
    "META_MIN_AGE",
    "AccountStatus",
    "Action",
    "Decision",
    "ExpiryWarning",
    "RefreshPolicy",
    "TokenState",
    "after_failure",
    "next_refresh_at",
    "plan",
]
