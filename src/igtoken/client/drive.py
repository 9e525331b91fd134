"""The two drivers: send a flow's requests over httpx, sync or async, and hand back the responses.

The only code duplicated between sync and async lives here. Each driver maps
httpx's exceptions to igtoken's (``raise … from``), retries per request under
the :class:`RetryPolicy`, and logs one line per request on the
``igtoken.http`` logger: method, redacted URL, status and elapsed time (at INFO; nothing is
formatted or redacted when that level is off, as in ``igtoken worker``, whose one line per
account says how each call ended).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar, cast

import httpx

from igtoken.client.log_redaction import install_log_redaction
from igtoken.client.retry import RetryPolicy
from igtoken.core.exceptions import (
    APIError,
    IGTokenError,
    RequestTimeout,
    TransportError,
    UnexpectedResponseError,
)
from igtoken.core.redact import redact_text, redact_url, secrets_in
from igtoken.instagram.flows import Flow
from igtoken.instagram.parse import error_from_response

T = TypeVar("T")

#: Called with every response received, retried ones included (e.g. to record usage).
ResponseHook = Callable[[httpx.Response], None]

logger = logging.getLogger("igtoken.http")


# Applications using the library without igtoken's logging setup get the logger filters too.
install_log_redaction(handlers=())

_DEFAULT_POLICY = RetryPolicy()


def _describe(request: httpx.Request, secrets: tuple[str, ...]) -> str:
    return f"{request.method} {redact_url(request.url, secrets)}"


def _log_response(
    request: httpx.Request, response: httpx.Response, started: float, secrets: Callable[[], tuple[str, ...]]
) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return  # nothing to describe (the redacted URL is the costly part)
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "%s -> %d in %.0f ms",
        _describe(request, secrets()),
        response.status_code,
        elapsed_ms,
        extra={"http_method": request.method, "status_code": response.status_code, "elapsed_ms": elapsed_ms},
    )


def _scrub_chain(exc: BaseException, secrets: tuple[str, ...]) -> None:
    """Redact the messages of ``exc`` and its causes in place.

    They become our exception's ``__cause__`` and are printed in every
    traceback; some transport errors quote the request URL, which may carry the
    token and app secret Meta requires in the query.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        current.args = tuple(redact_text(a, secrets) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__


def _wrap(
    exc: httpx.HTTPError, request: httpx.Request, started: float, secrets: tuple[str, ...]
) -> IGTokenError:
    elapsed_ms = (time.perf_counter() - started) * 1000
    _scrub_chain(exc, secrets)
    what = _describe(request, secrets)
    detail = redact_text(str(exc), secrets) or type(exc).__name__
    logger.warning(
        "%s -> %s after %.0f ms",
        what,
        type(exc).__name__,
        elapsed_ms,
        extra={"http_method": request.method, "status_code": None, "elapsed_ms": elapsed_ms},
    )
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"{what} timed out ({type(exc).__name__}: {detail})")
    if isinstance(exc, httpx.DecodingError):
        return UnexpectedResponseError(f"{what}: the response could not be decoded ({detail})")
    return TransportError(f"{what} failed: {type(exc).__name__}: {detail}")


class _Attempts:
    """What both drivers do around one HTTP exchange: log it, tell the hook, and judge the answer
    for the retry policy (a retryable error answer is raised, and kept for when retries run out)."""

    def __init__(self, request: httpx.Request, hook: ResponseHook | None) -> None:
        self.request = request
        self._secrets: tuple[str, ...] | None = None
        self.hook = hook
        self.started = 0.0
        self.last: httpx.Response | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credentials in the request, to redact; looked for only when something is written."""
        if self._secrets is None:
            self._secrets = secrets_in(self.request)
        return self._secrets

    def _secrets_now(self) -> tuple[str, ...]:
        return self.secrets

    def begin(self) -> None:
        self.started = time.perf_counter()
        self.last = None

    def failed(self, exc: httpx.HTTPError) -> IGTokenError:
        return _wrap(exc, self.request, self.started, self.secrets)

    def received(self, response: httpx.Response) -> httpx.Response:
        _log_response(self.request, response, self.started, self._secrets_now)
        if self.hook is not None:
            self.hook(response)
        return response

    def judged(self, response: httpx.Response) -> httpx.Response:
        problem = error_from_response(response, secrets=self.secrets)
        if problem is not None and problem.retryable:
            self.last = response
            raise problem
        return response

    def out_of_retries(self, error: APIError) -> httpx.Response:
        # Out of retries on an error answer: the flow turns it into its exception.
        if self.last is None:
            raise error
        return self.last


def _send_sync(
    client: httpx.Client, request: httpx.Request, policy: RetryPolicy, hook: ResponseHook | None
) -> httpx.Response:
    tries = _Attempts(request, hook)

    def once() -> httpx.Response:
        tries.begin()
        try:
            response = client.send(request)
        except httpx.HTTPError as exc:
            raise tries.failed(exc) from exc
        return tries.received(response)

    if not policy.enabled:
        return once()
    try:
        for attempt in policy.context(request):
            with attempt:
                return tries.judged(once())
    except APIError as exc:
        return tries.out_of_retries(exc)
    raise AssertionError("unreachable: a retry context makes at least one attempt")  # pragma: no cover


async def _send_async(
    client: httpx.AsyncClient, request: httpx.Request, policy: RetryPolicy, hook: ResponseHook | None
) -> httpx.Response:
    tries = _Attempts(request, hook)

    async def once() -> httpx.Response:
        tries.begin()
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            raise tries.failed(exc) from exc
        return tries.received(response)

    if not policy.enabled:
        return await once()
    try:
        async for attempt in policy.context(request):
            with attempt:
                return tries.judged(await once())
    except APIError as exc:
        return tries.out_of_retries(exc)
    raise AssertionError("unreachable: a retry context makes at least one attempt")  # pragma: no cover


def run_sync(
    flow: Flow[T],
    client: httpx.Client,
    *,
    retry: RetryPolicy | None = None,
    on_response: ResponseHook | None = None,
) -> T:
    """Drive ``flow`` to its end over a sync httpx client and return its value."""
    policy = retry or _DEFAULT_POLICY
    try:
        request = next(flow)
        while True:
            response = _send_sync(client, request, policy, on_response)
            request = flow.send(response)
    except StopIteration as stop:
        return cast(T, stop.value)
    finally:
        flow.close()


async def run_async(
    flow: Flow[T],
    client: httpx.AsyncClient,
    *,
    retry: RetryPolicy | None = None,
    on_response: ResponseHook | None = None,
) -> T:
    """Drive ``flow`` to its end over an async httpx client and return its value."""
    policy = retry or _DEFAULT_POLICY
    try:
        request = next(flow)
        while True:
            response = await _send_async(client, request, policy, on_response)
            request = flow.send(response)
    except StopIteration as stop:
        return cast(T, stop.value)
    finally:
        flow.close()
