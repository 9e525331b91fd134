"""Rate limits: the emulator's own per-hour limit and scripted ``throttle`` faults answer alike.

Which limit a call counts against follows its token (Meta's rate-limiting overview): an Instagram
token → Instagram BUC (80002, keyed by the account), a Page token → Pages BUC (80001, keyed by the
Page), a user token → the user's Platform limit (17), an app token or app credentials → the app's
(4); the Platform answers carry ``x-app-usage``. The emulator's ground truth is also read back
through igtoken's own error parser, which must call every one of them a throttle.
"""

from __future__ import annotations

import json

import httpx
import pytest

from igtoken import ThrottledError, error_from_response
from igtoken.emulator.demo import (
    DEMO_BUSINESS_IG_ID,
    DEMO_FB_APP_ID,
    DEMO_FB_APP_SECRET,
    DEMO_FB_USER,
    DEMO_IG_APP_ID,
    DEMO_PAGE_LINKED_ID,
)
from tests.support.emulator_flows import GRAPH_FB, GRAPH_IG

BUC = "x-business-use-case-usage"
APP_USAGE = "x-app-usage"
APP_USAGE_KEYS = {"call_count", "total_time", "total_cputime"}

# (token kind, endpoint name, URL, code, HTTP status, header, BUC type, business object)
CASES = {
    "instagram": ("ig_long", "ig_me", f"{GRAPH_IG}/me", 80002, 400, BUC, "instagram", DEMO_BUSINESS_IG_ID),
    "page": ("fb_page", "fb_me", f"{GRAPH_FB}/me", 80001, 400, BUC, "pages", DEMO_PAGE_LINKED_ID),
    "user": ("fb_user_long", "fb_me", f"{GRAPH_FB}/me", 17, 400, APP_USAGE, None, None),
    "app": ("fb_app", "fb_debug_token", f"{GRAPH_FB}/debug_token", 4, 403, APP_USAGE, None, None),
}


def _token(world, kind: str) -> str:
    if kind == "ig_long":
        return world.mint_token(DEMO_IG_APP_ID, kind, "demo_business").value
    if kind == "fb_page":
        return world.mint_token(DEMO_FB_APP_ID, kind, DEMO_PAGE_LINKED_ID).value
    if kind == "fb_app":
        return f"{DEMO_FB_APP_ID}|{DEMO_FB_APP_SECRET}"
    return world.mint_token(DEMO_FB_APP_ID, kind, DEMO_FB_USER, scopes=["public_profile"]).value


def _call(client: httpx.Client, url: str, token: str) -> httpx.Response:
    params = {"access_token": token}
    if url.endswith("debug_token"):
        params["input_token"] = token
    return client.get(url, params=params)


def _regain(response: httpx.Response, header: str) -> object:
    if header == BUC:
        ((entries,),) = [json.loads(response.headers[BUC]).values()]
        return entries[0]["estimated_time_to_regain_access"]
    return response.json()["error"]["error_data"]["estimated_time_to_regain_access"]


@pytest.mark.parametrize("case", list(CASES))
def test_throttle_fault_answers_by_token(client, emulator_world, case):
    """A scripted throttle answers the limit the token counts against, keyed by its business object."""
    kind, endpoint, url, code, status, header, use_case, business = CASES[case]
    token = _token(emulator_world, kind)
    fine = _call(client, url, token)
    assert fine.status_code == 200, fine.text
    emulator_world.faults.add(endpoint, "throttle", wait_minutes=17, times=1)
    response = _call(client, url, token)
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["type"]) == (status, code, "OAuthException")
    assert _regain(response, header) == 17
    if use_case is not None:
        usage = json.loads(response.headers[BUC])
        assert list(usage) == [business] == list(json.loads(fine.headers[BUC]))
        assert usage[business][0]["type"] == use_case and usage[business][0]["call_count"] == 100
        assert APP_USAGE not in response.headers
        what = "Instagram" if use_case == "instagram" else "Page"
        assert error["message"].startswith(
            f"(#{code}) There have been too many calls to this {what} account."
        )
    else:
        assert set(json.loads(response.headers[APP_USAGE])) == APP_USAGE_KEYS
        assert BUC not in response.headers and error["is_transient"] is True
        limit = "Application" if code == 4 else "User"
        assert error["message"] == f"(#{code}) {limit} request limit reached"
    assert emulator_world.faults.all() == []
    assert _call(client, url, token).status_code == 200


@pytest.mark.parametrize("case", list(CASES))
def test_own_limit_and_fault_give_one_answer(client, emulator_world, case):
    """Past the app's per-hour limit the answer has the fault's shape; only the wait differs."""
    kind, endpoint, url, code, status, header, use_case, business = CASES[case]
    token = _token(emulator_world, kind)
    emulator_world.faults.add(endpoint, "throttle", wait_minutes=7, times=1)
    scripted = _call(client, url, token)
    emulator_world.update_app(DEMO_FB_APP_ID if kind != "ig_long" else DEMO_IG_APP_ID, call_limit_per_hour=1)
    assert _call(client, url, token).status_code == 200
    own = _call(client, url, token)
    assert own.status_code == scripted.status_code == status
    assert own.json()["error"]["code"] == scripted.json()["error"]["code"] == code
    assert own.json()["error"]["message"] == scripted.json()["error"]["message"]
    assert header in own.headers and header in scripted.headers
    if use_case is not None:
        assert list(json.loads(own.headers[BUC])) == [business]
    minutes_left = _regain(own, header)
    assert isinstance(minutes_left, int) and 1 <= minutes_left <= 61  # the rest of the hour


def test_user_tokens_count_per_user_app_tokens_per_app(client, emulator_world):
    """One user's calls do not use up another user's limit (17 is per user); the app token has its own."""
    emulator_world.update_app(DEMO_FB_APP_ID, call_limit_per_hour=1)
    first = _token(emulator_world, "fb_user_long")
    emulator_world.create_facebook_user("other_fb_user", name="Other User")
    other = emulator_world.mint_token(DEMO_FB_APP_ID, "fb_user_long", "other_fb_user").value
    assert [_call(client, f"{GRAPH_FB}/me", first).status_code for _ in range(2)] == [200, 400]
    assert _call(client, f"{GRAPH_FB}/me", other).status_code == 200
    app_token = _token(emulator_world, "fb_app")
    assert _call(client, f"{GRAPH_FB}/debug_token", app_token).status_code == 200


def test_throttle_fault_without_a_token_is_the_apps_limit(client, emulator_world):
    """Calls made with app credentials only (token grants) answer the app's limit, code 4."""
    emulator_world.faults.add("fb_client_credentials", "throttle", wait_minutes=3)
    response = client.get(
        f"{GRAPH_FB}/oauth/access_token",
        params={
            "grant_type": "client_credentials",
            "client_id": DEMO_FB_APP_ID,
            "client_secret": DEMO_FB_APP_SECRET,
        },
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == 4
    assert (
        _regain(response, APP_USAGE) == 3 and set(json.loads(response.headers[APP_USAGE])) == APP_USAGE_KEYS
    )


def test_throttle_fault_waits_for_a_valid_token(client, emulator_world):
    """The token is checked first: a bad token answers 190 and leaves the throttle for the next call."""
    emulator_world.faults.add("ig_me", "throttle", times=1)
    bad = client.get(f"{GRAPH_IG}/me", params={"access_token": "IGAAnot-a-token"})
    assert bad.json()["error"]["code"] == 190
    assert [f.hits for f in emulator_world.faults.all()] == [0]
    good = _call(client, f"{GRAPH_IG}/me", _token(emulator_world, "ig_long"))
    assert good.json()["error"]["code"] == 80002 and emulator_world.faults.all() == []


def test_throttle_fault_status_override(client, emulator_world):
    """A fault's ``status`` replaces the HTTP status; the body stays Meta's."""
    emulator_world.faults.add("ig_refresh_token", "throttle", status=429, wait_minutes=2)
    response = client.get(
        f"{GRAPH_IG}/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": _token(emulator_world, "ig_long")},
    )
    assert response.status_code == 429 and response.json()["error"]["code"] == 80002


@pytest.mark.parametrize("case", list(CASES))
def test_igtoken_reads_every_throttle_as_a_throttle(client, emulator_world, case):
    """igtoken's parser classifies each answer as ThrottledError with the scripted wait."""
    kind, endpoint, url, code, _status, _header, _use_case, _business = CASES[case]
    emulator_world.faults.add(endpoint, "throttle", wait_minutes=25)
    error = error_from_response(_call(client, url, _token(emulator_world, kind)))
    assert isinstance(error, ThrottledError)
    assert (error.code, error.retry_after) == (code, 25 * 60)
