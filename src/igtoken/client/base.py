"""What :class:`~igtoken.Client` and :class:`~igtoken.AsyncClient` share: configuration, clock, retry policy.

The clock is the one place the clients learn the time: every call that needs
``now`` asks it, unless the caller passes ``now=`` explicitly. Tests point it at
the emulator's clock (``Client(config, clock=emulator_clock.now)``), so moving the
emulator's clock moves the client's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol, TypeAlias, runtime_checkable

import httpx

from igtoken.client.retry import RetryPolicy
from igtoken.core.config import ClientConfig
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.lifecycle import require_aware
from igtoken.core.models import AccessToken, TokenKind
from igtoken.core.secret import Secret
from igtoken.core.usage import Usage, parse_usage
from igtoken.facebook.authorize import facebook_authorization_url
from igtoken.instagram.authorize import Callback, authorization_url, parse_callback
from igtoken.instagram.scopes import DEFAULT_SCOPES


@runtime_checkable
class HasNow(Protocol):
    """Anything with a ``now()`` method returning an aware datetime (e.g. the emulator's clock)."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


#: A clock: a function returning the current aware datetime, or an object with ``now()``.
Clock: TypeAlias = Callable[[], datetime] | HasNow


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def _as_callable(clock: Clock | None) -> Callable[[], datetime]:
    if clock is None:
        return system_clock
    if isinstance(clock, HasNow):
        return clock.now
    if callable(clock):
        return clock
    raise ConfigurationError(f"clock must be a function returning a datetime, not {type(clock).__name__}")


def is_facebook_token(token: AccessToken | Secret | str) -> bool:
    """Whether ``token`` belongs on graph.facebook.com: an ``fb_*`` kind, or a bare ``EAA…`` string."""
    if isinstance(token, AccessToken):
        return token.kind in (TokenKind.FB_USER, TokenKind.FB_PAGE)
    value = token.reveal() if isinstance(token, Secret) else token
    return isinstance(value, str) and value.startswith("EAA")


class BaseClient:
    """Configuration, the clock, the retry policy, the pure helpers, and usage bookkeeping."""

    def __init__(
        self, config: ClientConfig, *, retry: RetryPolicy | None, clock: Clock | None, wait: bool
    ) -> None:
        if not isinstance(config, ClientConfig):
            raise ConfigurationError(f"expected a ClientConfig, not {type(config).__name__}")
        if retry is not None and wait:
            raise ConfigurationError(
                "pass wait=True or a retry policy, not both", fix="use RetryPolicy(..., wait=True)"
            )
        self.config = config
        self.retry = retry if retry is not None else RetryPolicy.from_config(config, wait=wait)
        self._clock = _as_callable(clock)
        #: The usage figures from the most recent response that carried any.
        self.last_usage: Usage | None = None

    def _record(self, response: httpx.Response) -> None:
        usage = parse_usage(response.headers)
        if usage is not None:
            self.last_usage = usage

    def now(self) -> datetime:
        """The client's current time: its clock's (the wall clock unless ``clock=`` was given)."""
        return require_aware(self._clock(), "the clock's time")

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else self.now()

    def authorization_url(
        self,
        *,
        state: str,
        scopes: str | Iterable[str] = DEFAULT_SCOPES,
        force_reauth: bool = False,
        enable_fb_login: bool | None = None,
    ) -> str:
        """The Instagram Login URL to send the browser to; see :func:`igtoken.authorization_url`."""
        return authorization_url(
            self.config.app,
            state=state,
            scopes=scopes,
            endpoints=self.config.endpoints,
            force_reauth=force_reauth,
            enable_fb_login=enable_fb_login,
        )

    def facebook_authorization_url(
        self,
        *,
        state: str,
        scopes: str | Iterable[str] | None = None,
        config_id: str | None = None,
        rerequest: bool = False,
        auth_type: str | None = None,
    ) -> str:
        """The Facebook Login dialog URL; see :func:`igtoken.facebook_authorization_url`."""
        return facebook_authorization_url(
            self.config.facebook,
            state=state,
            scopes=scopes,
            config_id=config_id,
            endpoints=self.config.endpoints,
            rerequest=rerequest,
            auth_type=auth_type,
        )

    def parse_callback(self, url_or_query: str, *, expected_state: str | None = None) -> Callback:
        """Read the redirect back from Instagram; see :func:`igtoken.parse_callback`."""
        return parse_callback(url_or_query, expected_state=expected_state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(app_id={self.config.app.app_id!r})"
