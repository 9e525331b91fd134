"""The service prunes the vault on a schedule: OAuth states left by abandoned onboardings are gone after a
pass, which logs how many rows went."""

from __future__ import annotations

import logging
from datetime import timedelta

from igtoken.app.housekeeping import housekeeping_pass

from .test_wired_service import new_link


async def test_abandoned_onboardings_leave_no_states_after_a_pass(wired, caplog):
    code = new_link(wired)
    for _ in range(3):  # three people open the link and never come back
        assert (await wired.service.get(f"/connect/{code}/authorize")).status_code == 303
    app = wired.service._transport.app  # type: ignore[attr-defined]
    vault = app.state.wiring.vault
    assert await housekeeping_pass(vault, now=wired.now()) == dict.fromkeys(PRUNED, 0)
    caplog.set_level(logging.INFO, logger="igtoken.housekeeping")
    counts = await housekeeping_pass(vault, now=wired.now() + timedelta(minutes=20))
    assert counts is not None and counts["oauth_states"] == 3
    (record,) = [r for r in caplog.records if r.getMessage().startswith("housekeeping")]
    assert record.getMessage() == "housekeeping: pruned 3 rows" and record.pruned["oauth_states"] == 3
    names = [task.__name__ for task in app.state.igtoken.deps.background_tasks]
    assert "housekeeping" in names


PRUNED = (
    "oauth_states",
    "connect_links",
    "seen_signed_requests",
    "revoked_sessions",
    "proxy_throttles",
    "rate_buckets",
    "webhook_deliveries",
)
