"""The expiry chart's geometry (pure)."""

from __future__ import annotations

from datetime import date, timedelta

from igtoken.service.chart import expiry_chart
from igtoken.service.views import ExpiryBucket

START = date(2026, 3, 1)


def test_bars_scale_to_the_busiest_day_and_skip_empty_days():
    """One bar per day with expiries, the tallest filling the height, the rest in proportion."""
    chart = expiry_chart(
        [ExpiryBucket(START + timedelta(days=2), 4), ExpiryBucket(START + timedelta(days=10), 1)],
        start=START,
        days=20,
        width=200,
        height=100,
    )
    assert [bar.count for bar in chart.bars] == [4, 1]
    assert chart.bars[0].height == 100 and chart.bars[0].y == 0
    assert chart.bars[1].height == 25 and chart.bars[1].y == 75
    assert chart.bars[0].x < chart.bars[1].x
    assert chart.summary == "5 tokens expire in the next 20 days"
    assert chart.bars[1].label == "2026-03-11: 1 token expires"


def test_out_of_range_and_duplicate_days():
    """Days before the start or past the window are left out; duplicates add up."""
    chart = expiry_chart(
        [
            ExpiryBucket(START - timedelta(days=1), 9),
            ExpiryBucket(START, 1),
            ExpiryBucket(START, 2),
            ExpiryBucket(START + timedelta(days=61), 9),
        ],
        start=START,
        days=60,
    )
    assert [(bar.day, bar.count) for bar in chart.bars] == [(START, 3)]


def test_a_fresh_60_day_token_is_on_the_60_day_chart():
    """A token issued today for 60 days expires on day 60: the last slot, not off the chart."""
    chart = expiry_chart([ExpiryBucket(START + timedelta(days=60), 1)], start=START, days=60)
    assert [(bar.day, bar.count) for bar in chart.bars] == [(START + timedelta(days=60), 1)]
    assert chart.summary == "1 token expires in the next 60 days"
    assert chart.last_day == START + timedelta(days=60)
    assert chart.bars[0].x + chart.bars[0].width <= chart.width


def test_empty_chart_says_so():
    """No expiries gives no bars and a sentence saying so."""
    chart = expiry_chart([], start=START)
    assert chart.bars == () and chart.max_count == 0
    assert chart.summary == "No token expires in the next 60 days"
