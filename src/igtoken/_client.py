"""``Client`` and ``AsyncClient``: thin facades that build a flow and drive it.

Every protocol decision lives in the flows; these classes only hold the
configuration and the HTTP connection, read the real clock when the caller
does not pass ``now``, and remember the last usage figures Meta sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, TypeVar

import httpx

from igtoken import _fb_flows, _flows
from igtoken._authorize import Callback, authorization_url, parse_callback
from igtoken._config import ClientConfig
from igtoken._drive import run_async, run_sync
from igtoken._exceptions import ConfigurationError
from igtoken._fb_authorize import facebook_authorization_url
from igtoken._fb_models import (
    ConnectedPage,
    FacebookLoginResult,
    FacebookPage,
    FacebookPermissions,
    FacebookUser,
    TokenDebugInfo,
)
from igtoken._media import DEFAULT_MEDIA_FIELDS, Media
from igtoken._models import AccessToken, LoginResult, Profile
from igtoken._parse import CodeExchangeResult
from igtoken._retry import RetryPolicy
from igtoken._scopes import DEFAULT_SCOPES
from igtoken._secret import Secret
from igtoken._usage import Usage, parse_usage

T = TypeVar("T")


class _BaseClient:
    """What both facades share: configuration, the pure helpers, and usage bookkeeping."""

    def __init__(self, config: ClientConfig, *, retry: RetryPolicy | None) -> None:
        if not isinstance(config, ClientConfig):
            raise ConfigurationError(f"expected a ClientConfig, not {type(config).__name__}")
        self.config = config
        self.retry = retry if retry is not None else RetryPolicy.from_config(config)
        #: The usage figures from the most recent response that carried any.
        self.last_usage: Usage | None = None

    def _record(self, response: httpx.Response) -> None:
        usage = parse_usage(response.headers)
        if usage is not None:
            self.last_usage = usage

    @staticmethod
    def _now(now: datetime | None) -> datetime:
        return now if now is not None else datetime.now(UTC)

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


class Client(_BaseClient):
    """A synchronous Instagram Login client.

    Pass ``http`` to reuse your own :class:`httpx.Client` (it is then not
    closed by this one), or ``transport`` to route requests, e.g. to the
    emulator in-process. Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(config, retry=retry)
        if http is not None and transport is not None:
            raise ConfigurationError("pass either http or transport, not both")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(transport=transport, timeout=config.timeout)

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

    def exchange_code(
        self, code: Secret | str, *, requested_scopes: Sequence[str] = (), now: datetime | None = None
    ) -> CodeExchangeResult:
        """Exchange an authorization code (or the callback URL) for a short-lived token."""
        return self._run(
            _flows.exchange_code(self.config, code, now=self._now(now), requested_scopes=requested_scopes)
        )

    def exchange_long_lived(self, token: AccessToken | Secret, *, now: datetime | None = None) -> AccessToken:
        """Exchange a short-lived token for a 60-day one."""
        return self._run(_flows.exchange_long_lived(self.config, token, now=self._now(now)))

    def refresh(self, token: AccessToken, *, now: datetime | None = None) -> AccessToken:
        """Refresh a long-lived token (at least 24 hours old, unexpired) for another 60 days."""
        return self._run(_flows.refresh(self.config, token, now=self._now(now)))

    def profile(
        self, token: AccessToken | Secret, *, fields: Sequence[str] = _flows.PROFILE_FIELDS
    ) -> Profile:
        """Read the account behind ``token`` (``/me``)."""
        return self._run(_flows.profile(self.config, token, fields=fields))

    def media(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> list[Media]:
        """List the account's media, following pages up to ``limit`` items."""
        return self._run(
            _flows.media(self.config, token, user_id=user_id, fields=fields, page_size=page_size, limit=limit)
        )

    def login(
        self,
        callback_url_or_code: Secret | str,
        *,
        expected_state: str | None = None,
        requested_scopes: Sequence[str] = (),
        now: datetime | None = None,
    ) -> LoginResult:
        """Complete a login from the callback URL (or bare code): long-lived token plus account."""
        return self._run(
            _flows.login(
                self.config,
                callback_url_or_code,
                now=self._now(now),
                requested_scopes=requested_scopes,
                expected_state=expected_state,
            )
        )

    # --- Facebook Login for Business ------------------------------------------------------------

    def exchange_facebook_code(self, code: Secret | str, *, now: datetime | None = None) -> AccessToken:
        """Exchange a Facebook Login code (or the callback URL) for a Facebook user token."""
        return self._run(_fb_flows.exchange_facebook_code(self.config, code, now=self._now(now)))

    def exchange_facebook_long_lived(
        self, token: AccessToken | Secret, *, now: datetime | None = None
    ) -> AccessToken:
        """Exchange a Facebook user token for a long-lived (about 60 days) one."""
        return self._run(_fb_flows.exchange_facebook_long_lived(self.config, token, now=self._now(now)))

    def facebook_app_token(self) -> Secret:
        """Ask Meta for an app access token (``client_credentials``)."""
        return self._run(_fb_flows.facebook_app_token(self.config))

    def facebook_me(self, token: AccessToken | Secret) -> FacebookUser:
        """Read the Facebook user behind a user token (``/me``)."""
        return self._run(_fb_flows.facebook_me(self.config, token))

    def facebook_permissions(self, token: AccessToken | Secret) -> FacebookPermissions:
        """Read what the person granted and declined (``/me/permissions``)."""
        return self._run(_fb_flows.facebook_permissions(self.config, token))

    def pages(
        self, user_token: AccessToken | Secret, *, page_size: int | None = None, now: datetime | None = None
    ) -> list[FacebookPage]:
        """List the person's Pages with their page tokens (``/me/accounts``, every page followed)."""
        return self._run(_fb_flows.pages(self.config, user_token, now=self._now(now), page_size=page_size))

    def page_instagram_account(
        self, user_token: AccessToken | Secret, page_id: str, *, now: datetime | None = None
    ) -> ConnectedPage:
        """Read one Page's token and its linked Instagram account (``None`` if none is linked)."""
        return self._run(
            _fb_flows.page_instagram_account(self.config, user_token, page_id, now=self._now(now))
        )

    def debug_token(self, token: AccessToken | Secret, *, app_token: Secret | None = None) -> TokenDebugInfo:
        """Ask Meta about a token (``debug_token``); an invalid token is reported, not raised."""
        return self._run(_fb_flows.debug_token(self.config, token, app_token=app_token))

    def facebook_login(
        self,
        callback_url_or_code: Secret | str,
        *,
        expected_state: str | None = None,
        requested_scopes: Sequence[str] = (),
        now: datetime | None = None,
        required_scopes: Sequence[str] | None = None,
    ) -> FacebookLoginResult:
        """Complete a Facebook Login: long-lived user token, Pages, page tokens and Instagram accounts.

        Raises :class:`~igtoken.PermissionsDeclinedError` when a required permission was not granted.
        """
        return self._run(
            _fb_flows.facebook_login(
                self.config,
                callback_url_or_code,
                now=self._now(now),
                requested_scopes=requested_scopes,
                expected_state=expected_state,
                required_scopes=required_scopes,
            )
        )


class AsyncClient(_BaseClient):
    """The asynchronous twin of :class:`Client`, over :class:`httpx.AsyncClient`."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(config, retry=retry)
        if http is not None and transport is not None:
            raise ConfigurationError("pass either http or transport, not both")
        self._owns_http = http is None
        self._http = (
            http if http is not None else httpx.AsyncClient(transport=transport, timeout=config.timeout)
        )

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

    async def exchange_code(
        self, code: Secret | str, *, requested_scopes: Sequence[str] = (), now: datetime | None = None
    ) -> CodeExchangeResult:
        """Exchange an authorization code (or the callback URL) for a short-lived token."""
        return await self._run(
            _flows.exchange_code(self.config, code, now=self._now(now), requested_scopes=requested_scopes)
        )

    async def exchange_long_lived(
        self, token: AccessToken | Secret, *, now: datetime | None = None
    ) -> AccessToken:
        """Exchange a short-lived token for a 60-day one."""
        return await self._run(_flows.exchange_long_lived(self.config, token, now=self._now(now)))

    async def refresh(self, token: AccessToken, *, now: datetime | None = None) -> AccessToken:
        """Refresh a long-lived token (at least 24 hours old, unexpired) for another 60 days."""
        return await self._run(_flows.refresh(self.config, token, now=self._now(now)))

    async def profile(
        self, token: AccessToken | Secret, *, fields: Sequence[str] = _flows.PROFILE_FIELDS
    ) -> Profile:
        """Read the account behind ``token`` (``/me``)."""
        return await self._run(_flows.profile(self.config, token, fields=fields))

    async def media(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> list[Media]:
        """List the account's media, following pages up to ``limit`` items."""
        return await self._run(
            _flows.media(self.config, token, user_id=user_id, fields=fields, page_size=page_size, limit=limit)
        )

    async def login(
        self,
        callback_url_or_code: Secret | str,
        *,
        expected_state: str | None = None,
        requested_scopes: Sequence[str] = (),
        now: datetime | None = None,
    ) -> LoginResult:
        """Complete a login from the callback URL (or bare code): long-lived token plus account."""
        return await self._run(
            _flows.login(
                self.config,
                callback_url_or_code,
                now=self._now(now),
                requested_scopes=requested_scopes,
                expected_state=expected_state,
            )
        )

    # --- Facebook Login for Business ------------------------------------------------------------

    async def exchange_facebook_code(self, code: Secret | str, *, now: datetime | None = None) -> AccessToken:
        """Exchange a Facebook Login code (or the callback URL) for a Facebook user token."""
        return await self._run(_fb_flows.exchange_facebook_code(self.config, code, now=self._now(now)))

    async def exchange_facebook_long_lived(
        self, token: AccessToken | Secret, *, now: datetime | None = None
    ) -> AccessToken:
        """Exchange a Facebook user token for a long-lived (about 60 days) one."""
        return await self._run(_fb_flows.exchange_facebook_long_lived(self.config, token, now=self._now(now)))

    async def facebook_app_token(self) -> Secret:
        """Ask Meta for an app access token (``client_credentials``)."""
        return await self._run(_fb_flows.facebook_app_token(self.config))

    async def facebook_me(self, token: AccessToken | Secret) -> FacebookUser:
        """Read the Facebook user behind a user token (``/me``)."""
        return await self._run(_fb_flows.facebook_me(self.config, token))

    async def facebook_permissions(self, token: AccessToken | Secret) -> FacebookPermissions:
        """Read what the person granted and declined (``/me/permissions``)."""
        return await self._run(_fb_flows.facebook_permissions(self.config, token))

    async def pages(
        self, user_token: AccessToken | Secret, *, page_size: int | None = None, now: datetime | None = None
    ) -> list[FacebookPage]:
        """List the person's Pages with their page tokens (``/me/accounts``, every page followed)."""
        return await self._run(
            _fb_flows.pages(self.config, user_token, now=self._now(now), page_size=page_size)
        )

    async def page_instagram_account(
        self, user_token: AccessToken | Secret, page_id: str, *, now: datetime | None = None
    ) -> ConnectedPage:
        """Read one Page's token and its linked Instagram account (``None`` if none is linked)."""
        return await self._run(
            _fb_flows.page_instagram_account(self.config, user_token, page_id, now=self._now(now))
        )

    async def debug_token(
        self, token: AccessToken | Secret, *, app_token: Secret | None = None
    ) -> TokenDebugInfo:
        """Ask Meta about a token (``debug_token``); an invalid token is reported, not raised."""
        return await self._run(_fb_flows.debug_token(self.config, token, app_token=app_token))

    async def facebook_login(
        self,
        callback_url_or_code: Secret | str,
        *,
        expected_state: str | None = None,
        requested_scopes: Sequence[str] = (),
        now: datetime | None = None,
        required_scopes: Sequence[str] | None = None,
    ) -> FacebookLoginResult:
        """Complete a Facebook Login: long-lived user token, Pages, page tokens and Instagram accounts.

        Raises :class:`~igtoken.PermissionsDeclinedError` when a required permission was not granted.
        """
        return await self._run(
            _fb_flows.facebook_login(
                self.config,
                callback_url_or_code,
                now=self._now(now),
                requested_scopes=requested_scopes,
                expected_state=expected_state,
                required_scopes=required_scopes,
            )
        )
