"""Each account's last Meta usage, kept for the dashboard: one row per account, overwritten, on both
databases (the upsert is dialect-specific)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from igtoken.vault import Vault

from .conftest import T0


def test_recording_overwrites_and_refuses_nonsense(vault: Vault, connect: Callable[..., str]) -> None:
    """The latest figures win; an unknown account is skipped; bad kinds or values are refused clearly."""
    account_id = connect()
    other = connect("IGAAtoken-bob-1", user_id="17841400000000002")
    vault.usage.record(account_id, {"business_call_count": 10}, now=T0)
    vault.usage.record(
        account_id, {"business_call_count": 55.5, "app_total_time": 2}, now=T0 + timedelta(minutes=1)
    )
    vault.usage.record("no-such-account", {"business_call_count": 1}, now=T0)
    latest = vault.usage.latest()
    assert list(latest) == [account_id]
    assert latest[account_id].figures == {"business_call_count": 55.5, "app_total_time": 2.0}
    assert latest[account_id].observed_at == T0 + timedelta(minutes=1)
    vault.usage.record(other, {"app_call_count": 7}, now=T0)
    assert set(vault.usage.latest([other])) == {other}
    for bad in ({"business_call_count": -1}, {"": 3}, {"x": float("nan")}, {"x": True}, {"k" * 65: 1}):
        with pytest.raises(ValueError, match="usage"):
            vault.usage.record(account_id, bad, now=T0)  # type: ignore[arg-type]
    assert vault.usage.latest([account_id])[account_id].figures["business_call_count"] == 55.5
