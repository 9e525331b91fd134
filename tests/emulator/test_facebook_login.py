"""Contract tests for Facebook Login (docs/emulator.md E7–E13) against the in-process emulator."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest

from igtoken.emulator.demo import (
    DEMO_BUSINESS_IG_ID,
    DEMO_FB_APP_ID,
    DEMO_FB_APP_SECRET,
    DEMO_FB_CONFIG_ID,
    DEMO_FB_USER_ID,
    DEMO_PAGE_LINKED_ID,
    DEMO_PAGE_UNLINKED_ID,
)
from tests.support.emulator_flows import GRAPH_FB, GRAPH_IG, REDIRECT, WWW_FB, long_token, query_of

SCOPES = "public_profile,pages_show_list,instagram_basic,business_management"


def dialog(client, decision="approve", account="demo_fb_user", **over):
    params = {
        "client_id": DEMO_FB_APP_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "state": "fbst",
        "response_type": "code",
        "emulator_account": account,
        "emulator_decision": decision,
    }
    params.update(over)
    return client.get(
        f"{WWW_FB}/v25.0/dialog/oauth", params={k: v for k, v in params.items() if v is not None}
    )


def fb_code(client, **over):
    response = dialog(client, **over)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.endswith("#_=_")
    return query_of(location.removesuffix("#_=_"))["code"]


def code_exchange(client, code, method="GET", **over):
    params = {
        "client_id": DEMO_FB_APP_ID,
        "client_secret": DEMO_FB_APP_SECRET,
        "redirect_uri": REDIRECT,
        "code": code,
    }
    params.update(over)
    params = {k: v for k, v in params.items() if v is not None}
    if method == "GET":
        return client.get(f"{GRAPH_FB}/v25.0/oauth/access_token", params=params)
    return client.post(f"{GRAPH_FB}/v25.0/oauth/access_token", data=params)


def user_token(client, **over):
    response = code_exchange(client, fb_code(client, **over))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def graph_error(response):
    body = response.json()
    assert "error" in body, response.text
    return body["error"]


# ---------------------------------------------------------------- E7 dialog


def test_dialog_code_redirect_has_fb_fragment(client):
    """Approval redirects with code and state and Facebook's #_=_ fragment."""
    location = dialog(client).headers["location"]
    assert location.endswith("#_=_") and query_of(location.removesuffix("#_=_"))["state"] == "fbst"


def test_dialog_deny(client):
    """Cancel redirects with error=access_denied / user_denied."""
    params = query_of(dialog(client, decision="deny").headers["location"].removesuffix("#_=_"))
    assert params["error"] == "access_denied" and params["error_reason"] == "user_denied"


def test_dialog_refuses_instagram_login_scopes(client):
    """instagram_business_* names are 'Invalid Scopes' on the Facebook dialog (an HTML page)."""
    response = dialog(client, scope="instagram_business_basic,pages_show_list")
    assert response.status_code == 400 and "Invalid Scopes: instagram_business_basic" in response.text


def test_dialog_refuses_unregistered_redirect(client):
    """An unregistered redirect_uri is 'URL blocked'."""
    response = dialog(client, redirect_uri=REDIRECT + "/")
    assert response.status_code == 400 and "Invalid redirect_uri" in response.text


def test_dialog_refuses_instagram_app_id(client):
    """The Instagram app id is not a valid client_id for Facebook Login."""
    assert dialog(client, client_id="990600000000001").status_code == 400


def test_dialog_development_mode_permissions_error(client, emulator_world):
    """A development-mode app redirects non-testers with error_code=200 'Permissions error'."""
    emulator_world.update_app(DEMO_FB_APP_ID, mode="development")
    params = query_of(dialog(client).headers["location"].removesuffix("#_=_"))
    assert params["error_code"] == "200" and params["error_description"] == "Permissions error"


def test_dialog_token_response_type_fragment(client, emulator_world):
    """response_type=token returns short and long tokens in the fragment, expiry in Unix seconds."""
    location = dialog(client, response_type="token").headers["location"]
    fragment = {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}
    assert fragment["access_token"].startswith("EAA") and fragment["long_lived_token"].startswith("EAA")
    assert int(fragment["data_access_expiration_time"]) > emulator_world.clock.timestamp()
    assert fragment["state"] == "fbst"


def test_dialog_config_id_grants_configured_scopes(client, emulator_world):
    """With config_id the app's configuration decides the permissions."""
    token = user_token(client, scope=None, config_id=DEMO_FB_CONFIG_ID)
    assert "business_management" in emulator_world.tokens[token].scopes


def test_dialog_also_served_on_graph_host(client):
    """The dialog path answers on graph.facebook.com too (clients configured with one base URL)."""
    response = client.get(
        f"{GRAPH_FB}/v24.0/dialog/oauth",
        params={
            "client_id": DEMO_FB_APP_ID,
            "redirect_uri": REDIRECT,
            "emulator_account": "demo_fb_user",
            "emulator_decision": "approve",
        },
    )
    assert response.status_code == 302


# ---------------------------------------------------------------- E8, E9, E9b token endpoint


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_code_exchange_long_lived_by_default(client, method):
    """The code exchange (GET or POST) yields an EAA token with ~60 days by default."""
    body = code_exchange(client, fb_code(client), method=method).json()
    assert body["access_token"].startswith("EAA") and body["expires_in"] == 5183944


def test_code_exchange_short_switch(client, emulator_world):
    """fb_code_token_lifetime=short makes the code exchange yield a short-lived token."""
    emulator_world.switches.set("fb_code_token_lifetime", "short")
    assert code_exchange(client, fb_code(client)).json()["expires_in"] <= 7200


def test_code_reuse_36009_with_www_authenticate(client):
    """A reused code is 100/36009 with the WWW-Authenticate header."""
    code = fb_code(client)
    code_exchange(client, code)
    response = code_exchange(client, code)
    error = graph_error(response)
    assert (error["code"], error["error_subcode"]) == (100, 36009)
    assert '"invalid_code"' in response.headers["www-authenticate"]


def test_code_expired(client, emulator_clock):
    """A Facebook code expires after ten minutes."""
    code = fb_code(client)
    emulator_clock.advance(601)
    assert graph_error(code_exchange(client, code))["message"] == "This authorization code has expired."


@pytest.mark.parametrize(
    ("over", "code", "message"),
    [
        ({"client_id": "1"}, 101, "Error validating application. Invalid application ID."),
        ({"client_id": None}, 101, "Missing client_id parameter."),
        ({"client_secret": "no"}, 1, "Error validating client secret."),
        (
            {"redirect_uri": "http://localhost:8000/oauth/callback"},
            100,
            "Error validating verification code.",
        ),
    ],
)
def test_code_exchange_errors(client, over, code, message):
    """Bad app id, missing id, bad secret and redirect mismatch each get Meta's code and message."""
    error = graph_error(code_exchange(client, fb_code(client), **over))
    assert error["code"] == code and error["message"].startswith(message)


def test_garbage_code_is_invalid_format(client):
    """An unknown code is 'Invalid verification code format.'"""
    assert graph_error(code_exchange(client, "AQDnope"))["message"] == "Invalid verification code format."


def test_basic_auth_accepted_on_facebook_by_default(client):
    """HTTP Basic client credentials work on graph.facebook.com by default (pyfacebook relies on it)."""
    code = fb_code(client)
    response = client.post(
        f"{GRAPH_FB}/v24.0/oauth/access_token",
        auth=(DEMO_FB_APP_ID, DEMO_FB_APP_SECRET),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
    )
    assert response.status_code == 200


def test_basic_auth_refused_with_switch_none(client, emulator_world):
    """http_basic_client_auth=none makes Basic-only clients fail with 'Missing client_id parameter.'"""
    emulator_world.switches.set("http_basic_client_auth", "none")
    response = client.post(
        f"{GRAPH_FB}/oauth/access_token",
        auth=(DEMO_FB_APP_ID, DEMO_FB_APP_SECRET),
        data={"grant_type": "authorization_code", "code": fb_code(client), "redirect_uri": REDIRECT},
    )
    assert graph_error(response)["code"] == 101


def test_fb_exchange_token_gives_new_long_token(client):
    """fb_exchange_token returns a different, 60-day string."""
    token = user_token(client)
    body = client.get(
        f"{GRAPH_FB}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": DEMO_FB_APP_ID,
            "client_secret": DEMO_FB_APP_SECRET,
            "fb_exchange_token": token,
        },
    ).json()
    assert body["access_token"] != token and body["expires_in"] == 5183944


def test_fb_exchange_of_expired_token_fails(client, emulator_world):
    """An expired user token cannot be exchanged (190/463)."""
    emulator_world.switches.set("fb_code_token_lifetime", "short")
    token = user_token(client)
    emulator_world.clock.advance(3 * 3600)
    error = graph_error(
        client.post(
            f"{GRAPH_FB}/oauth/access_token",
            data={
                "grant_type": "fb_exchange_token",
                "client_id": DEMO_FB_APP_ID,
                "client_secret": DEMO_FB_APP_SECRET,
                "fb_exchange_token": token,
            },
        )
    )
    assert (error["code"], error["error_subcode"]) == (190, 463)


def test_client_credentials_app_token(client):
    """client_credentials yields an '<app_id>|…' token without expiry."""
    body = client.get(
        f"{GRAPH_FB}/oauth/access_token",
        params={
            "grant_type": "client_credentials",
            "client_id": DEMO_FB_APP_ID,
            "client_secret": DEMO_FB_APP_SECRET,
        },
    ).json()
    assert body["access_token"].startswith(DEMO_FB_APP_ID + "|") and "expires_in" not in body


# ---------------------------------------------------------------- E10–E12 data


def test_me_and_permissions(client):
    """/me answers id and name; /me/permissions lists granted permissions."""
    token = user_token(client)
    assert client.get(f"{GRAPH_FB}/me", params={"access_token": token}).json() == {
        "name": "Demo Facebook User",
        "id": DEMO_FB_USER_ID,
    }
    perms = client.get(
        f"{GRAPH_FB}/v25.0/me/permissions", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert {"permission": "pages_show_list", "status": "granted"} in perms["data"]


def test_me_tolerates_allauth_fields(client):
    """allauth's default /me field list is answered, not refused."""
    token = user_token(client)
    fields = "id,email,name,first_name,last_name,verified,locale,timezone,link,gender,updated_time"
    body = client.get(f"{GRAPH_FB}/me", params={"access_token": token, "fields": fields}).json()
    assert body["first_name"] == "Demo" and "email" in body


def test_accounts_hide_business_pages_without_business_management(client):
    """/me/accounts lists only non-business Pages unless business_management was granted."""
    with_bm = user_token(client)
    without = user_token(client, scope="pages_show_list,instagram_basic")
    ids = [
        p["id"]
        for p in client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": with_bm}).json()["data"]
    ]
    assert ids == [DEMO_PAGE_LINKED_ID, DEMO_PAGE_UNLINKED_ID]
    ids = [
        p["id"]
        for p in client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": without}).json()["data"]
    ]
    assert ids == [DEMO_PAGE_LINKED_ID]


def test_accounts_need_pages_show_list(client):
    """/me/accounts without pages_show_list is a permission error."""
    token = user_token(client, scope="public_profile")
    assert graph_error(client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": token}))["code"] == 10


def test_accounts_page_tokens_never_expire_from_long_user_token(client, emulator_world):
    """Page tokens from a long-lived user token never expire; /me with one answers the Page."""
    token = user_token(client)
    page = client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": token}).json()["data"][0]
    assert page["tasks"] and page["category_list"]
    assert emulator_world.tokens[page["access_token"]].expires_at is None
    me = client.get(f"{GRAPH_FB}/me", params={"access_token": page["access_token"]}).json()
    assert me["id"] == DEMO_PAGE_LINKED_ID


def test_page_instagram_business_account(client):
    """/{page}?fields=instagram_business_account,access_token gives the linked IG id; unlinked omits it."""
    token = user_token(client)
    fields = "instagram_business_account,access_token,name"
    linked = client.get(
        f"{GRAPH_FB}/{DEMO_PAGE_LINKED_ID}/", params={"access_token": token, "fields": fields}
    ).json()
    assert linked["instagram_business_account"] == {"id": DEMO_BUSINESS_IG_ID}
    assert linked["access_token"].startswith("EAA")
    unlinked = client.get(
        f"{GRAPH_FB}/{DEMO_PAGE_UNLINKED_ID}", params={"access_token": token, "fields": fields}
    )
    assert "instagram_business_account" not in unlinked.json()


def test_page_field_expansion_of_the_instagram_account(client):
    """instagram_business_account{id,username} expands the linked account; unknown subfields and
    expansion of other fields are refused with code 100, as on any unknown field."""
    token = user_token(client)
    fields = "id,name,access_token,instagram_business_account{id,username}"
    linked = client.get(f"{GRAPH_FB}/{DEMO_PAGE_LINKED_ID}", params={"access_token": token, "fields": fields})
    assert linked.json()["instagram_business_account"] == {
        "id": DEMO_BUSINESS_IG_ID,
        "username": "demo_business",
    }
    unlinked = client.get(
        f"{GRAPH_FB}/{DEMO_PAGE_UNLINKED_ID}", params={"access_token": token, "fields": fields}
    ).json()
    assert "instagram_business_account" not in unlinked and unlinked["name"] == "Demo Agency Page"
    listed = client.get(
        f"{GRAPH_FB}/me/accounts",
        params={"access_token": token, "fields": "id,instagram_business_account{username}"},
    ).json()
    assert listed["data"][0]["instagram_business_account"] == {
        "username": "demo_business",
        "id": DEMO_BUSINESS_IG_ID,
    }
    for bad in ("instagram_business_account{id,secret}", "name{id}"):
        response = client.get(
            f"{GRAPH_FB}/{DEMO_PAGE_LINKED_ID}", params={"access_token": token, "fields": bad}
        )
        assert graph_error(response)["code"] == 100


def test_ig_user_and_media_via_facebook(client):
    """The linked IG business account and its media are readable on graph.facebook.com."""
    token = user_token(client)
    user = client.get(
        f"{GRAPH_FB}/{DEMO_BUSINESS_IG_ID}",
        params={"access_token": token, "fields": "id,username,followers_count,ig_id"},
    ).json()
    assert user["username"] == "demo_business" and isinstance(user["ig_id"], int)
    media = client.get(f"{GRAPH_FB}/{DEMO_BUSINESS_IG_ID}/media", params={"access_token": token}).json()
    assert len(media["data"]) == 25 and "next" in media["paging"]
    album = client.get(
        f"{GRAPH_FB}/{DEMO_BUSINESS_IG_ID}/media",
        params={"access_token": token, "fields": "id,media_type,children{id,media_url}", "limit": 2},
    ).json()["data"][1]
    assert album["media_type"] == "CAROUSEL_ALBUM" and album["children"]["data"][0]["media_url"]
    node = client.get(
        f"{GRAPH_FB}/{album['id']}", params={"access_token": token, "fields": "shortcode,owner"}
    )
    assert node.json() == {
        "shortcode": node.json()["shortcode"],
        "owner": {"id": DEMO_BUSINESS_IG_ID},
        "id": album["id"],
    }
    item = album["children"]["data"][1]["id"]
    assert client.get(f"{GRAPH_FB}/{item}", params={"access_token": token}).json() == {"id": item}
    app_token = f"{DEMO_FB_APP_ID}|{DEMO_FB_APP_SECRET}"
    assert graph_error(client.get(f"{GRAPH_FB}/{item}", params={"access_token": app_token}))["code"] == 100


def test_appsecret_proof_checked_when_sent(client):
    """A wrong appsecret_proof is refused; the right one passes."""
    token = user_token(client)
    good = hmac.new(DEMO_FB_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
    assert (
        client.get(f"{GRAPH_FB}/me", params={"access_token": token, "appsecret_proof": good}).status_code
        == 200
    )
    bad = client.get(f"{GRAPH_FB}/me", params={"access_token": token, "appsecret_proof": "00"})
    assert "appsecret_proof" in graph_error(bad)["message"]


def test_tokens_do_not_cross_hosts(client):
    """An IG token on graph.facebook.com and an FB token on graph.instagram.com cannot be parsed (190)."""
    ig = long_token(client)
    fb = user_token(client)
    assert graph_error(client.get(f"{GRAPH_FB}/me", params={"access_token": ig}))["code"] == 190
    assert graph_error(client.get(f"{GRAPH_IG}/me", params={"access_token": fb}))["code"] == 190


def test_x_app_usage_header_keys(client):
    """x-app-usage carries only the keys pyfacebook accepts."""
    token = user_token(client)
    usage = client.get(f"{GRAPH_FB}/me", params={"access_token": token}).headers["x-app-usage"]
    assert set(__import__("json").loads(usage)) == {"call_count", "total_time", "total_cputime"}


# ---------------------------------------------------------------- E13 debug_token


def test_debug_token_with_app_literal(client, emulator_world):
    """debug_token with APP_ID|SECRET describes a user token: type, app, scopes, granular scopes, expiry."""
    token = user_token(client)
    data = client.get(
        f"{GRAPH_FB}/debug_token",
        params={"input_token": token, "access_token": f"{DEMO_FB_APP_ID}|{DEMO_FB_APP_SECRET}"},
    ).json()["data"]
    assert data["is_valid"] is True and data["type"] == "USER" and data["app_id"] == DEMO_FB_APP_ID
    assert data["user_id"] == DEMO_FB_USER_ID and "pages_show_list" in data["scopes"]
    assert {"scope": "pages_show_list", "target_ids": [DEMO_PAGE_LINKED_ID, DEMO_PAGE_UNLINKED_ID]} in data[
        "granular_scopes"
    ]
    assert data["expires_at"] > data["issued_at"]


def test_debug_token_invalid_input(client, emulator_world):
    """An unknown or revoked input token answers 200 with is_valid false and an error."""
    app = f"{DEMO_FB_APP_ID}|{DEMO_FB_APP_SECRET}"
    unknown = client.get(f"{GRAPH_FB}/debug_token", params={"input_token": "EAAnope", "access_token": app})
    assert unknown.status_code == 200 and unknown.json()["data"]["is_valid"] is False
    token = user_token(client)
    emulator_world.revoke_token(token, 467)
    data = client.get(f"{GRAPH_FB}/debug_token", params={"input_token": token, "access_token": app}).json()[
        "data"
    ]
    assert data["is_valid"] is False and data["error"]["subcode"] == 467


def test_debug_token_page_token_never_expires(client):
    """A page token from a long-lived user token shows expires_at 0 and a profile_id."""
    token = user_token(client)
    page_token = client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": token}).json()["data"][0][
        "access_token"
    ]
    data = client.get(
        f"{GRAPH_FB}/debug_token",
        params={"input_token": page_token, "access_token": f"{DEMO_FB_APP_ID}|{DEMO_FB_APP_SECRET}"},
    ).json()["data"]
    assert data["type"] == "PAGE" and data["expires_at"] == 0 and data["profile_id"] == DEMO_PAGE_LINKED_ID


def test_fb_password_change_kills_user_and_page_tokens(client, emulator_world):
    """A Facebook password change invalidates user and page tokens (190/460)."""
    token = user_token(client)
    page_token = client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": token}).json()["data"][0][
        "access_token"
    ]
    emulator_world.change_password("demo_fb_user")
    for value in (token, page_token):
        assert (
            graph_error(client.get(f"{GRAPH_FB}/me", params={"access_token": value}))["error_subcode"] == 460
        )


# ---------------------------------------------------------------- issue 20: fidelity


def permissions_of(client, token):
    return client.get(f"{GRAPH_FB}/v25.0/me/permissions", params={"access_token": token}).json()["data"]


def test_declined_permission_is_listed_and_not_asked_again_without_rerequest(client, emulator_world):
    """emulator_decline unticks a permission: the token lacks it, /me/permissions says 'declined',
    a later login does not ask again, and only auth_type=rerequest brings it back."""
    token = user_token(client, emulator_decline="instagram_basic")
    assert "instagram_basic" not in emulator_world.tokens[token].scopes
    data = permissions_of(client, token)
    assert {"permission": "instagram_basic", "status": "declined"} in data
    assert {"permission": "pages_show_list", "status": "granted"} in data
    page = dialog(client, emulator_decision=None)
    assert "instagram_basic" not in page.text  # not offered again
    again = user_token(client)
    assert "instagram_basic" not in emulator_world.tokens[again].scopes
    page = dialog(client, emulator_decision=None, auth_type="rerequest")
    assert "perm-instagram_basic" in page.text
    restored = user_token(client, auth_type="rerequest")
    assert "instagram_basic" in emulator_world.tokens[restored].scopes
    assert all(p["status"] == "granted" for p in permissions_of(client, restored))


def test_consent_form_checkbox_declines(client, emulator_world):
    """The consent form posts the offered permissions and the ticked ones; an unticked one is declined."""
    query = {
        "client_id": DEMO_FB_APP_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "state": "fbst",
    }
    form = [
        ("emulator_account", "demo_fb_user"),
        ("emulator_decision", "approve"),
        ("emulator_offered", SCOPES),
        ("emulator_grant", "public_profile"),
        ("emulator_grant", "instagram_basic"),
        ("emulator_grant", "business_management"),
    ]
    from urllib.parse import urlencode

    response = client.post(
        f"{WWW_FB}/v25.0/dialog/oauth",
        params=query,
        content=urlencode(form),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 302, response.text
    code = query_of(response.headers["location"].removesuffix("#_=_"))["code"]
    token = code_exchange(client, code).json()["access_token"]
    assert "pages_show_list" not in emulator_world.tokens[token].scopes
    assert graph_error(client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": token}))["code"] == 10


def test_config_id_cannot_be_partly_declined(client, emulator_world):
    """A Login for Business configuration is all or nothing: emulator_decline is ignored there."""
    token = user_token(client, scope=None, config_id=DEMO_FB_CONFIG_ID, emulator_decline="instagram_basic")
    assert "instagram_basic" in emulator_world.tokens[token].scopes


def test_unknown_config_id_refused(client):
    """A config_id that is not the app's configuration is an error page, not a login."""
    response = dialog(client, scope=None, config_id="123")
    assert response.status_code == 400 and "Invalid Configuration" in response.text


def test_instagram_nodes_need_instagram_basic(client):
    """Without instagram_basic, IG User and IG Media reads answer (#10), with user and Page tokens."""
    token = user_token(client, emulator_decline="instagram_basic")
    for path in (DEMO_BUSINESS_IG_ID, f"{DEMO_BUSINESS_IG_ID}/media"):
        error = graph_error(client.get(f"{GRAPH_FB}/{path}", params={"access_token": token}))
        assert error["code"] == 10 and "(#10)" in error["message"]
    page = client.get(
        f"{GRAPH_FB}/{DEMO_PAGE_LINKED_ID}", params={"access_token": token, "fields": "access_token"}
    ).json()
    expanded = client.get(
        f"{GRAPH_FB}/{DEMO_PAGE_LINKED_ID}",
        params={"access_token": page["access_token"], "fields": "instagram_business_account{username}"},
    )
    assert graph_error(expanded)["code"] == 10
    plain = client.get(
        f"{GRAPH_FB}/{DEMO_PAGE_LINKED_ID}",
        params={"access_token": page["access_token"], "fields": "instagram_business_account"},
    )
    assert plain.json()["instagram_business_account"] == {"id": DEMO_BUSINESS_IG_ID}


def test_data_access_expiry_answers_493_until_next_login(client, emulator_world):
    """90 days after the last login, user and Page tokens answer 190/493; logging in again renews it."""
    token = user_token(client)
    page = client.get(f"{GRAPH_FB}/me/accounts", params={"access_token": token}).json()["data"][0]
    page_token = page["access_token"]
    emulator_world.clock.advance(91 * 86400)
    error = graph_error(client.get(f"{GRAPH_FB}/me", params={"access_token": page_token}))
    assert (error["code"], error["error_subcode"]) == (190, 493)
    assert "90 days" in error["message"]
    info = client.get(
        f"{GRAPH_FB}/debug_token",
        params={"input_token": page_token, "access_token": f"{DEMO_FB_APP_ID}|{DEMO_FB_APP_SECRET}"},
    ).json()["data"]
    assert info["is_valid"] is False and info["error"]["subcode"] == 493
    user_token(client)  # the person logs in again: data access is renewed
    assert client.get(f"{GRAPH_FB}/me", params={"access_token": page_token}).status_code == 200


def test_declines_survive_a_saved_state(emulator_world):
    """Declines and the data-access window are part of the saved world."""
    from igtoken.emulator.world import World

    emulator_world.record_grant(DEMO_FB_APP_ID, DEMO_FB_USER_ID, ["public_profile"], declined=["email"])
    copy = World.from_state(emulator_world.to_state())
    assert copy.declined_scopes(DEMO_FB_APP_ID, DEMO_FB_USER_ID) == ("email",)
    assert copy.apps[DEMO_FB_APP_ID].fb_config_id == DEMO_FB_CONFIG_ID


def test_old_state_without_config_id_loads_the_same_id_every_time(emulator_world):
    """A state file from before configuration ids gets a stable id per app, not a new one per load."""
    from igtoken.emulator.world import World

    state = emulator_world.to_state()
    for app in state["apps"]:
        del app["fb_config_id"]
    first, second = World.from_state(state), World.from_state(state)
    assert first.apps[DEMO_FB_APP_ID].fb_config_id == second.apps[DEMO_FB_APP_ID].fb_config_id
