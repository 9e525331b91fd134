"""Meta's webhooks: the verification handshake and signed event intake."""

from __future__ import annotations

import hashlib
import hmac
import json

from prometheus_client.parser import text_string_to_metric_families

from igtoken.core.secret import Secret
from igtoken.service.interfaces import WebhookEvent

from .conftest import APP_SECRET, NOW, VERIFY_TOKEN, client_for, make_config

BODY = json.dumps(
    {"object": "instagram", "entry": [{"id": "17841400000", "time": 1700000000, "changes": []}]}
).encode()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_counts(text: str) -> dict[tuple[str, str], float]:
    counts = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "igtoken_callbacks_total":
                counts[(sample.labels["endpoint"], sample.labels["outcome"])] = sample.value
    return counts


def handshake(token: str = VERIFY_TOKEN, mode: str = "subscribe", challenge: str = "1158201444") -> dict:
    return {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}


async def test_right_verify_token_echoes_the_challenge_as_plain_text(client):
    """hub.mode=subscribe with our verify token answers 200 with hub.challenge, text/plain."""
    response = await client.get("/meta/webhooks", params=handshake())
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


async def test_wrong_verify_token_is_403(client):
    """Any other verify token is 403 and the challenge is not echoed."""
    response = await client.get("/meta/webhooks", params=handshake(token="guess"))
    assert response.status_code == 403
    assert "1158201444" not in response.text
    counts = callback_counts((await client.get("/metrics")).text)
    assert counts[("webhook_verify", "bad_verify_token")] == 1


async def test_no_configured_verify_token_refuses_every_handshake(build_app):
    """Without a configured verify token no handshake can succeed (not even an empty token)."""
    async with client_for(build_app(make_config(webhook_verify_token=None))) as client:
        response = await client.get("/meta/webhooks", params=handshake(token=""))
    assert response.status_code == 403


async def test_bad_handshakes_get_clear_4xx(client):
    """A missing parameter is 422 naming it; a wrong mode or an odd challenge is 400."""
    missing = await client.get("/meta/webhooks", params={"hub.mode": "subscribe", "hub.challenge": "1"})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "query.hub.verify_token"
    mode = await client.get("/meta/webhooks", params=handshake(mode="unsubscribe"))
    assert mode.status_code == 400 and "hub.mode" in mode.json()["error"]["message"]
    odd = await client.get("/meta/webhooks", params=handshake(challenge="<script>x</script> y"))
    assert odd.status_code == 400


async def test_signed_event_is_handed_to_the_handler(build_app):
    """A body signed with the app secret reaches the handler, parsed, with the signing app's id."""
    received: list[WebhookEvent] = []

    async def handler(event: WebhookEvent) -> None:
        received.append(event)

    async with client_for(build_app(webhook_handler=handler)) as client:
        response = await client.post(
            "/meta/webhooks", content=BODY, headers={"x-hub-signature-256": sign(BODY)}
        )
        counts = callback_counts((await client.get("/metrics")).text)
    assert response.status_code == 200
    assert received == [WebhookEvent(app_id="app1", payload=json.loads(BODY), received_at=NOW)]
    assert counts[("webhook_event", "ok")] == 1


async def test_the_signing_app_is_found_among_several(build_app):
    """With several apps the secret that verifies names the app."""
    received: list[WebhookEvent] = []

    async def handler(event: WebhookEvent) -> None:
        received.append(event)

    config = make_config(
        meta_app_secrets=lambda: {"app1": Secret(APP_SECRET), "app2": Secret("second-secret")}
    )
    async with client_for(build_app(config, webhook_handler=handler)) as client:
        response = await client.post(
            "/meta/webhooks", content=BODY, headers={"x-hub-signature-256": sign(BODY, "second-secret")}
        )
    assert response.status_code == 200
    assert [event.app_id for event in received] == ["app2"]


async def test_bad_signatures_are_a_bare_403_and_reach_no_handler(build_app):
    """Missing, wrong, malformed or body-tampered signatures all get the same 403; each is counted."""
    received: list[WebhookEvent] = []

    async def handler(event: WebhookEvent) -> None:
        received.append(event)

    tampered = BODY.replace(b"17841400000", b"17841400001")
    attempts = [
        (BODY, {}),
        (BODY, {"x-hub-signature-256": sign(BODY, "some-other-secret")}),
        (BODY, {"x-hub-signature-256": sign(BODY)[len("sha256=") :]}),
        (BODY, {"x-hub-signature-256": "sha1=" + hashlib.sha1(BODY).hexdigest()}),  # noqa: S324
        (tampered, {"x-hub-signature-256": sign(BODY)}),
    ]
    async with client_for(build_app(webhook_handler=handler)) as client:
        bodies = set()
        for content, headers in attempts:
            response = await client.post("/meta/webhooks", content=content, headers=headers)
            assert response.status_code == 403
            bodies.add(response.text)
        counts = callback_counts((await client.get("/metrics")).text)
    assert received == []
    assert len(bodies) == 1, "every refusal must look the same to the caller"
    assert counts[("webhook_event", "missing_signature")] == 1
    assert counts[("webhook_event", "bad_signature")] == 4


async def test_signature_is_checked_over_the_raw_bytes(build_app):
    """Re-serialised JSON with the same meaning does not verify: the MAC covers the exact bytes."""

    async def handler(event: WebhookEvent) -> None:
        return None

    reformatted = json.dumps(json.loads(BODY), indent=2).encode()
    async with client_for(build_app(webhook_handler=handler)) as client:
        response = await client.post(
            "/meta/webhooks", content=reformatted, headers={"x-hub-signature-256": sign(BODY)}
        )
    assert response.status_code == 403


async def test_signed_but_unparsable_bodies_are_400(build_app):
    """A verified body that is not a JSON object is 400."""

    async def handler(event: WebhookEvent) -> None:
        raise AssertionError("must not be called")

    async with client_for(build_app(webhook_handler=handler)) as client:
        for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
            response = await client.post(
                "/meta/webhooks", content=body, headers={"x-hub-signature-256": sign(body)}
            )
            assert response.status_code == 400


async def test_events_are_not_lost_when_nothing_can_handle_them(build_app):
    """No handler wired is 503 and a failing handler is 500, so Meta retries instead of dropping."""

    async def failing(event: WebhookEvent) -> None:
        raise RuntimeError("vault locked")

    headers = {"x-hub-signature-256": sign(BODY)}
    async with client_for(build_app()) as client:
        assert (await client.post("/meta/webhooks", content=BODY, headers=headers)).status_code == 503
    async with client_for(build_app(webhook_handler=failing)) as client:
        assert (await client.post("/meta/webhooks", content=BODY, headers=headers)).status_code == 500


async def test_oversized_bodies_are_413(build_app):
    """A body over the configured limit is refused before it is read into memory in full."""
    big = b"{" + b" " * 5000 + b"}"
    async with client_for(build_app(make_config(max_webhook_body=4096))) as client:
        response = await client.post(
            "/meta/webhooks", content=big, headers={"x-hub-signature-256": sign(big)}
        )
    assert response.status_code == 413
