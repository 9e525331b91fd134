"""Host routing (prefix, Host header, guess), versions, trailing slashes, and the package's independence."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import igtoken.emulator
from igtoken.emulator.demo import DEMO_FB_APP_ID, DEMO_FB_APP_SECRET
from tests.support.emulator_flows import GRAPH_IG, long_token


def test_real_meta_urls_route_by_host_header(client):
    """Requests for https://graph.instagram.com/... reach the right virtual host by Host header."""
    token = long_token(client)
    response = client.get(
        "https://graph.instagram.com/v24.0/me", params={"access_token": token, "fields": "username"}
    )
    assert response.json()["username"] == "demo_business"


def test_x_forwarded_host_routes(client):
    """X-Forwarded-Host names the host when the client was pointed at the loopback address."""
    token = long_token(client)
    response = client.get(
        "/me", params={"access_token": token}, headers={"X-Forwarded-Host": "graph.instagram.com"}
    )
    assert response.status_code == 200 and response.json()["id"]


@pytest.mark.parametrize(
    "path",
    [
        "/refresh_access_token",
        "/v26.0/refresh_access_token/",
        "/graph.instagram.com/v21.0/refresh_access_token/",
    ],
)
def test_versioned_unversioned_and_trailing_slash(client, emulator_clock, path):
    """Versioned and unversioned paths, with or without a trailing slash, reach the same endpoint."""
    token = long_token(client)
    response = client.get(path, params={"grant_type": "ig_refresh_token", "access_token": token})
    assert response.status_code == 200, response.text


def test_bare_oauth_access_token_is_told_apart_by_client_id(client):
    """On a bare loopback path, /oauth/access_token goes to graph.facebook.com for a Meta app id."""
    response = client.get(
        "/oauth/access_token",
        params={
            "grant_type": "client_credentials",
            "client_id": DEMO_FB_APP_ID,
            "client_secret": DEMO_FB_APP_SECRET,
        },
    )
    assert response.json()["access_token"].startswith(DEMO_FB_APP_ID + "|")


def test_unknown_graph_node(client):
    """An unknown path on a Graph host is 'Unsupported get request' (100/33, GraphMethodException)."""
    error = client.get(f"{GRAPH_IG}/oauth/access_token", params={"grant_type": "ig_exchange_token"}).json()[
        "error"
    ]
    assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")


def test_index_describes_the_emulator(client):
    """GET / on the bare address tells what this is and where the control API lives."""
    body = client.get("/").json()
    assert body["control"] == "/_emulator/world" and "graph.instagram.com" in body["hosts"]


def test_json_content_type_everywhere(client):
    """Graph answers, errors included, are application/json."""
    assert client.get(f"{GRAPH_IG}/me").headers["content-type"].startswith("application/json")


async def test_async_asgi_transport_with_real_urls(emulator_async):
    """httpx.AsyncClient on ASGITransport reaches the emulator with real Meta URLs."""
    response = await emulator_async.get("https://graph.instagram.com/me")
    assert response.json()["error"]["code"] == 2500


def test_loopback_server(emulator_url):
    """run_emulator_on_loopback serves on 127.0.0.1 with path prefixes."""
    assert emulator_url.startswith("http://127.0.0.1:")
    body = httpx.get(f"{emulator_url}/_emulator/world").json()
    assert body["apps"] and emulator_url.world.clock is emulator_url.clock


def test_emulator_imports_nothing_else_from_igtoken():
    """igtoken.emulator imports only the standard library, Starlette and itself (no shared bugs)."""
    root = Path(igtoken.emulator.__file__).parent
    allowed_third_party = {"starlette"}
    import sys

    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top == "igtoken":
                    assert name.startswith("igtoken.emulator"), f"{path.name} imports {name}"
                else:
                    assert (
                        top in sys.stdlib_module_names or top in allowed_third_party or top == "__future__"
                    ), f"{path.name} imports {name}"


def test_every_switch_is_documented():
    """docs/emulator.md names every switch with every value."""
    from igtoken.emulator.switches import SWITCHES

    text = (Path(__file__).parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")
    for spec in SWITCHES:
        assert f"`{spec.name}`" in text
        for value in spec.values:
            assert f"`{value}`" in text
