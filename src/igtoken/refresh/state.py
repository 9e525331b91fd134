"""What the planner needs to know about one token: a small frozen snapshot of its vault row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from igtoken.core.models import AccessToken, AccountStatus, TokenKind
from igtoken.refresh.policy import require_aware


@dataclass(frozen=True, slots=True)
class TokenState:
    """A token's lifecycle facts, without its value: the planner never sees a token.

    Args:
        account_id: A stable id for the account; it seeds the per-account jitter.
        kind: Which kind of token this is; it decides the lifecycle.
        issued_at: When Meta issued (or last refreshed) the token; Meta's 24-hour rule counts from here.
        expires_at: When it expires, ``None`` if never (page tokens).
        account_status: The account's status in the vault.
        failure_count: Consecutive failed refresh/exchange/check attempts since the last success.
        last_failure_at: When the last of those failures happened; required while ``failure_count``
            is above zero, because it tells whether the last attempt before expiry has been made.
        next_attempt_at: When the next attempt is due, as stored after the last success or failure;
            ``None`` lets the planner compute it from ``issued_at``.
        last_warned: The smallest warning threshold already announced for the current expiry date.
            A value larger than the time left can only belong to an older expiry date and is ignored,
            so a refresh needs no separate reset.
        last_checked_at: When a Facebook Login token was last checked with ``debug_token``.
        data_access_expires_at: Facebook Login's data-access expiry (90 days after the person last
            used the app), as ``debug_token`` reports it.
    """

    account_id: str
    kind: TokenKind
    issued_at: datetime
    expires_at: datetime | None
    account_status: AccountStatus = AccountStatus.ACTIVE
    failure_count: int = 0
    last_failure_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_warned: timedelta | None = None
    last_checked_at: datetime | None = None
    data_access_expires_at: datetime | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.account_id, str) or not self.account_id:
            raise ValueError("TokenState.account_id must be a non-empty string")
        if not isinstance(self.kind, TokenKind):
            raise ValueError(f"TokenState.kind must be a TokenKind, got {self.kind!r}")
        if not isinstance(self.account_status, AccountStatus):
            raise ValueError(
                f"TokenState.account_status must be an AccountStatus, got {self.account_status!r}"
            )
        require_aware("TokenState.issued_at", self.issued_at)
        for name in (
            "expires_at",
            "last_failure_at",
            "next_attempt_at",
            "last_checked_at",
            "data_access_expires_at",
        ):
            value = getattr(self, name)
            if value is not None:
                require_aware(f"TokenState.{name}", value)
        if self.expires_at is not None and self.expires_at <= self.issued_at:
            raise ValueError("TokenState.expires_at must be later than issued_at")
        if self.failure_count < 0:
            raise ValueError(f"TokenState.failure_count must not be negative, got {self.failure_count}")
        if self.failure_count and self.last_failure_at is None:
            raise ValueError("TokenState.last_failure_at is required when failure_count is above zero")
        if self.last_warned is not None and self.last_warned <= timedelta(0):
            raise ValueError("TokenState.last_warned must be a positive threshold or None")

    @classmethod
    def of(cls, token: AccessToken, account_id: str, **facts: object) -> TokenState:
        """The state of ``token`` for ``account_id``; ``facts`` fill the remaining fields."""
        return cls(
            account_id=account_id,
            kind=token.kind,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            **facts,  # type: ignore[arg-type]
        )
