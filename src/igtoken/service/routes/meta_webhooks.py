"""Meta's webhooks: the subscription handshake and signed event intake.

Each request goes detect → verify → parse → delegate → answer, and every way it can
fail has its own status, log reason and ``igtoken_callbacks_total`` outcome. A bad
signature gets a bare 403: the reason goes to the log and the metric, never to the
caller, who may be probing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from igtoken.core.exceptions import ForbiddenError
from igtoken.core.secret import Secret
from igtoken.service.app_state import ServiceState, service_state
from igtoken.service.interfaces import WebhookEvent
from igtoken.service.ratelimit import rate_limit

log = logging.getLogger("igtoken.service.webhooks")
router = APIRouter(prefix="/meta", tags=["meta"], dependencies=[Depends(rate_limit("webhooks"))])

SIGNATURE_HEADER = "x-hub-signature-256"
_SIGNATURE_PREFIX = "sha256="
_VERIFY = "webhook_verify"
_EVENT = "webhook_event"
# Meta's challenge is a number; anything printable and short is echoed, nothing else.
_MAX_CHALLENGE = 256


def _refuse(state: ServiceState, endpoint: str, reason: str) -> ForbiddenError:
    state.metrics.record_callback(endpoint, reason)
    log.warning("refused a call from Meta", extra={"endpoint": endpoint, "reason": reason})
    return ForbiddenError("verification failed")


@router.get("/webhooks", response_class=PlainTextResponse)
async def verify_subscription(
    request: Request,
    mode: Annotated[str, Query(alias="hub.mode", max_length=32)],
    verify_token: Annotated[str, Query(alias="hub.verify_token", max_length=512)],
    challenge: Annotated[str, Query(alias="hub.challenge", min_length=1, max_length=_MAX_CHALLENGE)],
) -> PlainTextResponse:
    """Meta's subscription check: echo ``hub.challenge`` if the verify token is ours."""
    state = service_state(request)
    if mode != "subscribe":
        state.metrics.record_callback(_VERIFY, "bad_mode")
        raise HTTPException(400, "hub.mode must be 'subscribe'")
    if not challenge.isprintable() or not challenge.isascii() or any(c.isspace() for c in challenge):
        state.metrics.record_callback(_VERIFY, "bad_challenge")
        raise HTTPException(400, "hub.challenge must be printable ASCII without spaces")
    expected = state.config.webhook_verify_token
    if expected is None:
        raise _refuse(state, _VERIFY, "verify_token_not_configured")
    if not hmac.compare_digest(verify_token.encode(), expected.reveal().encode()):
        raise _refuse(state, _VERIFY, "bad_verify_token")
    state.metrics.record_callback(_VERIFY, "ok")
    return PlainTextResponse(challenge)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def signing_app(body: bytes, header: str, secrets: Mapping[str, Secret]) -> str | None:
    """The id of the app whose secret produced ``header`` over ``body``, or ``None``."""
    if not header.startswith(_SIGNATURE_PREFIX):
        return None
    sent = header[len(_SIGNATURE_PREFIX) :].strip().lower().encode()
    for app_id, secret in secrets.items():
        digest = hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(sent, digest):
            return app_id
    return None


@router.post("/webhooks")
async def receive_event(request: Request) -> Response:
    """Event intake: verify ``X-Hub-Signature-256`` over the raw body, parse, hand over, answer 200."""
    state = service_state(request)
    body = await _read_body(request, state.config.max_webhook_body)
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        raise _refuse(state, _EVENT, "missing_signature")
    app_id = signing_app(body, header, state.config.app_secrets())
    if app_id is None:
        raise _refuse(state, _EVENT, "bad_signature")
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        state.metrics.record_callback(_EVENT, "bad_json")
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        state.metrics.record_callback(_EVENT, "bad_json")
        raise HTTPException(400, "the body must be a JSON object")
    handler = state.deps.webhook_handler
    if handler is None:
        # Answering 200 would tell Meta the event is handled and it would be lost; 503 makes Meta retry.
        state.metrics.record_callback(_EVENT, "no_handler")
        raise HTTPException(503, "webhook events cannot be processed yet")
    event = WebhookEvent(app_id=app_id, payload=payload, received_at=state.deps.clock())
    try:
        await handler(event)
    except Exception:
        state.metrics.record_callback(_EVENT, "handler_error")
        log.exception("webhook handler failed", extra={"app_id": app_id, "object": payload.get("object")})
        raise HTTPException(500, "the event could not be processed; Meta will retry") from None
    state.metrics.record_callback(_EVENT, "ok")
    log.info("webhook event accepted", extra={"app_id": app_id, "object": payload.get("object")})
    return JSONResponse({"status": "ok"})
