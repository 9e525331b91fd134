"""Meta's usage per account on the dashboard: what the Graph proxy saw last is kept in the vault
and shown readable in the account list and on the account's page; "—" while unknown."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from igtoken.service.views import MetaUsage

from .conftest import bearer, sign_in_wired
from .test_wired_service import connect

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def usage_cell(html: str, account_id: str) -> str:
    row = re.search(
        rf'<tr>\s*<td data-label="Username"><a href="/dashboard/accounts/{account_id}">.*?</tr>', html, re.S
    )
    assert row is not None, html
    cell = re.search(r'<td data-label="Meta usage">(.*?)</td>', row.group(0), re.S)
    assert cell is not None
    return re.sub(r"<[^>]+>", " ", cell.group(1))


async def test_usage_is_dash_until_a_proxied_call_then_readable(wired) -> None:
    """Before any call through the proxy: "—". After one: the highest figure as "<kind> N%" in the list,
    every figure with its meaning on the account's page, and the same numbers the vault holds."""
    account_id = await connect(wired)
    await sign_in_wired(wired)
    before = await wired.service.get("/dashboard")
    assert usage_cell(before.text, account_id).strip() == "—"
    page = await wired.service.get(f"/dashboard/accounts/{account_id}")
    assert "Meta usage" in page.text and "known after the first call through the Graph proxy" in page.text

    me = await wired.service.get(
        f"/v1/accounts/{account_id}/graph/me", params={"fields": "username"}, headers=bearer(wired)
    )
    assert me.status_code == 200 and "x-business-use-case-usage" in me.headers
    await wired.service._transport.app.state.usage_recorder.drain()  # type: ignore[attr-defined]

    [record] = wired.vault.usage.latest().values()
    assert record.account_id == account_id and record.figures
    shown = MetaUsage.from_figures(record.figures, record.observed_at)
    assert shown is not None
    after = await wired.service.get("/dashboard")
    cell = " ".join(usage_cell(after.text, account_id).split())
    assert cell.startswith(shown.highest.short), cell
    assert re.match(r"(call_count|total_time|total_cputime) \d+%", cell), cell
    assert shown.highest.scope in cell
    detail = await wired.service.get(f"/dashboard/accounts/{account_id}")
    for figure in shown.figures:
        assert figure.short in detail.text and figure.meaning in html.unescape(detail.text)
    assert "Meta throttles at 100%" in detail.text


def test_figures_read_as_percent_with_their_meaning() -> None:
    """Meta's kinds become "call_count 12%" with what and whose they are; highest first; none is None."""
    usage = MetaUsage.from_figures({"app_total_time": 3.4, "business_call_count": 12.0, "odd_thing": 1}, T)
    assert usage is not None
    assert [f.short for f in usage.figures] == ["call_count 12%", "total_time 3%", "odd_thing 1%"]
    assert usage.highest.meaning == "calls, % of Meta's limit for this account (X-Business-Use-Case-Usage)"
    assert usage.figures[1].meaning == "time spent, % of Meta's limit for the whole app (X-App-Usage)"
    assert (usage.highest.scope, usage.figures[1].scope, usage.figures[2].scope) == (
        "this account",
        "whole app",
        "",
    )
    assert MetaUsage.from_figures({}, T) is None


async def test_history_reads_yes_and_no_not_python_booleans(wired) -> None:
    """The account's history is for people: the connected event's flag reads "reconnected: no"."""
    account_id = await connect(wired)
    await sign_in_wired(wired)
    page = (await wired.service.get(f"/dashboard/accounts/{account_id}")).text
    assert "reconnected: no" in page
    assert "False" not in page and "True" not in page
