"""``Client`` and ``AsyncClient``: thin facades that build a flow and drive it.

Every protocol decision lives in the flows (:mod:`igtoken.instagram.flows`,
:mod:`igtoken.facebook.flows`); these classes hold the configuration, the HTTP
connection and the clock (:mod:`igtoken.client.base`), and remember the last
usage figures Meta sent. One client serves both login products: ``profile``,
``media`` and ``media_page`` go to graph.instagram.com with an Instagram Login
token and to graph.facebook.com (with ``appsecret_proof``) with a Facebook Page
or user token.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from igtoken.client.base import BaseClient, Clock, is_facebook_token
from igtoken.client.drive import run_async, run_sync
from igtoken.client.retry import RetryPolicy
from igtoken.core.config import ClientConfig
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.media import DEFAULT_MEDIA_FIELDS, Media, MediaPage
from igtoken.core.models import AccessToken, LoginResult, Profile, TokenInspection
from igtoken.core.secret import Secret
from igtoken.facebook import flows as _fb_flows
from igtoken.facebook.models import (
    ConnectedPage,
    FacebookLoginResult,
    FacebookPage,
    FacebookPermissions,
    FacebookUser,
    TokenDebugInfo,
)
from igtoken.instagram import flows as _flows
from igtoken.instagram.flows import Flow
from igtoken.instagram.parse import CodeExchangeResult

T = TypeVar("T")
P = ParamSpec("P")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
TR = TypeVar("TR", httpx.BaseTransport, httpx.AsyncBaseTransport)

__all__ = ["AsyncClient", "Client"]


def _profile_flow(
    config: ClientConfig, token: AccessToken | Secret, user_id: str | None, fields: Sequence[str] | None
) -> _flows.Flow[Profile]:
    if is_facebook_token(token):
        if user_id is None or user_id == "me":
            raise ConfigurationError(
                "with a Facebook token, profile() needs the Instagram account id: "
                "profile(token, user_id=ig_id)",
                fix="it is ConnectedPage.instagram_account.user_id from facebook_login()",
            )
        return _fb_flows.instagram_profile(
            config, token, user_id, fields=fields or _fb_flows.INSTAGRAM_PROFILE_FIELDS
        )
    if user_id not in (None, "me"):
        raise ConfigurationError("an Instagram Login token reads only its own account: leave user_id out")
    return _flows.profile(config, token, fields=fields or _flows.PROFILE_FIELDS)


def _check_fb_media_user(token: AccessToken | Secret, user_id: str) -> bool:
    if not is_facebook_token(token):
        return False
    if user_id == "me":
        raise ConfigurationError(
            "with a Facebook token, media needs the Instagram account id: media(token, user_id=ig_id)",
            fix="it is ConnectedPage.instagram_account.user_id from facebook_login()",
        )
    return True


class Operation(Generic[P, T]):
    """One client call, written once as the flow it runs: :class:`Client` runs it and returns the
    value, :class:`AsyncClient` runs it and is awaited for the value (same name, arguments, docs)."""

    def __init__(self, build: Callable[Concatenate[Any, P], Flow[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__

    @overload
    def __get__(self, client: None, owner: type) -> Operation[P, T]: ...
    @overload
    def __get__(self, client: Client, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: AsyncClient, owner: type) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: _Operations[Any, Any] | None, owner: type) -> Any:
        if client is None:
            return self
        build = self._build
        if client.awaited:

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return await client._run(build(client, *args, **kwargs))

            call: Callable[..., Any] = call_async
        else:

            def call(*args: Any, **kwargs: Any) -> Any:
                return client._run(build(client, *args, **kwargs))

        call.__name__ = call.__qualname__ = self.__name__
        call.__doc__ = self.__doc__
        return call


def operation(build: Callable[Concatenate[Any, P], Flow[T]]) -> Operation[P, T]:
    """Make ``build`` (a method that returns the flow of a call) a method of both clients."""
    return Operation(build)


class _Operations(BaseClient, Generic[H, TR]):
    """What both clients are: their construction, and every call, each as the flow it runs."""

    #: Whether :meth:`_run` is a coroutine (the async client).
    awaited: ClassVar[bool] = False

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: H | None = None,
        transport: TR | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        wait: bool = False,
    ) -> None:
        super().__init__(config, retry=retry, clock=clock, wait=wait)
        if http is not None and transport is not None:
            raise ConfigurationError("pass either http or transport, not both")
        self._owns_http = http is None
        self._http: H = http if http is not None else self._open_http(transport, config.timeout)

    def _open_http(self, transport: TR | None, timeout: float) -> H:
        raise NotImplementedError

    def _run(self, flow: Flow[T]) -> Any:
        raise NotImplementedError

    @operation
    def exchange_code(
        self, code: Secret | str, *, requested_scopes: Sequence[str] = (), now: datetime | None = None
    ) -> Flow[CodeExchangeResult]:
        """Exchange an authorization code (or the callback URL) for a short-lived token."""
        return _flows.exchange_code(self.config, code, now=self._now(now), requested_scopes=requested_scopes)

    @operation
    def exchange_long_lived(
        self, token: AccessToken | Secret, *, now: datetime | None = None
    ) -> Flow[AccessToken]:
        """Exchange a short-lived token for a 60-day one."""
        return _flows.exchange_long_lived(self.config, token, now=self._now(now))

    @operation
    def refresh(self, token: AccessToken, *, now: datetime | None = None) -> Flow[AccessToken]:
        """Refresh a long-lived token (at least 24 hours old, unexpired) for another 60 days."""
        return _flows.refresh(self.config, token, now=self._now(now))

    @operation
    def inspect(self, token: Secret | str, *, now: datetime | None = None) -> Flow[TokenInspection]:
        """Ask Meta what a bare token is (kind, expiry, account), e.g. one from an environment variable.

        An Instagram Login token (``IGAA…``) is read with ``/me`` and the refresh endpoint
        (:func:`igtoken.instagram.flows.inspect`: a token at least a day old comes back
        refreshed); a Facebook token (``EAA…``) with ``debug_token``
        (:func:`igtoken.facebook.flows.inspect`). ``inspection.token`` can then be refreshed
        and stored like any other.
        """
        if is_facebook_token(token):
            return _fb_flows.inspect(self.config, token, now=self._now(now))
        return _flows.inspect(self.config, token, now=self._now(now))

    @operation
    def profile(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> Flow[Profile]:
        """Read an Instagram account: ``/me`` on graph.instagram.com with an Instagram Login token,
        or ``/{user_id}`` on graph.facebook.com with a Facebook Page or user token.

        ``Profile.user_id`` is the professional account id either way.
        """
        return _profile_flow(self.config, token, user_id, fields)

    @operation
    def media_page(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        after: str | None = None,
    ) -> Flow[MediaPage]:
        """One page of the account's media; pass ``page.after`` back as ``after`` for the next one.

        With a Facebook token, ``user_id`` is the linked Instagram account's id.
        """
        if _check_fb_media_user(token, user_id):
            return _fb_flows.instagram_media_page(
                self.config, token, user_id, fields=fields, page_size=page_size, after=after
            )
        return _flows.media_page(
            self.config, token, user_id=user_id, fields=fields, page_size=page_size, after=after
        )

    @operation
    def media(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Flow[list[Media]]:
        """List the account's media, following pages up to ``limit`` items (from cursor ``after``).

        With a Facebook token, ``user_id`` is the linked Instagram account's id.
        """
        if _check_fb_media_user(token, user_id):
            return _fb_flows.instagram_media(
                self.config, token, user_id, fields=fields, page_size=page_size, limit=limit, after=after
            )
        return _flows.media(
            self.config,
            token,
            user_id=user_id,
            fields=fields,
            page_size=page_size,
            limit=limit,
            after=after,
        )

    @operation
    def login(
        self,
        callback_url_or_code: Secret | str,
        *,
        expected_state: str | None = None,
        requested_scopes: Sequence[str] = (),
        now: datetime | None = None,
    ) -> Flow[LoginResult]:
        """Complete a login from the callback URL (or bare code): long-lived token plus account."""
        return _flows.login(
            self.config,
            callback_url_or_code,
            now=self._now(now),
            requested_scopes=requested_scopes,
            expected_state=expected_state,
        )

    # --- Facebook Login for Business ------------------------------------------------------------

    @operation
    def exchange_facebook_code(self, code: Secret | str, *, now: datetime | None = None) -> Flow[AccessToken]:
        """Exchange a Facebook Login code (or the callback URL) for a Facebook user token."""
        return _fb_flows.exchange_facebook_code(self.config, code, now=self._now(now))

    @operation
    def exchange_facebook_long_lived(
        self, token: AccessToken | Secret, *, now: datetime | None = None
    ) -> Flow[AccessToken]:
        """Exchange a Facebook user token for a long-lived (about 60 days) one."""
        return _fb_flows.exchange_facebook_long_lived(self.config, token, now=self._now(now))

    @operation
    def facebook_app_token(self) -> Flow[Secret]:
        """Ask Meta for an app access token (``client_credentials``)."""
        return _fb_flows.facebook_app_token(self.config)

    @operation
    def facebook_me(self, token: AccessToken | Secret) -> Flow[FacebookUser]:
        """Read the Facebook user behind a user token (``/me``)."""
        return _fb_flows.facebook_me(self.config, token)

    @operation
    def facebook_permissions(self, token: AccessToken | Secret) -> Flow[FacebookPermissions]:
        """Read what the person granted and declined (``/me/permissions``)."""
        return _fb_flows.facebook_permissions(self.config, token)

    @operation
    def pages(
        self, user_token: AccessToken | Secret, *, page_size: int | None = None, now: datetime | None = None
    ) -> Flow[list[FacebookPage]]:
        """List the person's Pages with their page tokens (``/me/accounts``, every page followed)."""
        return _fb_flows.pages(self.config, user_token, now=self._now(now), page_size=page_size)

    @operation
    def page_instagram_account(
        self, user_token: AccessToken | Secret, page_id: str, *, now: datetime | None = None
    ) -> Flow[ConnectedPage]:
        """Read one Page's token and its linked Instagram account (``None`` if none is linked)."""
        return _fb_flows.page_instagram_account(self.config, user_token, page_id, now=self._now(now))

    @operation
    def debug_token(
        self, token: AccessToken | Secret, *, app_token: Secret | None = None
    ) -> Flow[TokenDebugInfo]:
        """Ask Meta about a token (``debug_token``); an invalid token is reported, not raised."""
        return _fb_flows.debug_token(self.config, token, app_token=app_token)

    @operation
    def facebook_login(
        self,
        callback_url_or_code: Secret | str,
        *,
        expected_state: str | None = None,
        requested_scopes: Sequence[str] = (),
        now: datetime | None = None,
        required_scopes: Sequence[str] | None = None,
    ) -> Flow[FacebookLoginResult]:
        """Complete a Facebook Login: long-lived user token, Pages, page tokens and Instagram accounts.

        Raises :class:`~igtoken.PermissionsDeclinedError` when a required permission was not granted.
        """
        return _fb_flows.facebook_login(
            self.config,
            callback_url_or_code,
            now=self._now(now),
            requested_scopes=requested_scopes,
            expected_state=expected_state,
            required_scopes=required_scopes,
        )


class Client(_Operations[httpx.Client, httpx.BaseTransport]):
    """A synchronous client for Instagram Login and Facebook Login for Business.

    Pass ``http`` to reuse your own :class:`httpx.Client` (it is then not
    closed by this one), or ``transport`` to route requests, e.g. to the
    emulator in-process. ``clock`` (a function returning an aware datetime, or
    an object with ``now()``) replaces the wall clock in every call; ``wait=True``
    sleeps through Meta's throttling hints instead of raising
    :class:`~igtoken.ThrottledError` (see :class:`~igtoken.RetryPolicy`). Use it as
    a context manager or call :meth:`close`.
    """

    def _open_http(self, transport: httpx.BaseTransport | None, timeout: float) -> httpx.Client:
        return httpx.Client(transport=transport, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connection pool, if this client opened it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, flow: _flows.Flow[T]) -> T:
        return run_sync(flow, self._http, retry=self.retry, on_response=self._record)


class AsyncClient(_Operations[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The asynchronous twin of :class:`Client`, over :class:`httpx.AsyncClient`: same methods, awaited."""

    awaited = True

    def _open_http(self, transport: httpx.AsyncBaseTransport | None, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP connection pool, if this client opened it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, flow: _flows.Flow[T]) -> T:
        return await run_async(flow, self._http, retry=self.retry, on_response=self._record)
