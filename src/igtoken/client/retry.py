"""The retry policy: which failures are tried again, how often, and how long igtoken waits.

Built on stamina, so ``stamina.set_testing(True)`` turns every wait off in tests.
What is retried is decided by the exception's ``retryable`` attribute, never its
class name: transport failures, Meta's transient errors (1, 2, 5xx) and
throttling. A dead token (190) or a bad request (100) is never retried.

A throttle whose wait hint from Meta is longer than a few seconds
(:attr:`RetryPolicy.throttle_sleep_max`) is raised at once as
:class:`~igtoken.ThrottledError` with ``retry_after``, so a program is never
silently blocked for a minute; ``wait=True`` waits it out (up to ``max_wait``).

stamina reports each scheduled retry on the ``stamina`` logger at WARNING. igtoken
gives that logger a :class:`logging.NullHandler`, so an application that has not
configured logging gets no stray ``stamina.retry_scheduled`` line on stderr; one
that has configured logging still receives the records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import stamina

from igtoken.core.exceptions import IGTokenError, ThrottledError, TransportError

if TYPE_CHECKING:
    from igtoken.core.config import ClientConfig

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
# Failures that prove the request never reached Meta, so even a POST may be repeated.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)

# Without a handler anywhere, logging's last resort prints stamina's WARNING to stderr.
_stamina_logger = logging.getLogger("stamina")
if not any(isinstance(h, logging.NullHandler) for h in _stamina_logger.handlers):
    _stamina_logger.addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to try one request and how long to wait between tries.

    ``max_wait`` caps the whole retry budget in seconds. A throttle whose wait hint
    from Meta is longer than ``throttle_sleep_max`` seconds is raised at once (with
    ``retry_after``) so the caller can reschedule instead of blocking; with
    ``wait=True`` hints up to ``max_wait`` are slept through (igtoken's behaviour
    before 0.1). ``attempts=1`` turns retries off.
    """

    attempts: int = 4
    max_wait: float = 60.0
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait: bool = False
    throttle_sleep_max: float = 5.0

    @classmethod
    def from_config(cls, config: ClientConfig, *, wait: bool = False) -> RetryPolicy:
        """The policy a :class:`ClientConfig` asks for; ``wait=True`` sleeps through throttles."""
        return cls(attempts=config.retry_attempts, max_wait=config.retry_max_wait, wait=wait)

    @property
    def enabled(self) -> bool:
        """Whether a failed request is ever tried again."""
        return self.attempts > 1

    def decide(self, exc: BaseException, *, method: str) -> bool | float:
        """stamina's backoff hook: ``False`` to give up, ``True`` for backoff, seconds for Meta's hint.

        A non-idempotent request (the code exchange POST spends the code) is
        repeated only when it surely never arrived, or when Meta throttled it.
        """
        if not isinstance(exc, IGTokenError) or not exc.retryable:
            return False
        never_sent = isinstance(exc, TransportError) and isinstance(exc.__cause__, _NEVER_SENT)
        if method.upper() not in _IDEMPOTENT and not isinstance(exc, ThrottledError) and not never_sent:
            return False
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > 0:
            longest = self.max_wait if self.wait else min(self.throttle_sleep_max, self.max_wait)
            return False if retry_after > longest else float(retry_after)
        return True

    def context(self, request: httpx.Request) -> Any:
        """A stamina retry context for sending ``request`` (iterate it sync or async)."""
        method = request.method

        def hook(exc: Exception) -> bool | float:
            return self.decide(exc, method=method)

        on: Callable[[Exception], bool | float] = hook
        return stamina.retry_context(
            on=on,
            attempts=self.attempts,
            timeout=self.max_wait,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
        )


#: Send every request once.
NO_RETRY = RetryPolicy(attempts=1)
