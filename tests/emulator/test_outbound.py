"""Outbound calls (docs/emulator.md O1–O4): deauthorize, data deletion, webhook verification and events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from igtoken.emulator.demo import DEMO_IG_APP_ID, DEMO_IG_APP_SECRET, DEMO_WEBHOOK_VERIFY_TOKEN
from tests.support.emulator_flows import GRAPH_IG, long_token


class Receiver:
    """A tiny app backend on loopback that records what Meta sends and answers as configured."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.deletion_reply: tuple[int, bytes] = (
            200,
            b'{"url":"https://app.example/del/1","confirmation_code":"abc123"}',
        )
        self.verify_token = DEMO_WEBHOOK_VERIFY_TOKEN


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, status, body, ctype="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            state.calls.append({"method": "GET", "path": self.path, "query": query})
            if query.get("hub.verify_token") == state.verify_token:
                self._reply(200, query["hub.challenge"].encode())
            else:
                self._reply(403, b"forbidden")

        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append(
                {"method": "POST", "path": self.path, "raw": raw, "headers": dict(self.headers)}
            )
            if self.path.startswith("/deletion"):
                self._reply(state.deletion_reply[0], state.deletion_reply[1], "application/json")
            else:
                self._reply(200, b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def decode_signed(signed: str, secret: str) -> dict:
    sig, payload = signed.split(".")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)) == expected
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def wired(receiver, emulator_world):
    state, base = receiver
    emulator_world.update_app(
        DEMO_IG_APP_ID,
        deauthorize_url=f"{base}/deauth",
        data_deletion_url=f"{base}/deletion",
        webhook_url=f"{base}/webhook",
    )
    return state


def test_deauthorize_posts_signed_request_and_revokes(client, wired, emulator_world):
    """Deauthorize POSTs a signed_request signed with the Instagram app secret; tokens then answer 190/458."""
    token = long_token(client)
    result = client.post(
        "/_emulator/accounts/demo_business/deauthorize", json={"app_id": DEMO_IG_APP_ID}
    ).json()
    assert result["ok"] is True and result["status"] == 200
    call = wired.calls[-1]
    assert call["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    payload = decode_signed(parse_qs(call["raw"].decode())["signed_request"][0], DEMO_IG_APP_SECRET)
    me = client.get(f"{GRAPH_IG}/me", params={"access_token": token}).json()
    scoped = emulator_world.scoped_id("880600000000001", "17841400000000001")
    assert payload["algorithm"] == "HMAC-SHA256" and payload["user_id"] == scoped
    assert me["error"]["error_subcode"] == 458


def test_data_deletion_checks_reply(client, wired):
    """Data deletion sends expires+issued_at and accepts a {url, confirmation_code} reply."""
    result = client.post(
        "/_emulator/accounts/demo_business/data-deletion", json={"app_id": DEMO_IG_APP_ID}
    ).json()
    assert result["ok"] is True and result["confirmation_code"] == "abc123"
    payload = decode_signed(
        parse_qs(wired.calls[-1]["raw"].decode())["signed_request"][0], DEMO_IG_APP_SECRET
    )
    assert payload["expires"] > payload["issued_at"]


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ((200, b'{"url":"https://x"}'), "confirmation_code"),
        ((200, b'{"url":"https://x","confirmation_code":"has space"}'), "alphanumeric"),
        ((500, b"{}"), "HTTP 200"),
        ((200, b"not json"), "not JSON"),
    ],
)
def test_data_deletion_bad_replies_are_reported(client, wired, reply, problem):
    """A reply lacking url or an alphanumeric confirmation_code, or not 200 JSON, is a recorded failure."""
    wired.deletion_reply = reply
    result = client.post(
        "/_emulator/accounts/demo_business/data-deletion", json={"app_id": DEMO_IG_APP_ID}
    ).json()
    assert result["ok"] is False and problem in result["error"]
    assert client.get("/_emulator/outbound").json()["calls"][-1]["ok"] is False


def test_webhook_verification_right_and_wrong_token(client, wired):
    """Verification passes with the configured token (200 + challenge) and a wrong one must get 403."""
    ok = client.post("/_emulator/webhooks/verify", json={"app_id": DEMO_IG_APP_ID}).json()
    assert ok["ok"] is True and wired.calls[-1]["query"]["hub.mode"] == "subscribe"
    wrong = client.post(
        "/_emulator/webhooks/verify", json={"app_id": DEMO_IG_APP_ID, "verify_token": "bad"}
    ).json()
    assert wrong["ok"] is True and wrong["status"] == 403
    wired.verify_token = "something else"
    assert client.post("/_emulator/webhooks/verify", json={"app_id": DEMO_IG_APP_ID}).json()["ok"] is False


def test_webhook_event_signed_over_raw_escaped_body(client, wired):
    """Events carry X-Hub-Signature-256 over the raw body, which escapes non-ASCII as \\uXXXX."""
    result = client.post(
        "/_emulator/webhooks/event", json={"app_id": DEMO_IG_APP_ID, "username": "demo_business"}
    )
    assert result.json()["ok"] is True
    call = wired.calls[-1]
    raw = call["raw"]
    assert b"\\u00fc" in raw and raw.isascii()
    expected = "sha256=" + hmac.new(DEMO_IG_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert call["headers"]["X-Hub-Signature-256"] == expected
    assert json.loads(raw)["entry"][0]["id"] == "17841400000000001"


def test_unreachable_callback_is_reported(client, emulator_world):
    """A callback nobody listens on is recorded with the connection error, not raised."""
    emulator_world.update_app(DEMO_IG_APP_ID, deauthorize_url="http://127.0.0.1:9/deauth")
    result = client.post(
        "/_emulator/accounts/demo_business/deauthorize", json={"app_id": DEMO_IG_APP_ID}
    ).json()
    assert result["ok"] is False and result["error"]


def test_injected_sender_for_in_process_callbacks(emulator_world):
    """A custom sender receives outbound calls (for apps served in-process)."""
    seen = []

    def sender(method, url, headers, body, timeout):
        seen.append((method, url))
        return 200, b'{"url":"https://x/1","confirmation_code":"Z9"}'

    emulator_world.sender = sender
    emulator_world.update_app(DEMO_IG_APP_ID, data_deletion_url="https://app.invalid/deletion")
    assert emulator_world.fire_data_deletion(DEMO_IG_APP_ID, "demo_creator")["ok"] is True
    assert seen == [("POST", "https://app.invalid/deletion")]
