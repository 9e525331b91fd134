"""Probes: ``/healthz`` says the process answers, ``/readyz`` that its dependencies do, ``/metrics``."""

from __future__ import annotations

import asyncio
import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from igtoken.service.app_state import service_state
from igtoken.service.interfaces import ReadinessCheck
from igtoken.service.metrics import METRICS_CONTENT_TYPE

log = logging.getLogger("igtoken.service.health")
router = APIRouter(tags=["probes"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: answers as long as the event loop does."""
    return {"status": "ok"}


async def _run(check: ReadinessCheck) -> str | None:
    try:
        await asyncio.wait_for(check.check(), timeout=check.timeout)
    except TimeoutError:
        return f"timed out after {check.timeout:g} s"
    except Exception as exc:
        log.warning("readiness check failed", extra={"check": check.name, "error_class": type(exc).__name__})
        # The class name says what broke without echoing a message that may carry a URL or a path.
        return f"failed ({type(exc).__name__})"
    return None


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: every registered check passes and no background task has stopped; else 503."""
    state = service_state(request)
    checks = list(state.deps.readiness_checks)
    results = await asyncio.gather(*(_run(check) for check in checks))
    failed = {check.name: reason for check, reason in zip(checks, results, strict=True) if reason is not None}
    for name in state.stopped_tasks:
        failed[f"task:{name}"] = "stopped"
    body = {
        "status": "fail" if failed else "ok",
        "checks": {
            check.name: ("ok" if reason is None else reason)
            for check, reason in zip(checks, results, strict=True)
        },
        "failed": failed,
    }
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text exposition; the inventory read blocks, so it runs in a worker thread.

    With ``IGTOKEN_METRICS_TOKEN`` set, only a scraper that sends it as a bearer token is answered.
    """
    state = service_state(request)
    token = state.config.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token.reveal()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return JSONResponse(
                {"error": {"type": "unauthorized", "message": "send the metrics token as a bearer token"}},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    body = await run_in_threadpool(state.metrics.render)
    return Response(body, media_type=METRICS_CONTENT_TYPE)
