"""The one mapping from igtoken's exceptions to HTTP answers, in JSON and as the error page."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Query

from igtoken.core import exceptions as exc
from igtoken.service import ServiceDeps, create_app

from .conftest import client_for, make_config

CASES = [
    (exc.NotFoundError("no account with id 'a1'"), 404, "not_found"),
    (exc.ConfigurationError("bad redirect URI", fix="register it"), 400, "invalid_request"),
    (exc.InvalidRequestError("bad field", status_code=400, code=100), 400, "invalid_request"),
    (exc.CallbackError("the callback has no code"), 400, "invalid_request"),
    (
        exc.NeedsReauthorizationError("token invalidated", status_code=400, code=190),
        409,
        "needs_reauthorization",
    ),
    (exc.TokenExpiredError("expired on 2026-01-01"), 409, "needs_reauthorization"),
    (exc.PermissionDeniedError("missing permission", status_code=403, code=10), 403, "permission_denied"),
    (exc.ForbiddenError("key not scoped"), 403, "forbidden"),
    (exc.AuthenticationError("no API key"), 401, "authentication_required"),
    (exc.ThrottledError("slow down", status_code=400, code=4, retry_after=12.2), 429, "throttled"),
    (exc.TransportError("connection reset"), 503, "temporarily_unavailable"),
    (exc.TransientError("Meta is down", status_code=500, code=2), 503, "temporarily_unavailable"),
    (exc.ConflictError("lease held by worker-2"), 409, "conflict"),
    (exc.TokenTooNewError("token is 3 hours old"), 409, "conflict"),
    (exc.UnexpectedResponseError("no access_token in body"), 502, "upstream_error"),
    (exc.InvalidSignature("signed_request does not verify"), 400, "invalid_request"),
]


def _app_raising(error: BaseException, **deps):
    app = create_app(make_config(), deps=ServiceDeps(**deps))
    router = APIRouter()

    @router.get("/api/boom/{account_id}")
    async def boom_api(account_id: str) -> None:
        raise error

    @router.get("/page/boom/{account_id}")
    async def boom_page(account_id: str) -> None:
        raise error

    @router.get("/api/typed")
    async def typed(count: Annotated[int, Query(ge=1)], name: Annotated[str, Query(max_length=3)]) -> None:
        return None

    app.include_router(router)
    return app


@pytest.mark.parametrize(("error", "status", "kind"), CASES, ids=[type(c[0]).__name__ for c in CASES])
async def test_api_routes_answer_json_with_type_message_and_fix(error, status, kind):
    """Each exception class maps to its status and a JSON body {error: {type, message, fix}}."""
    async with client_for(_app_raising(error)) as client:
        response = await client.get("/api/boom/a1", headers={"accept": "text/html"})
    assert response.status_code == status
    body = response.json()["error"]
    assert body["type"] == kind
    assert body["message"] == error.message
    assert set(body) >= {"type", "message", "fix"}


async def test_throttled_and_retryable_errors_carry_retry_after():
    """429 carries Meta's wait hint rounded up; 503 carries a default wait."""
    async with client_for(_app_raising(exc.ThrottledError("x", status_code=400, retry_after=12.2))) as client:
        assert (await client.get("/api/boom/a")).headers["retry-after"] == "13"
    async with client_for(_app_raising(exc.ThrottledError("x", status_code=400))) as client:
        assert (await client.get("/api/boom/a")).headers["retry-after"] == "60"
    async with client_for(_app_raising(exc.TransportError("x"))) as client:
        assert (await client.get("/api/boom/a")).headers["retry-after"] == "60"


async def test_storage_errors_hide_their_message():
    """A storage failure answers 500 with a generic message: table names and paths stay in the log."""
    error = exc.DecryptionError("row 17 of table tokens failed under key k2 at /var/lib/igtoken.db")
    async with client_for(_app_raising(error)) as client:
        response = await client.get("/api/boom/a")
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "the service could not complete the request"
    assert "tokens" not in response.text and "/var/lib" not in response.text


async def test_unexpected_exceptions_are_a_generic_500():
    """A bug answers 500 in the same JSON shape without its message."""
    app = _app_raising(RuntimeError("secret detail in a bug"))
    async with client_for(app, raise_app_exceptions=False) as client:
        response = await client.get("/api/boom/a")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal_error"
    assert "secret detail" not in response.text


async def test_needs_reauthorization_includes_the_reauthorize_url_when_known():
    """A 409 for an account carries reauthorize_url from the factory the lead wires."""

    async def factory(account_id: str) -> str | None:
        return f"https://tokens.example/connect/re-{account_id}" if account_id == "a1" else None

    app = _app_raising(
        exc.NeedsReauthorizationError("dead", status_code=400, code=190), reauthorize_url=factory
    )
    async with client_for(app) as client:
        known = (await client.get("/api/boom/a1")).json()["error"]
        unknown = (await client.get("/api/boom/zz")).json()["error"]
    assert known["reauthorize_url"] == "https://tokens.example/connect/re-a1"
    assert "reauthorize_url" not in unknown


async def test_a_failing_reauthorize_factory_still_gives_the_409():
    """If making the link fails, the answer is still the 409, without a link."""

    async def factory(account_id: str) -> str | None:
        raise RuntimeError("vault down")

    app = _app_raising(exc.TokenExpiredError("expired"), reauthorize_url=factory)
    async with client_for(app) as client:
        response = await client.get("/api/boom/a1")
    assert response.status_code == 409
    assert "reauthorize_url" not in response.json()["error"]


async def test_browsers_get_the_error_page_with_the_fix():
    """A browser on a page route gets HTML with the status, message and fix (escaped)."""
    error = exc.ConfigurationError("bad <b>redirect</b>", fix="register the exact URI")
    async with client_for(_app_raising(error)) as client:
        response = await client.get("/page/boom/a", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "bad &lt;b&gt;redirect&lt;/b&gt;" in response.text
    assert "register the exact URI" in response.text


async def test_validation_errors_are_422_naming_each_field():
    """Bad query values give 422 with one entry per field and a readable summary."""
    async with client_for(_app_raising(RuntimeError())) as client:
        response = await client.get("/api/typed", params={"count": "zero", "name": "toolong"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    fields = {item["field"] for item in error["fields"]}
    assert fields == {"query.count", "query.name"}
    assert "query.count" in error["message"]


async def test_unknown_routes_and_methods_use_the_same_shape(client):
    """404 and 405 from routing come in the same JSON shape."""
    missing = await client.get("/api/nope")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    wrong = await client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["error"]["type"] == "method_not_allowed"
