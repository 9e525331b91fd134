"""Real third-party clients drive the emulator on loopback (recipes from third-party-clients.md).

Each client is used unmodified, pointed at the path-prefix base URLs; the harness plays the browser
by adding the consent shortcut to the authorize URL the client built.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from igtoken.emulator.demo import (
    DEMO_BUSINESS_IG_ID,
    DEMO_FB_APP_ID,
    DEMO_FB_APP_SECRET,
    DEMO_IG_APP_ID,
    DEMO_IG_APP_SECRET,
    DEMO_PAGE_LINKED_ID,
    DEMO_REDIRECT_URIS,
)

REDIRECT = DEMO_REDIRECT_URIS[0]
DAY = 86400


@pytest.fixture(autouse=True)
def _oauthlib_allows_loopback_http(monkeypatch):
    """oauthlib refuses http:// unless told otherwise (third-party-clients.md §1.15)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def bases(emulator_url):
    return {
        "ig_api": emulator_url.host_url("api.instagram.com"),
        "ig_graph": emulator_url.host_url("graph.instagram.com"),
        "fb_graph": emulator_url.host_url("graph.facebook.com"),
        "www_fb": emulator_url.host_url("www.facebook.com"),
    }


def consent(url: str, account: str) -> str:
    """Play the browser: approve by shortcut, follow the emulator's redirects, return the callback URL."""
    url += f"&emulator_account={account}&emulator_decision=approve"
    for _ in range(5):
        location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
        if location.startswith(REDIRECT):
            return location
        url = location
    raise AssertionError("no redirect to the callback")


def test_pyfacebook_instagram_login(bases, emulator_url):
    """pyfacebook's IGBasicDisplayApi completes authorize, code exchange, long-lived, refresh and /me."""
    from pyfacebook import IGBasicDisplayApi

    ig = IGBasicDisplayApi(
        app_id=DEMO_IG_APP_ID,
        app_secret=DEMO_IG_APP_SECRET,
        oauth_flow=True,
        base_url=bases["ig_graph"] + "/",
        authorization_url=bases["ig_api"] + "/oauth/authorize",
        access_token_url=bases["ig_api"] + "/oauth/access_token",
    )
    url, _ = ig.get_authorization_url(redirect_uri=REDIRECT, scope=["instagram_business_basic"])
    callback = consent(url, "demo_business")
    short = ig.exchange_user_access_token(response=callback, redirect_uri=REDIRECT)
    assert short["access_token"].startswith("IGAA")
    long_ = ig.exchange_long_lived_user_access_token()
    emulator_url.clock.advance(DAY)
    fresh = ig.refresh_access_token(long_["access_token"])
    assert fresh["access_token"] != long_["access_token"] and fresh["expires_in"] == 5183944
    ig.access_token = fresh["access_token"]
    me = ig.user.get_info(return_json=True)
    assert me["username"] == "demo_business" and me["account_type"] == "BUSINESS"
    # Its default media request (IG_BASIC_MEDIA_FIELDS), parsed into its own dataclasses.
    media = ig.user.get_media(count=12, limit=5)
    assert len(media.data) == 12 and {m.media_type for m in media.data} == {
        "IMAGE",
        "VIDEO",
        "CAROUSEL_ALBUM",
    }
    assert all(m.permalink and m.timestamp and m.username == "demo_business" for m in media.data)


def test_pyfacebook_facebook_login(bases, emulator_url):
    """pyfacebook FacebookApi (HTTP Basic code exchange), app token, debug_token, Pages, IGBusinessApi."""
    from pyfacebook import FacebookApi, IGBusinessApi

    fb = FacebookApi(
        app_id=DEMO_FB_APP_ID,
        app_secret=DEMO_FB_APP_SECRET,
        oauth_flow=True,
        version="v24.0",
        base_url=bases["fb_graph"] + "/",
        authorization_url=bases["fb_graph"] + "/v24.0/dialog/oauth",
        access_token_url=bases["fb_graph"] + "/v24.0/oauth/access_token",
    )
    url, _ = fb.get_authorization_url(redirect_uri=REDIRECT, url_kwargs={"config_id": "987654321"})
    fb.exchange_user_access_token(response=consent(url, "demo_fb_user"), redirect_uri=REDIRECT)
    ll = fb.exchange_long_lived_user_access_token()
    fb.access_token = ll["access_token"]
    app = fb.get_app_token()
    info = fb.debug_token(input_token=ll["access_token"], access_token=app["access_token"])
    assert info["data"]["is_valid"] and info["data"]["app_id"] == DEMO_FB_APP_ID
    pages = fb.user.get_accounts(
        user_id="me", return_json=True, fields="id,name,access_token,instagram_business_account"
    )
    assert DEMO_PAGE_LINKED_ID in [p["id"] for p in pages["data"]]
    page = fb.page.get_info(
        page_id=DEMO_PAGE_LINKED_ID, fields="instagram_business_account", return_json=True
    )
    ig_id = page["instagram_business_account"]["id"]
    assert ig_id == DEMO_BUSINESS_IG_ID
    igb = IGBusinessApi(
        access_token=ll["access_token"],
        app_secret=DEMO_FB_APP_SECRET,
        base_url=bases["fb_graph"] + "/",
        instagram_business_id=ig_id,
    )
    assert igb.user.get_info(return_json=True)["username"] == "demo_business"
    # IGBusinessApi's default media fields expand album items: children{id,media_type,media_url,…}.
    media = igb.user.get_media()
    assert len(media.data) == 10
    albums = [m for m in media.data if m.media_type == "CAROUSEL_ALBUM"]
    assert albums and all(m.children is not None and len(m.children.data) >= 2 for m in albums)
    assert all(c.media_url and c.shortcode and c.timestamp for m in albums for c in m.children.data)
    assert all(m.children is None for m in media.data if m.media_type != "CAROUSEL_ALBUM")
    logged = requests.get(
        f"{emulator_url}/_emulator/requests", params={"endpoint": "fb_ig_media"}, timeout=10
    )
    assert (
        "children{id,media_type,media_url,permalink,shortcode"
        in logged.json()["requests"][0]["query"]["fields"]
    )
    album = igb.media.get_info(media_id=albums[0].id)
    assert album.id == albums[0].id and album.children.data[0].id == albums[0].children.data[0].id


def test_requests_oauthlib_both_products(bases, emulator_url):
    """requests-oauthlib: IG fetch_token (client id in body), ig_* grants, Bearer /me; FB with Basic auth."""
    from requests_oauthlib import OAuth2Session
    from requests_oauthlib.compliance_fixes import facebook_compliance_fix

    ig = OAuth2Session(DEMO_IG_APP_ID, redirect_uri=REDIRECT, scope=["instagram_business_basic"])
    url, _ = ig.authorization_url(bases["ig_api"] + "/oauth/authorize")
    tok = ig.fetch_token(
        bases["ig_api"] + "/oauth/access_token",
        client_secret=DEMO_IG_APP_SECRET,
        authorization_response=consent(url, "demo_creator"),
        include_client_id=True,
    )
    ll = requests.get(
        bases["ig_graph"] + "/access_token",
        timeout=10,
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": DEMO_IG_APP_SECRET,
            "access_token": tok["access_token"],
        },
    ).json()
    emulator_url.clock.advance(DAY)
    new = requests.get(
        bases["ig_graph"] + "/refresh_access_token",
        timeout=10,
        params={"grant_type": "ig_refresh_token", "access_token": ll["access_token"]},
    ).json()
    ig.token = {"access_token": new["access_token"], "token_type": "Bearer"}
    me = ig.get(bases["ig_graph"] + "/me", params={"fields": "id,username"}).json()
    assert me["username"] == "demo_creator"

    fb = facebook_compliance_fix(
        OAuth2Session(DEMO_FB_APP_ID, redirect_uri=REDIRECT, scope=["pages_show_list"])
    )
    url, _ = fb.authorization_url(bases["fb_graph"] + "/v24.0/dialog/oauth")
    fb.fetch_token(
        bases["fb_graph"] + "/v24.0/oauth/access_token",
        client_secret=DEMO_FB_APP_SECRET,
        authorization_response=consent(url, "demo_fb_user"),
    )
    assert fb.get(bases["fb_graph"] + "/v24.0/me").json()["name"] == "Demo Facebook User"


def test_requests_oauthlib_default_basic_auth_refused_by_instagram(bases):
    """requests-oauthlib's default (HTTP Basic, no client_id in body) fails at api.instagram.com."""
    from oauthlib.oauth2.rfc6749.errors import MissingTokenError
    from requests_oauthlib import OAuth2Session

    ig = OAuth2Session(DEMO_IG_APP_ID, redirect_uri=REDIRECT, scope=["instagram_business_basic"])
    url, _ = ig.authorization_url(bases["ig_api"] + "/oauth/authorize")
    with pytest.raises(MissingTokenError):
        ig.fetch_token(
            bases["ig_api"] + "/oauth/access_token",
            client_secret=DEMO_IG_APP_SECRET,
            authorization_response=consent(url, "demo_business"),
        )


def test_authlib_both_products(bases, emulator_url):
    """Authlib (client_secret_post): IG code, exchange, refresh, Bearer /me; FB code and fb_exchange_token."""
    from authlib.integrations.requests_client import OAuth2Session

    s = OAuth2Session(
        DEMO_IG_APP_ID,
        DEMO_IG_APP_SECRET,
        scope="instagram_business_basic",
        redirect_uri=REDIRECT,
        token_endpoint_auth_method="client_secret_post",
    )
    url, _ = s.create_authorization_url(bases["ig_api"] + "/oauth/authorize")
    tok = s.fetch_token(
        bases["ig_api"] + "/oauth/access_token",
        authorization_response=consent(url, "demo_business").split("#")[0],
    )
    ll = s.get(
        bases["ig_graph"] + "/access_token",
        withhold_token=True,
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": DEMO_IG_APP_SECRET,
            "access_token": tok["access_token"],
        },
    ).json()
    emulator_url.clock.advance(DAY)
    new = s.get(
        bases["ig_graph"] + "/refresh_access_token",
        withhold_token=True,
        params={"grant_type": "ig_refresh_token", "access_token": ll["access_token"]},
    ).json()
    s.token = {"access_token": new["access_token"], "token_type": "bearer"}
    assert (
        s.get(bases["ig_graph"] + "/me", params={"fields": "id,username"}).json()["username"]
        == "demo_business"
    )

    fb = OAuth2Session(
        DEMO_FB_APP_ID,
        DEMO_FB_APP_SECRET,
        redirect_uri=REDIRECT,
        scope="pages_show_list",
        token_endpoint_auth_method="client_secret_post",
    )
    url, _ = fb.create_authorization_url(bases["fb_graph"] + "/v24.0/dialog/oauth")
    short = fb.fetch_token(
        bases["fb_graph"] + "/v24.0/oauth/access_token",
        authorization_response=consent(url, "demo_fb_user").split("#")[0],
    )
    ll = fb.fetch_token(
        bases["fb_graph"] + "/v24.0/oauth/access_token",
        method="GET",
        auth=lambda r: r,
        grant_type="fb_exchange_token",
        fb_exchange_token=short["access_token"],
        client_id=DEMO_FB_APP_ID,
        client_secret=DEMO_FB_APP_SECRET,
    )
    assert ll["access_token"] != short["access_token"] and urlsplit(bases["fb_graph"]).hostname == "127.0.0.1"


def test_authlib_trips_on_meta_fragment(bases):
    """Authlib takes a callback URL ending in Instagram's '#_' for an implicit grant and fails."""
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc6749.errors import MissingTokenException

    s = OAuth2Session(
        DEMO_IG_APP_ID,
        DEMO_IG_APP_SECRET,
        scope="instagram_business_basic",
        redirect_uri=REDIRECT,
        token_endpoint_auth_method="client_secret_post",
    )
    url, _ = s.create_authorization_url(bases["ig_api"] + "/oauth/authorize")
    with pytest.raises(MissingTokenException):
        s.fetch_token(
            bases["ig_api"] + "/oauth/access_token", authorization_response=consent(url, "demo_business")
        )
