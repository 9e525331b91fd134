"""JSON log lines: one per request, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from igtoken.app.logs import json_handler, redact_text
from igtoken.core.secret import Secret

from .conftest import client_for, csrf_from

PLANTED = "PLANTEDsecret9f8e7d"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert PLANTED not in stream.getvalue()


async def test_requests_log_one_json_line_each_without_query_strings(app, log_lines):
    """Each request logs method, route template, status and duration; query strings never appear."""
    async with client_for(app) as client:
        await client.get(
            "/meta/webhooks",
            params={"hub.mode": "subscribe", "hub.verify_token": PLANTED, "hub.challenge": "1"},
        )
        await client.get("/signin", params={"next": f"/dashboard?code={PLANTED}"})
        page = await client.get("/signin")
        await client.post("/signin", data={"password": PLANTED, "csrf_token": csrf_from(page.text)})
        await client.post(
            "/meta/webhooks",
            content=json.dumps({"token": PLANTED}),
            headers={"x-hub-signature-256": "sha256=00"},
        )
    lines = log_lines()
    requests = [line for line in lines if line["logger"] == "igtoken.service.access"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("GET", "/meta/webhooks", 403),
        ("GET", "/signin", 200),
        ("GET", "/signin", 200),
        ("POST", "/signin", 401),
        ("POST", "/meta/webhooks", 403),
    ]
    assert all(isinstance(r["duration_ms"], float) and r["level"] == "info" for r in requests)
    reasons = [line.get("reason") for line in lines if line["msg"] == "refused a call from Meta"]
    assert reasons == ["bad_verify_token", "bad_signature"]


def test_secret_named_fields_urls_and_exceptions_are_redacted(log_lines):
    """Fields named like secrets, credential query parameters and exception text are masked."""
    log = logging.getLogger("igtoken.test")
    url = (
        f"https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token={PLANTED}"
    )
    log.info(
        "refreshing via %s",
        url,
        extra={
            "access_token": PLANTED,
            "client_secret": PLANTED,
            "admin_password": PLANTED,
            "api_key": PLANTED,
            "code": PLANTED,
            "callback": f"https://x.example/cb?state=abc&code={PLANTED}#_",
            "proof": f"appsecret_proof={PLANTED}",
            "held": Secret(PLANTED),
            "nested": {"token": PLANTED, "ok": "visible"},
            "account_id": "acc1",
        },
    )
    try:
        raise ValueError(
            f"exchange failed for https://api.instagram.com/oauth/access_token?client_secret={PLANTED}"
        )
    except ValueError:
        log.exception("exchange failed")
    first, second = log_lines()
    assert first["msg"].endswith("access_token=[redacted]")
    assert first["access_token"] == first["client_secret"] == first["code"] == "[redacted]"
    assert first["callback"] == "https://x.example/cb?state=abc&code=[redacted]#_"
    assert first["nested"] == {"token": "[redacted]", "ok": "visible"}
    assert first["held"] == "********"
    assert first["account_id"] == "acc1"
    assert second["level"] == "error" and "client_secret=[redacted]" in second["exc"]


def test_redact_text_leaves_harmless_parameters():
    """Only credential parameters are masked; state and ids stay readable for debugging."""
    text = "GET /cb?state=s1&code=abc&client_id=123&input_token=xyz"
    assert redact_text(text) == "GET /cb?state=s1&code=[redacted]&client_id=123&input_token=[redacted]"


def test_redact_text_finds_percent_encoded_credentials():
    """A URL carried percent-encoded inside another (a ``next`` or ``redirect_uri``) is scrubbed too."""
    text = "GET /signin?next=%2Fdashboard%3Fcode%3DSECRET%26state%3Ds1 HTTP/1.1"
    assert redact_text(text) == "GET /signin?next=%2Fdashboard%3Fcode%3D[redacted]%26state%3Ds1 HTTP/1.1"


def test_http_client_records_are_redacted_on_every_logger_once_logging_is_set_up():
    """After install_log_redaction (called by every logging setup), httpx's and httpcore's records, child
    loggers included, reach a plain handler with credentials masked; installing twice adds nothing."""
    import httpx

    from igtoken.client.log_redaction import HTTP_CLIENT_LOGGERS, RedactingFilter, install_log_redaction

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        install_log_redaction()
        install_log_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
        for name in HTTP_CLIENT_LOGGERS:
            assert sum(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters) == 1
        url = httpx.URL(f"https://graph.facebook.com/oauth/access_token?client_id=1&client_secret={PLANTED}")
        logging.getLogger("httpx").info('HTTP Request: %s %s "%s"', "GET", url, "HTTP/1.1 200 OK")
        logging.getLogger("httpcore.http11").debug(
            "send_request_headers.started request=%r", [(b"authorization", f"Bearer {PLANTED}".encode())]
        )
        logging.getLogger("httpcore.some_new_child").debug("url=%s", f"/x?access_token={PLANTED}")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    assert PLANTED not in text
    assert text.count("[redacted]") == 3
