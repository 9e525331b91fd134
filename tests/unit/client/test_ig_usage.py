"""Usage headers: typed, tolerant of unknown keys and garbage, never raising."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from igtoken import BusinessUseCaseUsage, Usage, parse_usage


def test_both_headers_parse_into_a_typed_value() -> None:
    """X-App-Usage percentages and per-object BUC entries are read; max and regain helpers agree."""
    headers = {
        "X-App-Usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "17841400000000001": [
                    {
                        "type": "instagram",
                        "call_count": 100,
                        "total_cputime": 25,
                        "total_time": 25,
                        "estimated_time_to_regain_access": 19,
                    }
                ],
                "112233": [{"type": "pages", "call_count": 3, "estimated_time_to_regain_access": 0}],
            }
        ),
    }
    usage = parse_usage(headers)
    assert usage is not None
    assert (usage.app_call_count, usage.app_total_time, usage.app_total_cputime) == (28, 25, 25)
    first = usage.business[0]
    assert BusinessUseCaseUsage("17841400000000001", "instagram", 100, 25, 25, 19) == first
    assert usage.max_percent == 100
    assert timedelta(minutes=19) == usage.regain_after()


def test_unknown_keys_aliases_and_httpx_headers() -> None:
    """Unknown keys are ignored; Basic Display's call_volume/cpu_time are read; httpx.Headers work."""
    headers = httpx.Headers(
        {"x-app-usage": '{"call_volume":7,"cpu_time":9,"acc_id_util_pct":9.67,"new_key":[1]}'}
    )
    usage = parse_usage(headers)
    assert Usage(app_call_count=7, app_total_cputime=9) == usage
    assert usage is not None and usage.regain_after() is None
    assert usage.max_percent == 9


def test_absent_or_malformed_headers_give_none() -> None:
    """No headers, invalid JSON, wrong JSON types and bad numbers give None or skip the bad part."""
    assert parse_usage({}) is None
    assert parse_usage({"x-app-usage": "{not json"}) is None
    assert parse_usage({"x-app-usage": "[1,2]", "x-business-use-case-usage": '"str"'}) is None
    assert parse_usage({"x-business-use-case-usage": '{"1": [5, "x"]}'}) is None
    usage = parse_usage(
        {
            "x-app-usage": '{"call_count": true, "total_time": -3, "total_cputime": "12"}',
            "x-business-use-case-usage": "{",
        }
    )
    assert Usage(app_total_cputime=12) == usage
    assert Usage().max_percent is None


@settings(deadline=None)
@given(st.dictionaries(st.sampled_from(["x-app-usage", "x-business-use-case-usage", "other"]), st.text()))
def test_arbitrary_header_text_never_raises(headers: dict[str, str]) -> None:
    """Any header text at all yields a Usage or None."""
    result = parse_usage(headers)
    assert result is None or isinstance(result, Usage)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(deadline=None)
@given(json_values, json_values)
def test_arbitrary_json_never_raises(app: object, buc: object) -> None:
    """Any JSON document in either header yields a Usage or None, and its helpers work."""
    result = parse_usage({"x-app-usage": json.dumps(app), "x-business-use-case-usage": json.dumps(buc)})
    if result is not None:
        result.max_percent  # noqa: B018
        result.regain_after()
