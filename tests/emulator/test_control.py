"""The control API (/_emulator/...) and the Python World API it mirrors."""

from __future__ import annotations

import json
import time

from igtoken.emulator import EmulatorClock, World, create_app
from igtoken.emulator.demo import DEMO_FB_APP_ID, DEMO_IG_APP_ID, DEMO_IG_APP_SECRET
from igtoken.testing import emulator_sync_client
from tests.support.emulator_flows import GRAPH_IG, long_token

DAY = 86400


def test_world_view_lists_demo(client):
    """GET /_emulator/world shows apps with credentials, accounts with app-scoped ids, switches and clock."""
    world = client.get("/_emulator/world").json()
    assert {a["name"] for a in world["apps"]} == {"igtoken demo", "igtoken demo (Facebook Login)"}
    assert {a["username"] for a in world["accounts"]} == {"demo_business", "demo_creator", "demo_personal"}
    assert world["switches"]["code_exchange_shape"] == "flat"
    assert world["clock"]["now"].startswith("2026-03-01T12:00")
    assert world["accounts"][0]["app_scoped_ids"]


def test_clock_advance(client, emulator_clock):
    """POST /_emulator/clock/advance moves the shared clock."""
    before = emulator_clock.timestamp()
    body = client.post("/_emulator/clock/advance", json={"days": 1, "seconds": 5}).json()
    assert body["timestamp"] == before + DAY + 5 == emulator_clock.timestamp()


def test_create_app_and_patch_redirects_and_testers(client):
    """Apps are created with generated ids; PATCH adds redirect URIs and testers without replacing."""
    app = client.post(
        "/_emulator/apps",
        json={"name": "mine", "redirect_uris": ["http://127.0.0.1:1/cb"], "mode": "development"},
    ).json()
    assert app["instagram_app_id"] and app["instagram_app_secret"] and app["meta_app_id"]
    patched = client.patch(
        f"/_emulator/apps/{app['instagram_app_id']}",
        json={"add_redirect_uris": ["http://127.0.0.1:2/cb"], "add_testers": ["demo_business"]},
    ).json()
    assert patched["redirect_uris"] == ["http://127.0.0.1:1/cb", "http://127.0.0.1:2/cb"]
    assert patched["testers"] == ["demo_business"]


def test_control_errors_are_clear(client):
    """Bad control requests answer 400 with a specific message; unknown routes 404."""
    assert "no app" in client.patch("/_emulator/apps/404", json={"mode": "live"}).json()["error"]
    assert "mode" in client.post("/_emulator/apps", json={"name": "x", "mode": "beta"}).json()["error"]
    assert "unknown switch" in client.patch("/_emulator/switches", json={"nope": 1}).json()["error"]
    assert client.get("/_emulator/nothing").status_code == 404
    assert client.post("/_emulator/apps", content=b"{").status_code == 400


def test_switches_patch_is_all_or_nothing(client):
    """A PATCH with one bad value changes nothing."""
    response = client.patch(
        "/_emulator/switches", json={"refresh_new_string": "false", "error_status_190": "418"}
    )
    assert response.status_code == 400
    assert client.get("/_emulator/switches").json()["switches"]["refresh_new_string"] == "true"


def test_create_accounts_in_bulk_fast(client, emulator_world):
    """5,000 accounts are created in one call, quickly, with unique ids."""
    started = time.perf_counter()
    body = client.post("/_emulator/accounts", json={"count": 5000, "prefix": "bulk_"}).json()
    assert body["created"] == 5000 and time.perf_counter() - started < 5
    assert len({a["ig_id"] for a in body["accounts"]}) == 5000
    assert emulator_world.find_account("bulk_5000").account_type == "BUSINESS"


def test_create_personal_account_and_facebook_user_with_pages(client):
    """Accounts of every type and Facebook users with linked and unlinked Pages can be added."""
    client.post("/_emulator/accounts", json={"username": "shop", "account_type": "BUSINESS"})
    user = client.post(
        "/_emulator/facebook-users",
        json={
            "username": "owner",
            "pages": [
                {"name": "Shop Page", "instagram_account": "shop"},
                {"name": "Other", "business_owned": True},
            ],
        },
    ).json()
    assert len(user["pages"]) == 2 and user["pages"][1]["business_owned"] is True
    bad = client.post(
        "/_emulator/pages", json={"owner": "owner", "name": "P", "instagram_account": "demo_personal"}
    )
    assert "professional" in bad.json()["error"]


def test_mint_aged_long_token_and_refresh_it(client):
    """A token minted 25 hours in the past is refreshable at once."""
    token = client.post(
        "/_emulator/tokens",
        json={
            "app_id": DEMO_IG_APP_ID,
            "username": "demo_creator",
            "kind": "ig_long",
            "issued_at_offset_seconds": -90000,
        },
    ).json()
    response = client.get(
        f"{GRAPH_IG}/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": token["access_token"]},
    )
    assert response.status_code == 200 and response.json()["access_token"] != token["access_token"]


def test_mint_many_tokens(client):
    """POST /_emulator/tokens with usernames mints one token each."""
    client.post("/_emulator/accounts", json={"count": 50})
    body = client.post(
        "/_emulator/tokens",
        json={"app_id": DEMO_IG_APP_ID, "kind": "ig_long", "usernames": [f"load_{i}" for i in range(1, 51)]},
    ).json()
    assert len({t["access_token"] for t in body["tokens"]}) == 50


def test_token_inspection_and_revoke(client):
    """GET /_emulator/tokens/{token} reports status; revoke makes it 'revoked'."""
    token = long_token(client)
    assert client.get(f"/_emulator/tokens/{token}").json()["status"] == "valid"
    client.post("/_emulator/tokens/revoke", json={"access_token": token, "subcode": 460})
    info = client.get(f"/_emulator/tokens/{token}").json()
    assert info["status"] == "revoked" and info["error"]["subcode"] == 460


def test_password_change_via_control(client):
    """POST /_emulator/accounts/{username}/password-change kills earlier tokens with 460."""
    token = long_token(client)
    client.post("/_emulator/accounts/demo_business/password-change")
    assert (
        client.get(f"{GRAPH_IG}/me", params={"access_token": token}).json()["error"]["error_subcode"] == 460
    )


def test_request_log_counts_refreshes_per_account_and_clears(client):
    """The log filters by path and counts by account; secrets are masked; DELETE clears it."""
    client.post("/_emulator/accounts", json={"count": 3, "prefix": "r_"})
    for name in ("r_1", "r_2", "r_3", "r_1"):
        token = client.post(
            "/_emulator/tokens",
            json={"app_id": DEMO_IG_APP_ID, "username": name, "issued_at_offset_seconds": -2 * DAY},
        ).json()
        client.get(
            f"{GRAPH_IG}/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": token["access_token"]},
        )
    counted = client.get(
        "/_emulator/requests/count", params={"path": "refresh_access_token", "by": "account"}
    )
    assert counted.json() == {"count": 4, "by": {"account": {"r_1": 2, "r_2": 1, "r_3": 1}}}
    log = client.get("/_emulator/requests", params={"endpoint": "ig_refresh_token"}).json()
    assert log["requests"][0]["query"]["access_token"] == "IGAA…(masked)"
    assert "IGAA" not in json.dumps(log, ensure_ascii=False).replace("IGAA…(masked)", "")
    assert client.delete("/_emulator/requests").json() == {"cleared": 4}  # control calls are not logged
    assert client.get("/_emulator/requests").json()["count"] == 0


def test_code_exchange_form_secrets_masked_in_log(client):
    """client_secret and code in a POST body are masked in the log."""
    long_token(client)
    entry = client.get("/_emulator/requests", params={"endpoint": "ig_code_exchange"}).json()["requests"][0]
    assert entry["form"]["client_secret"] != DEMO_IG_APP_SECRET and entry["form"]["code"].endswith("(masked)")


def test_fault_5xx_then_recovers(client):
    """An 'error' fault for two requests answers 500 twice, then the endpoint works."""
    token = long_token(client)
    client.post("/_emulator/faults", json={"endpoint": "ig_me", "kind": "error", "status": 503, "times": 2})
    statuses = [client.get(f"{GRAPH_IG}/me", params={"access_token": token}).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert client.get("/_emulator/faults").json()["faults"] == []


def test_fault_throttle_with_wait_hint(client):
    """A 'throttle' fault answers 80002 with estimated_time_to_regain_access = wait_minutes."""
    client.post(
        "/_emulator/faults", json={"endpoint": "ig_refresh_token", "kind": "throttle", "wait_minutes": 17}
    )
    response = client.get(
        f"{GRAPH_IG}/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": long_token(client)},
    )
    assert response.json()["error"]["code"] == 80002
    assert '"estimated_time_to_regain_access":17' in response.headers["x-business-use-case-usage"]


def test_fault_malformed_body(client):
    """A 'malformed' fault answers 200 with a body that is not valid JSON."""
    client.post("/_emulator/faults", json={"endpoint": "*", "kind": "malformed", "times": 1})
    response = client.get(f"{GRAPH_IG}/me")
    assert response.status_code == 200 and response.text == '{"access_token": "IGAA'


def test_fault_slow_and_removal(client):
    """A 'slow' fault delays the answer; DELETE /_emulator/faults removes all faults."""
    client.post("/_emulator/faults", json={"endpoint": "ig_me", "kind": "slow", "delay_seconds": 0.3})
    started = time.perf_counter()
    client.get(f"{GRAPH_IG}/me")
    assert time.perf_counter() - started >= 0.3
    assert client.delete("/_emulator/faults").json() == {"removed": 1}


def test_fault_bad_kind(client):
    """An unknown fault kind is refused with the list of kinds."""
    assert (
        "kind must be one of"
        in client.post("/_emulator/faults", json={"endpoint": "x", "kind": "boom"}).json()["error"]
    )


def test_state_file_round_trip(tmp_path):
    """A saved world (apps, accounts, tokens, revocations, clock) loads back identical in behaviour."""
    clock = EmulatorClock(frozen=True)
    app = create_app(clock=clock)
    world: World = app.state.world
    with emulator_sync_client(app) as client:
        token = long_token(client)
        client.post("/_emulator/apps", json={"name": "saved", "redirect_uris": ["http://127.0.0.1:9/cb"]})
        revoked = long_token(client, "demo_creator")
        world.change_password("demo_creator")
    path = tmp_path / "state.json"
    world.save(path)
    loaded = World.load(path, clock=EmulatorClock(clock.now(), frozen=True))
    with emulator_sync_client(create_app(loaded)) as client:
        assert client.get(f"{GRAPH_IG}/me", params={"access_token": token}).status_code == 200
        assert (
            client.get(f"{GRAPH_IG}/me", params={"access_token": revoked}).json()["error"]["error_subcode"]
            == 460
        )
        assert "saved" in {a["name"] for a in client.get("/_emulator/world").json()["apps"]}
        assert long_token(client)  # new tokens do not collide with loaded ones


def test_python_api_shares_clock(emulator_world, emulator_clock):
    """The world's clock is the injected one, so a test and the emulator agree on now."""
    assert emulator_world.clock is emulator_clock
    token = emulator_world.mint_token(DEMO_IG_APP_ID, "ig_long", "demo_business")
    emulator_clock.advance(61 * DAY)
    assert emulator_world.token_problem(token, emulator_clock.timestamp()).subcode == 463


def test_facebook_app_has_no_instagram_login(emulator_world):
    """Minting an IG token for a Facebook-only app is refused clearly."""
    try:
        emulator_world.mint_token(DEMO_FB_APP_ID, "ig_long", "demo_business")
    except ValueError as exc:
        assert "no Instagram Login" in str(exc)
    else:
        raise AssertionError("expected a WorldError")
