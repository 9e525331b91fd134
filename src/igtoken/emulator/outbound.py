"""Calls Meta makes to the app (docs/emulator.md: O1–O4): deauthorize (O1), data deletion (O2), webhook
verification (O3) and signed webhook events (O4).

They are blocking (urllib) and run on a worker thread when the control API triggers them. A test
that serves its callbacks in-process can pass its own ``sender`` to ``create_app``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from igtoken.emulator.model import App
from igtoken.emulator.world_state import WorldError

if TYPE_CHECKING:
    from igtoken.emulator.world import World

#: ``sender(method, url, headers, body, timeout) -> (status, body)``; raises OSError when unreachable.
Sender = Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]]


def urllib_sender(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, bytes]:
    """Send with the standard library; HTTP errors are answers, not exceptions."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"refusing to call a non-HTTP URL: {url}")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked above
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed_request(secret: str, payload: dict[str, Any]) -> str:
    """``b64url(HMAC-SHA256(secret, encoded_payload)) + "." + encoded_payload`` (S16)."""
    encoded = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{_b64url(signature)}.{encoded}"


def _secret_and_user(world: World, app: App, who: str, product: str | None) -> tuple[str, str, str, str]:
    """(secret, app-scoped user id, owner id, product) for a person of ``app``."""
    with world.lock:
        if who in world.accounts_by_username or who in world.accounts or who in world.scoped_index:
            account = world.find_account(who)
            if product in (None, "instagram") and app.instagram_app_secret:
                return (
                    app.instagram_app_secret,
                    world.scoped_id(app.meta_app_id, account.ig_id),
                    account.ig_id,
                    "instagram",
                )
            return app.meta_app_secret, account.ig_id, account.ig_id, "facebook"
        user = world.find_fb_user(who)
        return app.meta_app_secret, user.fb_user_id, user.fb_user_id, "facebook"


def _record(world: World, entry: dict[str, Any]) -> dict[str, Any]:
    with world.lock:
        entry["seq"] = len(world.outbound_log) + 1
        entry["time"] = world.clock.timestamp()
        world.outbound_log.append(entry)
    return entry


def _send(
    sender: Sender, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int | None, str, str | None]:
    try:
        status, raw = sender(method, url, headers, body, timeout)
    except OSError as exc:
        return None, "", f"{type(exc).__name__}: {exc}"
    return status, raw.decode("utf-8", "replace")[:2000], None


def deauthorize(
    world: World, app_id: str, who: str, *, sender: Sender, product: str | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """O1: tell the app the person removed it, and revoke their tokens for it (190/458)."""
    app = world.find_app(app_id)
    secret, user_id, owner, product = _secret_and_user(world, app, who, product)
    world.remove_app(app.meta_app_id, owner)
    if not app.deauthorize_url:
        return _record(
            world,
            {
                "kind": "deauthorize",
                "app_id": app.meta_app_id,
                "user_id": user_id,
                "url": None,
                "ok": False,
                "error": "app has no deauthorize_url; tokens revoked anyway",
            },
        )
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(world.clock.timestamp()), "user_id": user_id}
    body = urlencode({"signed_request": signed_request(secret, payload)}).encode()
    status, text, error = _send(
        sender,
        "POST",
        app.deauthorize_url,
        {"Content-Type": "application/x-www-form-urlencoded"},
        body,
        timeout,
    )
    ok = status is not None and 200 <= status < 300
    return _record(
        world,
        {
            "kind": "deauthorize",
            "app_id": app.meta_app_id,
            "product": product,
            "user_id": user_id,
            "url": app.deauthorize_url,
            "status": status,
            "body": text,
            "ok": ok,
            "error": error or (None if ok else f"expected a 2xx answer, got {status}"),
        },
    )


def request_data_deletion(
    world: World, app_id: str, who: str, *, sender: Sender, product: str | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """O2: ask the app to delete the person's data; the answer must be ``{url, confirmation_code}``.

    The person has removed the app (that is what triggers deletion), so their tokens die too (458).
    """
    app = world.find_app(app_id)
    if not app.data_deletion_url:
        raise WorldError(f"app {app.name!r} has no data_deletion_url")
    secret, user_id, owner, product = _secret_and_user(world, app, who, product)
    world.remove_app(app.meta_app_id, owner)
    now = int(world.clock.timestamp())
    payload = {"algorithm": "HMAC-SHA256", "expires": now + 3600, "issued_at": now, "user_id": user_id}
    body = urlencode({"signed_request": signed_request(secret, payload)}).encode()
    status, text, error = _send(
        sender,
        "POST",
        app.data_deletion_url,
        {"Content-Type": "application/x-www-form-urlencoded"},
        body,
        timeout,
    )
    confirmation: str | None = None
    status_url: str | None = None
    if error is None:
        error = _check_deletion_reply(status, text)
        if error is None:
            reply = json.loads(text)
            confirmation, status_url = reply["confirmation_code"], reply["url"]
    return _record(
        world,
        {
            "kind": "data_deletion",
            "app_id": app.meta_app_id,
            "product": product,
            "user_id": user_id,
            "url": app.data_deletion_url,
            "status": status,
            "body": text,
            "ok": error is None,
            "error": error,
            "confirmation_code": confirmation,
            "status_url": status_url,
        },
    )


def _check_deletion_reply(status: int | None, text: str) -> str | None:
    if status != 200:
        return f"expected HTTP 200, got {status}"
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        return "reply is not JSON"
    if not isinstance(reply, dict):
        return "reply is not a JSON object"
    if not isinstance(reply.get("url"), str) or not reply["url"]:
        return "reply lacks a string 'url'"
    code = reply.get("confirmation_code")
    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9]+", code):
        return "reply lacks an alphanumeric 'confirmation_code'"
    return None


def verify_webhook(
    world: World, app_id: str, *, sender: Sender, verify_token: str | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """O3: the subscription handshake; passes iff the answer is 200 with the challenge as body.

    With a ``verify_token`` other than the app's, the callback must refuse with 403 instead.
    """
    app = world.find_app(app_id)
    if not app.webhook_url:
        raise WorldError(f"app {app.name!r} has no webhook_url")
    configured = app.webhook_verify_token or ""
    sent = configured if verify_token is None else verify_token
    challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
    parts = urlsplit(app.webhook_url)
    query = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": sent})
    url = urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))
    status, text, error = _send(sender, "GET", url, {}, None, timeout)
    expect_ok = sent == configured
    if error is None:
        if expect_ok and not (status == 200 and text == challenge):
            error = f"expected 200 with body {challenge!r}, got {status} {text[:80]!r}"
        if not expect_ok and status != 403:
            error = f"a wrong verify_token must be refused with 403, got {status}"
    return _record(
        world,
        {
            "kind": "webhook_verify",
            "app_id": app.meta_app_id,
            "url": app.webhook_url,
            "status": status,
            "body": text,
            "challenge": challenge,
            "verify_token_matches": expect_ok,
            "ok": error is None,
            "error": error,
        },
    )


def send_webhook_event(
    world: World,
    app_id: str,
    *,
    sender: Sender,
    payload: dict[str, Any] | None = None,
    who: str | None = None,
    field: str = "comments",
    non_ascii: bool = True,
    product: str | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """O4: POST a signed event; the body is ASCII-escaped JSON (as Meta sends) and signed as sent."""
    app = world.find_app(app_id)
    if not app.webhook_url:
        raise WorldError(f"app {app.name!r} has no webhook_url")
    use_ig = product != "facebook" and app.instagram_app_secret is not None
    secret = app.instagram_app_secret if use_ig and app.instagram_app_secret else app.meta_app_secret
    if payload is None:
        ig_id = world.find_account(who).ig_id if who else "0"
        text = "Grüße aus dem Emulator — äöå ✨" if non_ascii else "Hello from the emulator"
        payload = {
            "object": "instagram",
            "entry": [
                {
                    "id": ig_id,
                    "time": int(world.clock.timestamp()),
                    "changes": [
                        {
                            "field": field,
                            "value": {
                                "id": str(secrets.randbelow(10**17)),
                                "text": text,
                                "from": {"id": ig_id},
                            },
                        }
                    ],
                }
            ],
        }
    raw = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    status, text_out, error = _send(
        sender,
        "POST",
        app.webhook_url,
        {"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        raw,
        timeout,
    )
    ok = error is None and status is not None and 200 <= status < 300
    return _record(
        world,
        {
            "kind": "webhook_event",
            "app_id": app.meta_app_id,
            "url": app.webhook_url,
            "status": status,
            "body": text_out,
            "signature": signature,
            "payload": payload,
            "ok": ok,
            "error": error or (None if ok else f"expected a 2xx answer, got {status}"),
        },
    )
