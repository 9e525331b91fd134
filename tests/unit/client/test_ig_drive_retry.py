"""The drivers and the retry policy, against httpx.MockTransport and real loopback sockets."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta
from typing import Any

import httpx
import pytest

from igtoken import (
    NO_RETRY,
    AccessToken,
    Endpoints,
    InvalidGrantError,
    InvalidRequestError,
    NeedsReauthorizationError,
    RequestTimeout,
    RetryPolicy,
    Secret,
    ThrottledError,
    TokenKind,
    TransientError,
    TransportError,
    run_async,
    run_sync,
)
from igtoken.instagram import flows as flows

from .ig_meta_fakes import APP_SECRET, CODE, LONG_TOKEN, NOW, graph_error, make_config, meta

PROFILE = {"user_id": "17841400000000001", "username": "acme", "id": "1"}


class Scripted:
    """A MockTransport handler answering from a list, then repeating the last answer."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def profile_flow(config):
    return flows.profile(config, Secret(LONG_TOKEN))


def test_5xx_then_200_is_retried(config) -> None:
    """A bare 502 and a code-2 error are retried; the third answer succeeds."""
    handler = Scripted(
        httpx.Response(502, text="Bad Gateway"),
        meta(*graph_error(2, "Please retry your request later.", status=500)),
        meta(200, PROFILE),
    )
    with client_for(handler) as http:
        profile = run_sync(profile_flow(config), http)
    assert profile.username == "acme"
    assert len(handler.calls) == 3


def test_190_and_100_are_never_retried(config) -> None:
    """A dead token (190) and a bad request (100) fail on the first answer."""
    for body, error in (
        (graph_error(190, "Session has expired", subcode=463), NeedsReauthorizationError),
        (graph_error(100, "(#100) Tried accessing nonexisting field"), InvalidRequestError),
    ):
        handler = Scripted(meta(*body), meta(200, PROFILE))
        with client_for(handler) as http, pytest.raises(error):
            run_sync(profile_flow(config), http)
        assert len(handler.calls) == 1


def test_exhausted_retries_raise_the_flows_error(config) -> None:
    """After the last attempt the 5xx answer is raised as TransientError (stamina test mode: 3 attempts)."""
    handler = Scripted(meta(*graph_error(1, "An unknown error has occurred.", status=500)))
    with client_for(handler) as http, pytest.raises(TransientError, match="unknown error"):
        run_sync(profile_flow(config), http)
    assert len(handler.calls) == 3


def test_throttle_with_a_short_wait_hint_is_retried_when_waiting(config) -> None:
    """With wait=True a throttle whose wait hint is within the budget is retried; the hint is the wait."""
    buc = json.dumps(
        {"1": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 0.5}]}
    )
    handler = Scripted(
        meta(*graph_error(80002, "too many calls"), headers={"x-business-use-case-usage": buc}),
        meta(200, PROFILE),
    )
    with client_for(handler) as http:
        run_sync(profile_flow(config), http, retry=RetryPolicy(wait=True))
    assert len(handler.calls) == 2
    assert (
        RetryPolicy(wait=True).decide(ThrottledError("x", status_code=400, retry_after=30), method="GET")
        == 30
    )


def test_throttle_hint_beyond_a_few_seconds_is_raised_by_default(config) -> None:
    """By default a 30 s hint is not slept through: ThrottledError at once, with retry_after."""
    buc = json.dumps(
        {"1": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 0.5}]}
    )
    handler = Scripted(
        meta(*graph_error(80002, "too many calls"), headers={"x-business-use-case-usage": buc}),
        meta(200, PROFILE),
    )
    with client_for(handler) as http, pytest.raises(ThrottledError) as caught:
        run_sync(profile_flow(config), http)
    assert len(handler.calls) == 1
    assert caught.value.retry_after == 30
    policy = RetryPolicy()
    assert policy.decide(ThrottledError("x", status_code=400, retry_after=2), method="GET") == 2
    assert policy.decide(ThrottledError("x", status_code=400, retry_after=6), method="GET") is False


def test_throttle_with_a_long_wait_hint_is_raised_at_once(config) -> None:
    """A 19-minute wait hint exceeds the 60 s budget: raised at once with retry_after for the caller."""
    buc = json.dumps({"1": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 19}]})
    handler = Scripted(
        meta(*graph_error(80002, "too many calls"), headers={"x-business-use-case-usage": buc}),
        meta(200, PROFILE),
    )
    with client_for(handler) as http, pytest.raises(ThrottledError) as caught:
        run_sync(profile_flow(config), http)
    assert len(handler.calls) == 1
    assert caught.value.retry_after == 19 * 60


def test_policy_decisions() -> None:
    """decide(): Meta's hint is the wait, capped; non-retryable never; POSTs only when surely unsent."""
    policy = RetryPolicy(max_wait=60, wait=True)
    throttled = ThrottledError("t", status_code=400, retry_after=30)
    assert policy.decide(throttled, method="GET") == 30.0
    assert policy.decide(throttled, method="POST") == 30.0
    assert policy.decide(ThrottledError("t", status_code=400, retry_after=61), method="GET") is False
    assert policy.decide(ThrottledError("t", status_code=400), method="GET") is True
    assert policy.decide(NeedsReauthorizationError("x", status_code=400, code=190), method="GET") is False
    assert policy.decide(ValueError("x"), method="GET") is False
    assert policy.decide(TransientError("x", status_code=500), method="POST") is False
    unsent = TransportError("x")
    unsent.__cause__ = httpx.ConnectError("refused")
    assert policy.decide(unsent, method="POST") is True
    maybe_sent = TransportError("x")
    maybe_sent.__cause__ = httpx.ReadError("reset")
    assert policy.decide(maybe_sent, method="POST") is False
    assert not NO_RETRY.enabled


def test_code_exchange_post_is_not_repeated_after_it_may_have_arrived(config) -> None:
    """A 502 on the code exchange is not retried (the code may be spent); a refused connection is."""
    handler = Scripted(httpx.Response(502), meta(200, {"access_token": "IGAAx" * 5}))
    with client_for(handler) as http, pytest.raises(TransientError):
        run_sync(flows.exchange_code(config, CODE, now=NOW), http)
    assert len(handler.calls) == 1
    handler = Scripted(httpx.ConnectError("refused"), meta(200, {"access_token": "IGAAx" * 5}))
    with client_for(handler) as http:
        run_sync(flows.exchange_code(config, CODE, now=NOW), http)
    assert len(handler.calls) == 2


def test_transport_errors_are_wrapped_with_their_cause(config) -> None:
    """httpx errors become TransportError / RequestTimeout raised from the original."""
    handler = Scripted(httpx.ConnectError("connection refused"))
    with client_for(handler) as http, pytest.raises(TransportError) as caught:
        run_sync(profile_flow(config), http)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "GET https://graph.instagram.com/me" in str(caught.value)
    assert len(handler.calls) == 3
    handler = Scripted(httpx.ReadTimeout("slow"))
    with client_for(handler) as http, pytest.raises(RequestTimeout) as caught:
        run_sync(profile_flow(config), http, retry=NO_RETRY)
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(handler.calls) == 1


def test_one_log_line_per_request_with_redacted_url(config, caplog) -> None:
    """Every request, retried ones included, logs method, redacted URL, status and elapsed time."""
    caplog.set_level(logging.INFO, logger="igtoken.http")
    token = AccessToken(Secret("IGAAshort" + "x" * 20), TokenKind.IG_SHORT, NOW, NOW + timedelta(hours=1))
    handler = Scripted(httpx.Response(503), meta(200, {"access_token": LONG_TOKEN, "expires_in": 5183944}))
    with client_for(handler) as http:
        run_sync(flows.exchange_long_lived(config, token, now=NOW), http)
    lines = [r for r in caplog.records if r.name == "igtoken.http"]
    assert len(lines) == 2
    first = lines[0].getMessage()
    assert first.startswith("GET https://graph.instagram.com/access_token?grant_type=ig_exchange_token")
    assert "client_secret=[redacted]" in first and "access_token=[redacted]" in first
    assert "-> 503 in" in first and first.endswith(" ms")
    assert (lines[0].status_code, lines[0].http_method) == (503, "GET")
    assert APP_SECRET not in caplog.text and "IGAAshort" not in caplog.text


def test_no_request_line_is_built_when_its_level_is_off(config, caplog, monkeypatch) -> None:
    """With ``igtoken.http`` above INFO nothing is formatted or redacted for a call that went well;
    a failed call is still logged (a warning), redacted."""
    from igtoken.client import drive

    described: list[str] = []
    real = drive._describe
    monkeypatch.setattr(drive, "_describe", lambda *a: described.append("x") or real(*a))
    caplog.set_level(logging.WARNING, logger="igtoken.http")
    handler = Scripted(meta(200, PROFILE))
    with client_for(handler) as http:
        assert run_sync(profile_flow(config), http).username == "acme"
    assert described == [] and not [r for r in caplog.records if r.name == "igtoken.http"]
    handler = Scripted(httpx.ConnectError("refused"))
    with client_for(handler) as http, pytest.raises(TransportError):
        run_sync(profile_flow(config), http, retry=NO_RETRY)
    (line,) = [r for r in caplog.records if r.name == "igtoken.http"]
    assert line.levelno == logging.WARNING and "-> ConnectError after" in line.getMessage()
    assert LONG_TOKEN not in caplog.text


def test_on_response_sees_every_response(config) -> None:
    """The response hook is called for each answer, so usage can be recorded even from retried ones."""
    seen: list[Any] = []
    handler = Scripted(httpx.Response(500), meta(200, PROFILE))
    with client_for(handler) as http:
        run_sync(profile_flow(config), http, on_response=seen.append)
    assert [r.status_code for r in seen] == [500, 200]


async def test_async_driver_retries_and_wraps(config) -> None:
    """The async driver follows the same policy: 5xx retried, 190 not, transport errors wrapped."""
    handler = Scripted(httpx.Response(502), meta(200, PROFILE))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert (await run_async(profile_flow(config), http)).username == "acme"
    assert len(handler.calls) == 2
    handler = Scripted(meta(*graph_error(190, "dead", subcode=460)))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(NeedsReauthorizationError):
            await run_async(profile_flow(config), http)
    assert len(handler.calls) == 1
    handler = Scripted(httpx.ConnectTimeout("slow"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(RequestTimeout):
            await run_async(profile_flow(config), http, retry=NO_RETRY)
    handler = Scripted(meta(*graph_error(100, "Invalid verification code format.")))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(InvalidGrantError):
            await run_async(flows.exchange_code(config, CODE, now=NOW), http)


def test_real_loopback_connection_refused_and_timeout() -> None:
    """Against real sockets: a closed port is a TransportError, a silent server a RequestTimeout."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = make_config(endpoints=Endpoints.emulator(f"http://127.0.0.1:{closed_port}"), timeout=0.3)
    with httpx.Client() as http, pytest.raises(TransportError) as caught:
        run_sync(profile_flow(config), http, retry=NO_RETRY)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        config = make_config(
            endpoints=Endpoints.emulator(f"http://127.0.0.1:{silent.getsockname()[1]}"), timeout=0.3
        )
        with httpx.Client() as http, pytest.raises(RequestTimeout):
            run_sync(profile_flow(config), http, retry=NO_RETRY)
