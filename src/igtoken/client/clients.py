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

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

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
from igtoken.instagram.parse import CodeExchangeResult

T = TypeVar("T")

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


class Client(BaseClient):
    """A synchronous client for Instagram Login and Facebook Login for Business.

    Pass ``http`` to reuse your own :class:`httpx.Client` (it is then not
    closed by this one), or ``transport`` to route requests, e.g. to the
    emulator in-process. ``clock`` (a function returning an aware datetime, or
    an object with ``now()``) replaces the wall clock in every call; ``wait=True``
    sleeps through Meta's throttling hints instead of raising
    :class:`~igtoken.ThrottledError` (see :class:`~igtoken.RetryPolicy`). Use it as
    a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        wait: bool = False,
    ) -> None:
        super().__init__(config, retry=retry, clock=clock, wait=wait)
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

    def inspect(self, token: Secret | str, *, now: datetime | None = None) -> TokenInspection:
        """Ask Meta what a bare token is (kind, expiry, account), e.g. one from an environment variable.

        An Instagram Login token (``IGAA…``) is read with ``/me`` and the refresh endpoint
        (:func:`igtoken.instagram.flows.inspect`: a token at least a day old comes back
        refreshed); a Facebook token (``EAA…``) with ``debug_token``
        (:func:`igtoken.facebook.flows.inspect`). ``inspection.token`` can then be refreshed
        and stored like any other.
        """
        if is_facebook_token(token):
            return self._run(_fb_flows.inspect(self.config, token, now=self._now(now)))
        return self._run(_flows.inspect(self.config, token, now=self._now(now)))

    def profile(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> Profile:
        """Read an Instagram account: ``/me`` on graph.instagram.com with an Instagram Login token,
        or ``/{user_id}`` on graph.facebook.com with a Facebook Page or user token.

        ``Profile.user_id`` is the professional account id either way.
        """
        return self._run(_profile_flow(self.config, token, user_id, fields))

    def media_page(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        after: str | None = None,
    ) -> MediaPage:
        """One page of the account's media; pass ``page.after`` back as ``after`` for the next one.

        With a Facebook token, ``user_id`` is the linked Instagram account's id.
        """
        if _check_fb_media_user(token, user_id):
            return self._run(
                _fb_flows.instagram_media_page(
                    self.config, token, user_id, fields=fields, page_size=page_size, after=after
                )
            )
        return self._run(
            _flows.media_page(
                self.config, token, user_id=user_id, fields=fields, page_size=page_size, after=after
            )
        )

    def media(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[Media]:
        """List the account's media, following pages up to ``limit`` items (from cursor ``after``).

        With a Facebook token, ``user_id`` is the linked Instagram account's id.
        """
        if _check_fb_media_user(token, user_id):
            return self._run(
                _fb_flows.instagram_media(
                    self.config, token, user_id, fields=fields, page_size=page_size, limit=limit, after=after
                )
            )
        return self._run(
            _flows.media(
                self.config,
                token,
                user_id=user_id,
                fields=fields,
                page_size=page_size,
                limit=limit,
                after=after,
            )
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


class AsyncClient(BaseClient):
    """The asynchronous twin of :class:`Client`, over :class:`httpx.AsyncClient`: same methods, awaited."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        wait: bool = False,
    ) -> None:
        super().__init__(config, retry=retry, clock=clock, wait=wait)
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

    async def inspect(self, token: Secret | str, *, now: datetime | None = None) -> TokenInspection:
        """Ask Meta what a bare token is (kind, expiry, account), e.g. one from an environment variable.

        An Instagram Login token (``IGAA…``) is read with ``/me`` and the refresh endpoint
        (:func:`igtoken.instagram.flows.inspect`: a token at least a day old comes back
        refreshed); a Facebook token (``EAA…``) with ``debug_token``
        (:func:`igtoken.facebook.flows.inspect`). ``inspection.token`` can then be refreshed
        and stored like any other.
        """
        if is_facebook_token(token):
            return await self._run(_fb_flows.inspect(self.config, token, now=self._now(now)))
        return await self._run(_flows.inspect(self.config, token, now=self._now(now)))

    async def profile(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> Profile:
        """Read an Instagram account: ``/me`` on graph.instagram.com with an Instagram Login token,
        or ``/{user_id}`` on graph.facebook.com with a Facebook Page or user token.

        ``Profile.user_id`` is the professional account id either way.
        """
        return await self._run(_profile_flow(self.config, token, user_id, fields))

    async def media_page(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        after: str | None = None,
    ) -> MediaPage:
        """One page of the account's media; pass ``page.after`` back as ``after`` for the next one.

        With a Facebook token, ``user_id`` is the linked Instagram account's id.
        """
        if _check_fb_media_user(token, user_id):
            return await self._run(
                _fb_flows.instagram_media_page(
                    self.config, token, user_id, fields=fields, page_size=page_size, after=after
                )
            )
        return await self._run(
            _flows.media_page(
                self.config, token, user_id=user_id, fields=fields, page_size=page_size, after=after
            )
        )

    async def media(
        self,
        token: AccessToken | Secret,
        *,
        user_id: str = "me",
        fields: Sequence[str] = DEFAULT_MEDIA_FIELDS,
        page_size: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[Media]:
        """List the account's media, following pages up to ``limit`` items (from cursor ``after``).

        With a Facebook token, ``user_id`` is the linked Instagram account's id.
        """
        if _check_fb_media_user(token, user_id):
            return await self._run(
                _fb_flows.instagram_media(
                    self.config, token, user_id, fields=fields, page_size=page_size, limit=limit, after=after
                )
            )
        return await self._run(
            _flows.media(
                self.config,
                token,
                user_id=user_id,
                fields=fields,
                page_size=page_size,
                limit=limit,
                after=after,
            )
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
