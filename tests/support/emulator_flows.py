"""Walk the emulator's OAuth steps by hand: authorize, code, short and long token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from igtoken.emulator.demo import DEMO_IG_APP_ID, DEMO_IG_APP_SECRET, DEMO_REDIRECT_URIS

REDIRECT = DEMO_REDIRECT_URIS[0]
IG = "/www.instagram.com"
API = "/api.instagram.com"
GRAPH_IG = "/graph.instagram.com"
WWW_FB = "/www.facebook.com"
GRAPH_FB = "/graph.facebook.com"


def query_of(location: str) -> dict[str, str]:
    """The query of a redirect Location, one value per key."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(
    client: httpx.Client, account: str = "demo_business", decision: str = "approve", **over: str | None
) -> httpx.Response:
    """Hit the Instagram authorize URL with the test shortcut."""
    params: dict[str, str | None] = {
        "client_id": DEMO_IG_APP_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "instagram_business_basic,instagram_business_content_publish",
        "state": "st4te",
        "emulator_account": account,
        "emulator_decision": decision,
    }
    params.update(over)
    return client.get(f"{IG}/oauth/authorize", params={k: v for k, v in params.items() if v is not None})


def get_code(client: httpx.Client, account: str = "demo_business", **over: str | None) -> str:
    """A fresh Instagram authorization code for ``account``."""
    response = authorize(client, account, "approve", **over)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["code"]


def exchange(client: httpx.Client, the_code: str, **over: str | None) -> httpx.Response:
    """POST the code to api.instagram.com."""
    form: dict[str, str | None] = {
        "client_id": DEMO_IG_APP_ID,
        "client_secret": DEMO_IG_APP_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": the_code,
    }
    form.update(over)
    return client.post(f"{API}/oauth/access_token", data={k: v for k, v in form.items() if v is not None})


def short_token(client: httpx.Client, account: str = "demo_business") -> str:
    """A short-lived Instagram token through the real flow."""
    response = exchange(client, get_code(client, account))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def long_token(client: httpx.Client, account: str = "demo_business") -> str:
    """A long-lived Instagram token through the real flow."""
    response = client.get(
        f"{GRAPH_IG}/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": DEMO_IG_APP_SECRET,
            "access_token": short_token(client, account),
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
