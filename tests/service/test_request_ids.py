"""One request id per request: in the X-Request-Id header and in every log line the request causes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from igtoken.app.logs import JsonFormatter, TextFormatter, log_handler


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = log_handler("json", stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")


async def test_every_answer_carries_a_request_id_and_a_plain_one_given_is_kept(app):
    """A new id when none (or an unsafe one) is given; the caller's own when it is a plain token."""
    async with _client(app) as client:
        first = await client.get("/healthz")
        second = await client.get("/healthz")
        kept = await client.get("/healthz", headers={"x-request-id": "req-42.a:b"})
        unsafe = await client.get("/healthz", headers={"x-request-id": "bad id\twith space"})
        missing = await client.get("/no/such/page")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert kept.headers["x-request-id"] == "req-42.a:b"
    assert unsafe.headers["x-request-id"] not in ("", "bad id\twith space")
    assert missing.status_code == 404 and missing.headers["x-request-id"]


async def test_every_line_a_request_causes_has_its_id(app, json_lines):
    """A refused Meta webhook logs a reason and an access line; both carry the request's id."""
    async with _client(app) as client:
        answer = await client.post(
            "/meta/webhooks", content=b"{}", headers={"x-hub-signature-256": "sha256=00"}
        )
    rid = answer.headers["x-request-id"]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    caused = [line for line in lines if line.get("request_id") == rid]
    assert len(caused) >= 2, lines
    assert {line["logger"] for line in caused} >= {"igtoken.service.access"}
    assert all(line.get("request_id") == rid for line in lines if line["logger"].startswith("igtoken."))


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "uvicorn.error", "levelno": 20, "levelname": "INFO", "msg": msg})
    record.__dict__.update(extra)
    return record


def test_json_lines_never_carry_terminal_colour_codes():
    """uvicorn's ``color_message`` extra is dropped and ANSI sequences are stripped from the message."""
    record = _record(
        "Uvicorn running on \x1b[1mhttp://127.0.0.1:8000\x1b[0m",
        color_message="Uvicorn running on \x1b[1m%s\x1b[0m",
    )
    line = JsonFormatter().format(record)
    assert "\x1b" not in line and "\\u001b" not in line
    assert "color_message" not in json.loads(line)
    assert json.loads(line)["msg"] == "Uvicorn running on http://127.0.0.1:8000"


def test_text_lines_put_the_request_id_first_among_the_extras():
    """Text lines: the message, then ``request_id=…`` and the other fields, redacted, without colour."""
    record = _record("request", status=200, request_id="abc", access_token="IGAAsecret")
    line = TextFormatter().format(record)
    assert line.endswith("request request_id=abc status=200 access_token=[redacted]")
    assert "IGAAsecret" not in line
