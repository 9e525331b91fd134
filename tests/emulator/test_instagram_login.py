"""Contract tests for Instagram Login (docs/emulator.md E1–E6) against the in-process emulator."""

from __future__ import annotations

import pytest

from igtoken.emulator.demo import DEMO_BUSINESS_IG_ID, DEMO_IG_APP_ID, DEMO_IG_APP_SECRET
from tests.support.emulator_flows import (
    API,
    GRAPH_IG,
    REDIRECT,
    authorize,
    exchange,
    get_code,
    long_token,
    query_of,
    short_token,
)

DAY = 86400


def ig_error(response):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_type"] == "OAuthException" and body["code"] == 400
    return body["error_message"]


def graph_error(response):
    body = response.json()
    assert "error" in body, response.text
    assert body["error"]["fbtrace_id"]
    return body["error"]


# ---------------------------------------------------------------- E1 authorize


def test_authorize_approve_redirects_with_code_state_and_fragment(client):
    """Approve answers 302 to the exact redirect URI with code, state and Meta's #_ fragment."""
    response = authorize(client)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?") and location.endswith("#_")
    params = query_of(location.removesuffix("#_"))
    assert params["state"] == "st4te" and params["code"].startswith("AQ")


def test_authorize_deny_redirects_with_access_denied(client):
    """Deny redirects with error=access_denied, user_denied and the state."""
    params = query_of(authorize(client, decision="deny").headers["location"])
    assert params == {
        "error": "access_denied",
        "error_reason": "user_denied",
        "error_description": "The user denied your request",
        "state": "st4te",
    }


def test_authorize_without_state_omits_it(client):
    """No state in, no state out."""
    params = query_of(authorize(client, state=None).headers["location"])
    assert "state" not in params and "code" in params


def test_authorize_unknown_client_is_invalid_platform_app(client):
    """An unknown client_id (or the Meta app id) is 'Invalid platform app'."""
    assert ig_error(authorize(client, client_id="880600000000001")) == "Invalid platform app"


@pytest.mark.parametrize(
    "uri",
    [
        REDIRECT + "/",
        REDIRECT.replace("127.0.0.1", "localhost:1"),
        "http://www.127.0.0.1:8000/oauth/callback",
        REDIRECT.upper(),
    ],
)
def test_authorize_redirect_uri_must_match_exactly(client, uri):
    """Trailing slash, host and case all matter for redirect_uri."""
    assert ig_error(authorize(client, redirect_uri=uri)) == "Invalid redirect_uri"


def test_authorize_response_type_must_be_code(client):
    """response_type other than code is refused with the legacy wording."""
    assert (
        ig_error(authorize(client, response_type="token"))
        == 'Only response type "code" and "token" is allowed'
    )


@pytest.mark.parametrize(
    ("scope", "bad"),
    [
        ("instagram_business_basic,instagram_basic", "instagram_basic"),
        ("instagram_business_basic,pages_show_list", "pages_show_list"),
        ("user_profile,user_media", "user_profile"),
        ("basic", "basic"),
        ("business_basic", "business_basic"),
    ],
)
def test_authorize_refuses_facebook_basic_display_and_retired_scopes(client, scope, bad):
    """Facebook names, Basic Display names and post-2025-01-27 business_* names are invalid scopes."""
    message = ig_error(authorize(client, scope=scope))
    assert message.startswith("Invalid scope") and bad in message


def test_authorize_accepts_space_separated_scopes(client):
    """Scopes may be separated by spaces as well as commas."""
    code = get_code(client, scope="instagram_business_basic instagram_business_manage_messages")
    body = exchange(client, code).json()
    assert body["permissions"] == ["instagram_business_basic", "instagram_business_manage_messages"]


def test_development_mode_admits_only_testers(client, emulator_world):
    """A development-mode app refuses non-testers with 'Insufficient developer role' and admits testers."""
    emulator_world.update_app(DEMO_IG_APP_ID, mode="development", testers=["demo_creator"])
    assert ig_error(authorize(client, "demo_business")) == "Insufficient developer role"
    assert authorize(client, "demo_creator").status_code == 302


def test_personal_account_cannot_complete_login(client):
    """A personal account's approval comes back as access_denied, never a code."""
    params = query_of(authorize(client, "demo_personal").headers["location"])
    assert params["error"] == "access_denied" and "code" not in params


def test_authorize_without_decision_shows_consent_page(client):
    """Without the shortcut the authorize URL is an HTML consent page naming app, account and permissions."""
    response = authorize(client, emulator_decision=None)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    for text in ("igtoken demo", "demo_business", "instagram_business_content_publish", "Allow", "Cancel"):
        assert text in response.text


def test_consent_form_post_approves(client):
    """Posting the consent form (as a browser does) redirects with a code."""
    url = authorize(client, emulator_decision=None, emulator_account=None).request.url
    response = client.post(
        str(url), data={"emulator_account": "demo_creator", "emulator_decision": "approve"}
    )
    assert response.status_code == 302 and "code" in query_of(response.headers["location"])


def test_api_host_authorize_redirects_to_www_by_default(client):
    """api.instagram.com/oauth/authorize answers 302 to www.instagram.com with the query intact."""
    response = client.get(f"{API}/oauth/authorize?client_id=1&scope=x")
    assert response.status_code == 302
    assert response.headers["location"].endswith("/www.instagram.com/oauth/authorize?client_id=1&scope=x")


def test_api_host_authorize_page_unavailable_switch(client, emulator_world):
    """With api_host_authorize=page_unavailable the old host shows 'Sorry, this page isn't available.'"""
    emulator_world.switches.set("api_host_authorize", "page_unavailable")
    response = client.get(f"{API}/oauth/authorize?client_id=1")
    assert response.status_code == 404 and "Sorry, this page isn't available." in response.text


# ---------------------------------------------------------------- E2 code exchange


def test_code_exchange_flat_shape_with_numeric_user_id(client, emulator_world):
    """Default shape is flat: IGAA… token, user_id a JSON number (app-scoped id), permissions a list."""
    response = exchange(client, get_code(client))
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("IGAA")
    assert isinstance(body["user_id"], int) and body["user_id"] > 2**53
    assert str(body["user_id"]) == emulator_world.scoped_id("880600000000001", DEMO_BUSINESS_IG_ID)
    assert body["permissions"] == ["instagram_business_basic", "instagram_business_content_publish"]
    assert '"user_id":2' in response.text  # a bare number on the wire, not a quoted string


def test_code_exchange_documented_shape_switch(client, emulator_world):
    """code_exchange_shape=documented wraps the answer in data[] with a string user_id and CSV permissions."""
    emulator_world.switches.set("code_exchange_shape", "documented")
    entry = exchange(client, get_code(client)).json()["data"][0]
    assert isinstance(entry["user_id"], str)
    assert entry["permissions"] == "instagram_business_basic,instagram_business_content_publish"


def test_code_exchange_csv_and_string_switches(client, emulator_world):
    """permissions_format=csv and user_id_type=string change the flat shape's types."""
    emulator_world.switches.update({"permissions_format": "csv", "user_id_type": "string"})
    body = exchange(client, get_code(client)).json()
    assert isinstance(body["user_id"], str) and isinstance(body["permissions"], str)


def test_code_is_single_use(client):
    """A second exchange of the same code says it has been used."""
    code = get_code(client)
    assert exchange(client, code).status_code == 200
    assert ig_error(exchange(client, code)) == "This authorization code has been used"


def test_code_reuse_documented_message_switch(client, emulator_world):
    """code_reuse_message=documented uses Meta's sample wording."""
    emulator_world.switches.set("code_reuse_message", "documented")
    code = get_code(client)
    exchange(client, code)
    assert ig_error(exchange(client, code)) == "Matching code was not found or was already used"


def test_code_expires_after_an_hour(client, emulator_clock):
    """A code older than one hour is expired."""
    code = get_code(client)
    emulator_clock.advance(3601)
    assert ig_error(exchange(client, code)) == "This authorization code has expired"


def test_code_with_fragment_attached_is_invalid(client):
    """Sending the code with '#_' still attached is 'Invalid authorization code'."""
    assert ig_error(exchange(client, get_code(client) + "#_")) == "Invalid authorization code"


def test_code_bound_to_redirect_uri(client):
    """Exchanging with another (even registered) redirect URI fails with the verification-code message."""
    message = ig_error(
        exchange(client, get_code(client), redirect_uri="http://localhost:8000/oauth/callback")
    )
    assert message.startswith("Error validating verification code")


def test_wrong_secret_gives_misleading_redirect_message(client):
    """A wrong client_secret is reported with the redirect_uri message, as Meta does."""
    assert ig_error(exchange(client, get_code(client), client_secret="nope")).startswith(
        "Error validating verification code"
    )


def test_meta_app_id_instead_of_instagram_app_id(client):
    """Using the Meta app id at the code exchange is 'Invalid platform app'."""
    assert ig_error(exchange(client, get_code(client), client_id="880600000000001")) == "Invalid platform app"


@pytest.mark.parametrize("field", ["client_id", "client_secret", "grant_type", "redirect_uri", "code"])
def test_missing_field_is_named(client, field):
    """Each missing field is named in the error."""
    assert ig_error(exchange(client, "x", **{field: None})) == f"Missing required field {field}"


def test_grant_type_must_be_authorization_code(client):
    """grant_type=refresh_token (social-core's mistake) is refused."""
    assert ig_error(exchange(client, get_code(client), grant_type="refresh_token")) == "Invalid grant_type"


def test_json_body_is_not_parsed(client):
    """A JSON body leaves every field missing, as at Meta."""
    response = client.post(f"{API}/oauth/access_token", json={"client_id": DEMO_IG_APP_ID})
    assert ig_error(response) == "Missing required field client_id"


def test_multipart_body_is_accepted(client):
    """Meta's own curl -F example (multipart) works."""
    code = get_code(client)
    files = {
        k: (None, v)
        for k, v in {
            "client_id": DEMO_IG_APP_ID,
            "client_secret": DEMO_IG_APP_SECRET,
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
            "code": code,
        }.items()
    }
    assert client.post(f"{API}/oauth/access_token", files=files).status_code == 200


def test_basic_auth_refused_on_instagram_by_default(client):
    """HTTP Basic client credentials are not read at api.instagram.com unless the switch says so."""
    code = get_code(client)
    response = client.post(
        f"{API}/oauth/access_token",
        auth=(DEMO_IG_APP_ID, DEMO_IG_APP_SECRET),
        data={"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": code},
    )
    assert ig_error(response) == "Missing required field client_id"


def test_basic_auth_accepted_with_switch_all(client, emulator_world):
    """http_basic_client_auth=all makes Basic credentials work at api.instagram.com."""
    emulator_world.switches.set("http_basic_client_auth", "all")
    code = get_code(client)
    response = client.post(
        f"{API}/oauth/access_token",
        auth=(DEMO_IG_APP_ID, DEMO_IG_APP_SECRET),
        data={"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": code},
    )
    assert response.status_code == 200


# ---------------------------------------------------------------- E3 ig_exchange_token


def test_exchange_gives_sixty_day_token(client, emulator_world):
    """ig_exchange_token answers a new bearer token with expires_in 5183944 (kind ig_long)."""
    short = short_token(client)
    body = client.get(
        f"{GRAPH_IG}/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": DEMO_IG_APP_SECRET,
            "access_token": short,
        },
    ).json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 5183944
    assert body["access_token"] != short and emulator_world.tokens[body["access_token"]].kind == "ig_long"


def test_exchange_wrong_secret_is_code_100(client):
    """A wrong client_secret at ig_exchange_token is code 100 'Error validating client secret.'"""
    response = client.get(
        f"{GRAPH_IG}/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": "nope",
            "access_token": short_token(client),
        },
    )
    assert response.status_code == 400
    assert (
        graph_error(response)["code"] == 100
        and graph_error(response)["message"] == "Error validating client secret."
    )


def test_exchange_expired_short_token_is_190_463(client, emulator_clock):
    """A short-lived token lasts one hour; after that exchange fails with 190/463."""
    short = short_token(client)
    emulator_clock.advance(3600)
    error = graph_error(
        client.get(
            f"{GRAPH_IG}/access_token",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": DEMO_IG_APP_SECRET,
                "access_token": short,
            },
        )
    )
    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert error["message"].startswith("Error validating access token: Session has expired on ")


def test_exchange_wrong_grant_type(client):
    """grant_type must be ig_exchange_token."""
    error = graph_error(
        client.get(f"{GRAPH_IG}/access_token", params={"grant_type": "x", "access_token": "y"})
    )
    assert error["code"] == 100


def test_exchange_facebook_token_cannot_be_parsed(client):
    """An EAA… token on graph.instagram.com is 190 'Cannot parse access token'."""
    error = graph_error(
        client.get(
            f"{GRAPH_IG}/access_token",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": DEMO_IG_APP_SECRET,
                "access_token": "EAAnope",
            },
        )
    )
    assert error["code"] == 190 and "Cannot parse access token" in error["message"]


# ---------------------------------------------------------------- E4 refresh


def refresh(client, token, method="GET"):
    return client.request(
        method,
        f"{GRAPH_IG}/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": token},
    )


def test_refresh_after_a_day_gives_new_token_and_sixty_days(client, emulator_clock, emulator_world):
    """At 24 h or older, refresh returns a new string valid 60 days from now; the old one stays valid."""
    old = long_token(client)
    emulator_clock.advance(DAY)
    body = refresh(client, old).json()
    assert body["access_token"] != old and body["expires_in"] == 5183944
    new = emulator_world.tokens[body["access_token"]]
    assert new.expires_at == emulator_clock.timestamp() + 5183944
    assert client.get(f"{GRAPH_IG}/me", params={"access_token": old}).status_code == 200


def test_refresh_under_a_day_is_a_noop(client, emulator_clock):
    """Before 24 h the default is a no-op: same token, expires_in = what remains."""
    old = long_token(client)
    emulator_clock.advance(3600)
    body = refresh(client, old).json()
    assert body["access_token"] == old and body["expires_in"] == 5183944 - 3600


def test_refresh_under_a_day_error_switch(client, emulator_clock, emulator_world):
    """refresh_under_24h=error answers code 100 instead."""
    emulator_world.switches.set("refresh_under_24h", "error")
    response = refresh(client, long_token(client))
    assert response.status_code == 400 and graph_error(response)["code"] == 100


def test_refresh_same_string_switch(client, emulator_clock, emulator_world):
    """refresh_new_string=false extends the same string's life."""
    emulator_world.switches.set("refresh_new_string", "false")
    old = long_token(client)
    emulator_clock.advance(2 * DAY)
    assert refresh(client, old).json()["access_token"] == old
    assert emulator_world.tokens[old].expires_at == emulator_clock.timestamp() + 5183944


def test_old_token_revoked_after_refresh_switch(client, emulator_clock, emulator_world):
    """old_token_after_refresh=revoked kills the previous string (190)."""
    emulator_world.switches.set("old_token_after_refresh", "revoked")
    old = long_token(client)
    emulator_clock.advance(DAY)
    assert refresh(client, old).status_code == 200
    assert graph_error(client.get(f"{GRAPH_IG}/me", params={"access_token": old}))["code"] == 190


def test_refresh_of_expired_token_is_190_463(client, emulator_clock):
    """An expired long-lived token cannot be refreshed: 190/463."""
    old = long_token(client)
    emulator_clock.advance(61 * DAY)
    error = graph_error(refresh(client, old))
    assert (error["code"], error["error_subcode"]) == (190, 463)


def test_refresh_just_before_expiry_works(client, emulator_clock):
    """A token refreshed a minute before expiry is good for 60 more days."""
    old = long_token(client)
    emulator_clock.advance(5183944 - 60)
    new = refresh(client, old).json()["access_token"]
    emulator_clock.advance(30 * DAY)
    assert client.get(f"{GRAPH_IG}/me", params={"access_token": new}).status_code == 200


def test_refresh_short_token_is_invalid_parameter(client):
    """A short-lived token cannot be refreshed (code 100)."""
    assert graph_error(refresh(client, short_token(client)))["code"] == 100


def test_refresh_needs_business_basic(client, emulator_world, emulator_clock):
    """A token without instagram_business_basic cannot be refreshed (code 10)."""
    token = emulator_world.mint_token(
        DEMO_IG_APP_ID,
        "ig_long",
        "demo_business",
        scopes=["instagram_business_content_publish"],
        issued_at=emulator_clock.timestamp() - 2 * DAY,
    )
    assert graph_error(refresh(client, token.value))["code"] == 10


def test_refresh_post_is_unsupported(client):
    """Refresh is GET only."""
    error = graph_error(refresh(client, long_token(client), method="POST"))
    assert error["code"] == 100 and "method type: post" in error["message"]


def test_refresh_counts_from_last_refresh(client, emulator_clock, emulator_world):
    """With refresh_new_string=false, a second refresh inside 24 h of the first is a no-op."""
    emulator_world.switches.set("refresh_new_string", "false")
    token = long_token(client)
    emulator_clock.advance(DAY)
    refresh(client, token)
    emulator_clock.advance(3600)
    assert refresh(client, token).json()["expires_in"] == 5183944 - 3600


def test_error_status_190_switch(client, emulator_world):
    """error_status_190=401 changes only the HTTP status of 190 errors."""
    emulator_world.switches.set("error_status_190", "401")
    response = client.get(f"{GRAPH_IG}/me", params={"access_token": "IGAAgarbage"})
    assert response.status_code == 401 and graph_error(response)["code"] == 190


# ---------------------------------------------------------------- revocation


def test_password_change_is_190_460(client, emulator_world):
    """After a password change, earlier tokens answer 190/460."""
    token = long_token(client)
    emulator_world.change_password("demo_business")
    error = graph_error(client.get(f"{GRAPH_IG}/me", params={"access_token": token}))
    assert (error["code"], error["error_subcode"]) == (190, 460)
    assert "changed their password" in error["message"]


def test_app_removed_is_190_458_until_next_login(client, emulator_world):
    """After the person removes the app, tokens answer 190/458; a new login works again."""
    token = long_token(client)
    emulator_world.remove_app(DEMO_IG_APP_ID, DEMO_BUSINESS_IG_ID)
    error = graph_error(client.get(f"{GRAPH_IG}/me", params={"access_token": token}))
    assert (error["code"], error["error_subcode"]) == (190, 458)
    fresh = long_token(client)
    assert client.get(f"{GRAPH_IG}/me", params={"access_token": fresh}).status_code == 200


def test_revoked_token_is_190(client, emulator_world):
    """An explicitly revoked token answers 190 with the chosen subcode."""
    token = long_token(client)
    emulator_world.revoke_token(token, 467)
    assert graph_error(client.get(f"{GRAPH_IG}/me", params={"access_token": token}))["error_subcode"] == 467


# ---------------------------------------------------------------- E5, E6 profile and media


def test_me_fields_and_ids_are_strings(client):
    """/me returns requested fields, ids as strings, account_type upper-case, id always present."""
    body = client.get(
        f"{GRAPH_IG}/v25.0/me",
        params={"fields": "user_id,username,account_type,media_count", "access_token": long_token(client)},
    ).json()
    assert body["user_id"] == DEMO_BUSINESS_IG_ID and body["username"] == "demo_business"
    assert body["account_type"] == "BUSINESS" and body["media_count"] == 30
    assert isinstance(body["id"], str) and body["id"] != DEMO_BUSINESS_IG_ID


def test_me_default_fields_is_id(client):
    """Without fields, /me answers only id."""
    body = client.get(f"{GRAPH_IG}/me", params={"access_token": long_token(client)}).json()
    assert list(body) == ["id"]


@pytest.mark.parametrize("fields", [["id, username"], ["id", "username"], ["id,username,"]])
def test_me_fields_tolerant_forms(client, fields):
    """fields as 'a, b', repeated keys or with a trailing comma all work."""
    token = long_token(client)
    body = client.get(
        f"{GRAPH_IG}/me", params=[("fields", f) for f in fields] + [("access_token", token)]
    ).json()
    assert body["username"] == "demo_business"


def test_me_with_bearer_header(client):
    """The token may come as Authorization: Bearer."""
    response = client.get(
        f"{GRAPH_IG}/me?fields=username", headers={"Authorization": f"Bearer {long_token(client)}"}
    )
    assert response.json()["username"] == "demo_business"


def test_me_query_token_wins_over_header(client):
    """When query and header disagree, the query's access_token is used."""
    token = long_token(client)
    response = client.get(
        f"{GRAPH_IG}/me", params={"access_token": token}, headers={"Authorization": "Bearer IGAAgarbage"}
    )
    assert response.status_code == 200


def test_me_without_token_is_2500(client):
    """No token at all is code 2500."""
    assert graph_error(client.get(f"{GRAPH_IG}/me"))["code"] == 2500


def test_me_unknown_field_is_100(client):
    """An unknown field is '(#100) Tried accessing nonexisting field'."""
    error = graph_error(
        client.get(f"{GRAPH_IG}/me", params={"fields": "email", "access_token": long_token(client)})
    )
    assert error["code"] == 100 and "nonexisting field (email)" in error["message"]


def test_user_node_by_both_ids(client, emulator_world):
    """/{id} works with the app-scoped id and the IG professional id, not with another account's id."""
    token = long_token(client)
    scoped = client.get(f"{GRAPH_IG}/me", params={"access_token": token}).json()["id"]
    for node in (scoped, DEMO_BUSINESS_IG_ID):
        assert client.get(f"{GRAPH_IG}/{node}", params={"access_token": token}).json()["id"] == scoped
    other = client.get(f"{GRAPH_IG}/17841400000000002", params={"access_token": token})
    assert graph_error(other)["code"] == 100


def test_media_paging_follows_next(client):
    """Media pages by limit/after, and paging.next carries access_token and leads to the next page."""
    token = long_token(client)
    seen = []
    url = f"{GRAPH_IG}/me/media?fields=id,caption&limit=7"
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    while True:
        body = response.json()
        seen += [item["id"] for item in body["data"]]
        nxt = body.get("paging", {}).get("next")
        if not nxt:
            break
        assert "access_token=" in nxt
        response = client.get(nxt)
    assert len(seen) == 30 == len(set(seen))
    assert all(isinstance(i, str) for i in seen)


def test_media_node_readable(client):
    """A media id from the list is readable as a node."""
    token = long_token(client)
    media_id = client.get(f"{GRAPH_IG}/{DEMO_BUSINESS_IG_ID}/media", params={"access_token": token}).json()[
        "data"
    ][0]["id"]
    body = client.get(
        f"{GRAPH_IG}/{media_id}", params={"access_token": token, "fields": "id,media_type"}
    ).json()
    assert body == {"id": media_id, "media_type": "IMAGE"}


ALL_MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,permalink,thumbnail_url,timestamp,username,"
    "shortcode,ig_id,is_comment_enabled,is_shared_to_feed,like_count,comments_count,alt_text,owner,"
    "children{id,media_type,media_url,thumbnail_url,timestamp,username,shortcode,ig_id,owner,alt_text}"
)


def test_media_list_with_children_ig_id_and_shortcode(client):
    """The issue-18 request answers 200: albums expand their items, other media have no children."""
    token = long_token(client)
    response = client.get(
        f"{GRAPH_IG}/me/media",
        params={
            "fields": "id,caption,children{media_url},ig_id,shortcode",
            "access_token": token,
            "limit": 30,
        },
    )
    assert response.status_code == 200, response.text
    items = response.json()["data"]
    albums = [m for m in items if "children" in m]
    assert len(albums) == 6  # every fifth post of the 30
    for album in albums:
        children = album["children"]["data"]
        assert 2 <= len(children) <= 4
        assert all(set(c) == {"id", "media_url"} for c in children)
        assert children[1]["media_url"].endswith(".mp4") and children[0]["media_url"].endswith(".jpg")
    for item in items:
        assert set(item) <= {"id", "caption", "children", "ig_id", "shortcode"}
        assert item["caption"] and item["ig_id"].endswith("_1") and len(item["shortcode"]) == 11
    assert len({m["shortcode"] for m in items}) == 30


def test_media_fields_follow_the_media_type(client):
    """Every IG Media field is accepted; each answer carries the ones that apply to its type."""
    token = long_token(client)
    response = client.get(
        f"{GRAPH_IG}/me/media", params={"fields": ALL_MEDIA_FIELDS, "access_token": token, "limit": 30}
    )
    assert response.status_code == 200, response.text
    by_type: dict[tuple[str, str], dict] = {}
    for item in response.json()["data"]:
        by_type.setdefault((item["media_type"], item["media_product_type"]), item)
    assert set(by_type) == {("IMAGE", "FEED"), ("VIDEO", "REELS"), ("CAROUSEL_ALBUM", "FEED")}
    common = {"id", "caption", "media_type", "media_product_type", "media_url", "permalink", "timestamp"}
    common |= {
        "username",
        "shortcode",
        "ig_id",
        "is_comment_enabled",
        "like_count",
        "comments_count",
        "owner",
    }
    photo, reel, album = (
        by_type["IMAGE", "FEED"],
        by_type["VIDEO", "REELS"],
        by_type["CAROUSEL_ALBUM", "FEED"],
    )
    assert set(photo) == common | {"alt_text"}
    assert set(reel) == common | {"thumbnail_url", "is_shared_to_feed"}
    assert set(album) == common | {"children"}
    assert photo["permalink"] == f"https://www.instagram.com/p/{photo['shortcode']}/"
    assert reel["permalink"] == f"https://www.instagram.com/reel/{reel['shortcode']}/"
    assert photo["owner"] == {"id": DEMO_BUSINESS_IG_ID} and photo["username"] == "demo_business"
    assert isinstance(reel["is_shared_to_feed"], bool) and isinstance(photo["like_count"], int)
    first, second = album["children"]["data"][:2]
    assert album["media_url"] == first["media_url"] and first["alt_text"] and "thumbnail_url" not in first
    assert second["media_type"] == "VIDEO" and second["thumbnail_url"] and "alt_text" not in second
    for child in album["children"]["data"]:
        assert child["timestamp"] == album["timestamp"] and child["owner"] == album["owner"]
    timestamps = [item["timestamp"] for item in response.json()["data"]]
    assert timestamps == sorted(timestamps, reverse=True)  # newest first


def test_album_items_are_nodes_without_post_fields(client):
    """An album item's id is readable; caption, permalink and counts belong to the album, not the item."""
    token = long_token(client)
    albums = [
        m
        for m in client.get(
            f"{GRAPH_IG}/me/media", params={"fields": "children", "access_token": token, "limit": 10}
        ).json()["data"]
        if "children" in m
    ]
    child_id = albums[0]["children"]["data"][0]["id"]
    assert set(albums[0]["children"]["data"][0]) == {"id"}  # plain `children` lists ids
    body = client.get(
        f"{GRAPH_IG}/{child_id}",
        params={"access_token": token, "fields": "id,media_type,caption,permalink,like_count,children"},
    ).json()
    assert body == {"id": child_id, "media_type": "IMAGE"}


@pytest.mark.parametrize("fields", ["id,shortcodes", "children{nope}", "caption{id}", "owner{email}"])
def test_media_unknown_field_is_100(client, fields):
    """An unknown field, or an expansion of a field that is not an edge, is error 100 on IGMedia."""
    response = client.get(
        f"{GRAPH_IG}/me/media", params={"fields": fields, "access_token": long_token(client)}
    )
    error = graph_error(response)
    assert error["code"] == 100 and "Tried accessing nonexisting field" in error["message"]


def test_media_owner_expands_to_the_user(client):
    """``owner{username}`` names the account (the token's own media, so the owner is returned)."""
    token = long_token(client)
    item = client.get(
        f"{GRAPH_IG}/me/media", params={"fields": "owner{username}", "access_token": token, "limit": 1}
    ).json()["data"][0]
    assert item["owner"] == {"username": "demo_business", "id": DEMO_BUSINESS_IG_ID}


def test_usage_header_on_graph_instagram(client, emulator_world):
    """graph.instagram.com answers carry x-business-use-case-usage keyed by the IG id; switch turns it off."""
    token = long_token(client)
    response = client.get(f"{GRAPH_IG}/me", params={"access_token": token})
    usage = response.headers["x-business-use-case-usage"]
    assert DEMO_BUSINESS_IG_ID in usage and '"type":"instagram"' in usage
    emulator_world.switches.set("emit_usage_headers", "false")
    assert (
        "x-business-use-case-usage"
        not in client.get(f"{GRAPH_IG}/me", params={"access_token": token}).headers
    )


def test_throttling_after_limit(client, emulator_world):
    """Past the per-hour call limit, calls answer 80002 with a wait hint in minutes."""
    emulator_world.update_app(DEMO_IG_APP_ID, call_limit_per_hour=3)
    token = long_token(client)
    statuses = [client.get(f"{GRAPH_IG}/me", params={"access_token": token}) for _ in range(4)]
    error = graph_error(statuses[-1])
    assert error["code"] == 80002
    assert '"estimated_time_to_regain_access":' in statuses[-1].headers["x-business-use-case-usage"]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
