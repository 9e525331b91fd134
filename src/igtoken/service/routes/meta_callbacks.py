"""Meta's account callbacks: deauthorize, data deletion, and the deletion status page.

Both POSTs carry a form field ``signed_request`` that
:func:`~igtoken.parse_signed_request` verifies (shape, algorithm, HMAC-SHA256 over the
encoded payload in constant time, ``issued_at`` within an hour). The signing app is
found by trying each registered app's secret: the Instagram app secret for Instagram
Login apps, the Meta app secret for Facebook Login apps (Meta signs with the secret of
the product the person removed the app from); a request that verified once is refused
if it comes again (409), so a replay changes nothing. Both segments are decoded strictly
(one spelling per request) and the replay record is keyed on that canonical spelling, so
a re-encoded copy (padding, ``+``/``/``, other unused bits, whitespace) is no new
request. "Once" is recorded in the vault (:class:`~igtoken.vault.replays.SeenSignedRequests`,
first insert wins), so every instance sharing the database agrees. Refusals change
nothing either: verification happens before any write.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import JSONResponse, Response

from igtoken.core.exceptions import ConflictError, InvalidSignature, NotFoundError
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.core.signed_request import DEFAULT_MAX_AGE, canonical_signed_request, parse_signed_request
from igtoken.service.app_state import service_state
from igtoken.service.ratelimit import rate_limit
from igtoken.service.wiring import ServiceWiring, wiring_of

if TYPE_CHECKING:
    from igtoken.vault import AppRecord

log = logging.getLogger("igtoken.service.meta_callbacks")
router = APIRouter(prefix="/meta", tags=["meta"], dependencies=[Depends(rate_limit("webhooks"))])

_DEAUTHORIZE = "deauthorize"
_DELETION = "data_deletion"

STATUS_TEXT = {
    "received": "Your request was received and is being processed.",
    "completed": "Your data has been deleted: the account's profile details and access tokens are gone.",
    "not_found": "We held no data for this account, so there was nothing to delete.",
    "failed": "Deleting your data failed; the operator has been told and will complete it.",
}


#: How long a verified signed_request is remembered: as long as it verifies, plus clock skew.
REPLAY_MEMORY = DEFAULT_MAX_AGE + timedelta(minutes=10)


async def _verify(request: Request, endpoint: str, signed_request: str) -> tuple[str, dict[str, Any]]:
    """The (vault app id, payload) of a signed request from one of our apps; raises otherwise."""
    wiring = wiring_of(request)
    metrics = service_state(request).metrics
    now = wiring.clock()
    for app in await wiring.vault.list_apps():
        for secret in _signing_secrets(app):
            try:
                payload = parse_signed_request(signed_request, secret, now=now)
            except InvalidSignature:
                continue
            except Exception as exc:
                metrics.record_callback(endpoint, type(exc).__name__)
                log.warning(
                    "refused a signed_request", extra={"endpoint": endpoint, "reason": type(exc).__name__}
                )
                raise
            # Keyed on the one canonical spelling: no re-encoding of a processed request gets through.
            first = await wiring.vault.signed_requests.first_sight(
                canonical_signed_request(signed_request), now=now, expires_at=now + REPLAY_MEMORY
            )
            if not first:
                metrics.record_callback(endpoint, "replayed")
                log.warning("refused a replayed signed_request", extra={"endpoint": endpoint})
                raise ConflictError("this signed_request was already processed")
            return app.id, payload
    metrics.record_callback(endpoint, "bad_signature")
    log.warning("refused a signed_request", extra={"endpoint": endpoint, "reason": "bad_signature"})
    raise InvalidSignature("the signed_request is not signed by any registered app")


def _signing_secrets(app: AppRecord) -> list[Secret]:
    """The secrets a callback for ``app`` may be signed with."""
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        return [app.meta_app_secret or app.app_secret]
    # An Instagram Login app that also has a Meta app keeps accepting both, as before.
    return [app.app_secret] + ([app.meta_app_secret] if app.meta_app_secret is not None else [])


async def _accounts_of(wiring: ServiceWiring, app_id: str, payload: dict[str, Any]) -> list[str]:
    """The accounts the payload's ``user_id`` names: for Instagram Login its app-scoped or Instagram
    id (one account); for Facebook Login the app-scoped Facebook user id, which names every account
    that person connected through their Pages."""
    user_id = payload.get("user_id")
    if user_id is None:
        return []
    user_id = str(user_id)
    return [
        account.id
        for account in await wiring.vault.list_accounts(app=app_id)
        if str(account.status) != "deleted"
        and user_id in (account.app_scoped_id, account.ig_user_id, account.fb_user_id)
    ]


SignedRequest = Annotated[str, Form(min_length=1, max_length=16_384, description="Meta's signed_request")]


@router.post("/deauthorize")
async def deauthorize(request: Request, signed_request: SignedRequest) -> JSONResponse:
    """The person removed the app: mark the account deauthorized and destroy its tokens."""
    wiring = wiring_of(request)
    app_id, payload = await _verify(request, _DEAUTHORIZE, signed_request)
    account_ids = await _accounts_of(wiring, app_id, payload)
    if not account_ids:
        service_state(request).metrics.record_callback(_DEAUTHORIZE, "unknown_user")
        return JSONResponse({"status": "ok", "account": None})
    app = await wiring.vault.get_app(app_id)
    where = "Facebook" if app.flow_kind is FlowKind.FACEBOOK_LOGIN else "Instagram"
    for account_id in account_ids:
        await wiring.vault.mark_deauthorized(
            account_id, now=wiring.clock(), reason=f"removed the app on {where}"
        )
        log.info("account deauthorized by Meta", extra={"account_id": account_id})
    service_state(request).metrics.record_callback(_DEAUTHORIZE, "ok")
    body: dict[str, Any] = {"status": "ok", "account": account_ids[0]}
    if len(account_ids) > 1:
        body["accounts"] = account_ids
    return JSONResponse(body)


@router.post("/data-deletion")
async def data_deletion(request: Request, signed_request: SignedRequest) -> JSONResponse:
    """Delete the person's data and tokens; answer with the status URL and confirmation code."""
    from igtoken.vault import DeletionStatus

    wiring = wiring_of(request)
    app_id, payload = await _verify(request, _DELETION, signed_request)
    account_ids = await _accounts_of(wiring, app_id, payload)
    now = wiring.clock()
    first = account_ids[0] if account_ids else None
    record = await wiring.vault.deletions.create(now=now, app_id=app_id, account_id=first)
    if not account_ids:
        await wiring.vault.deletions.update(record.id, DeletionStatus.NOT_FOUND, now=now)
    else:
        try:
            # One request, one confirmation code: a Facebook user's every Page account goes.
            for account_id in account_ids:
                await wiring.vault.delete_account_data(account_id, now=now, request_id=record.id)
        except Exception as exc:
            await wiring.vault.deletions.update(
                record.id, DeletionStatus.FAILED, now=now, detail=type(exc).__name__
            )
            raise
        await wiring.vault.deletions.update(record.id, DeletionStatus.COMPLETED, now=now)
    service_state(request).metrics.record_callback(_DELETION, "ok")
    code = record.confirmation_code
    log.info("data deletion handled", extra={"request_id": record.id, "found": len(account_ids)})
    return JSONResponse(
        {"url": f"{wiring.public_url}/meta/deletion-status/{code}", "confirmation_code": code}
    )


@router.get("/deletion-status/{code}", response_model=None)
async def deletion_status(
    request: Request, code: Annotated[str, Path(pattern=r"^[A-Za-z0-9]{4,64}$")]
) -> Response:
    """Where a deletion request stands: a page for people, JSON for programs."""
    wiring = wiring_of(request)
    try:
        record = await wiring.vault.deletions.get(code)
    except NotFoundError:
        raise NotFoundError("no deletion request with that confirmation code") from None
    if record.confirmation_code != code:  # ``get`` also matches ids; only codes are public
        raise NotFoundError("no deletion request with that confirmation code")
    status = str(record.status)
    message = STATUS_TEXT.get(status, status)
    if "text/html" in request.headers.get("accept", ""):
        return service_state(request).pages.render(
            request,
            "connect/deletion_status.html",
            {
                "code": code,
                "message": message,
                "requested_at": record.created_at,
                "completed_at": record.completed_at,
            },
        )
    body: dict[str, Any] = {
        "confirmation_code": code,
        "status": status,
        "message": message,
        "requested_at": _iso(record.created_at),
        "completed_at": _iso(record.completed_at),
    }
    return JSONResponse(body)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
