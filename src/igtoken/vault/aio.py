"""The one async adapter: every call of :class:`Vault` run in a worker thread.

Storage is synchronous by design; async callers (the service) await these
wrappers so the event loop never blocks on the database or on decryption.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread

from igtoken.vault.apikeys import ApiKeys
from igtoken.vault.deletions import DeletionRequests
from igtoken.vault.links import ConnectLinks
from igtoken.vault.oauth_states import OAuthStates
from igtoken.vault.ratebuckets import RateBuckets
from igtoken.vault.replays import SeenSignedRequests
from igtoken.vault.repository import Vault
from igtoken.vault.sessions import RevokedSessions
from igtoken.vault.throttles import ProxyThrottles
from igtoken.vault.webhooks import WebhookDeliveries

__all__ = ["AsyncVault"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def _offload(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    name = method.__name__

    async def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound = getattr(self._target, name)
        return await anyio.to_thread.run_sync(functools.partial(bound, *args, **kwargs))

    call.__name__ = name
    call.__qualname__ = name
    call.__doc__ = method.__doc__
    return call


class _AsyncLinks:
    """:class:`ConnectLinks`, awaited."""

    def __init__(self, target: ConnectLinks) -> None:
        self._target = target

    create = _offload(ConnectLinks.create)
    get = _offload(ConnectLinks.get)
    get_by_id = _offload(ConnectLinks.get_by_id)
    list_all = _offload(ConnectLinks.list_all)
    use = _offload(ConnectLinks.use)
    revoke = _offload(ConnectLinks.revoke)
    reauthorization = _offload(ConnectLinks.reauthorization)


class _AsyncSignedRequests:
    """:class:`SeenSignedRequests`, awaited."""

    def __init__(self, target: SeenSignedRequests) -> None:
        self._target = target

    first_sight = _offload(SeenSignedRequests.first_sight)
    count = _offload(SeenSignedRequests.count)


class _AsyncSessions:
    """:class:`RevokedSessions`, awaited."""

    def __init__(self, target: RevokedSessions) -> None:
        self._target = target

    revoke = _offload(RevokedSessions.revoke)
    is_revoked = _offload(RevokedSessions.is_revoked)


class _AsyncThrottles:
    """:class:`ProxyThrottles`, awaited."""

    def __init__(self, target: ProxyThrottles) -> None:
        self._target = target

    hold = _offload(ProxyThrottles.hold)
    remaining = _offload(ProxyThrottles.remaining)


class _AsyncRateBuckets:
    """:class:`RateBuckets`, awaited."""

    def __init__(self, target: RateBuckets) -> None:
        self._target = target

    take = _offload(RateBuckets.take)


class _AsyncStates:
    """:class:`OAuthStates`, awaited."""

    def __init__(self, target: OAuthStates) -> None:
        self._target = target

    create = _offload(OAuthStates.create)
    consume = _offload(OAuthStates.consume)
    purge = _offload(OAuthStates.purge)


class _AsyncApiKeys:
    """:class:`ApiKeys`, awaited."""

    def __init__(self, target: ApiKeys) -> None:
        self._target = target

    create = _offload(ApiKeys.create)
    verify = _offload(ApiKeys.verify)
    list_all = _offload(ApiKeys.list_all)
    revoke = _offload(ApiKeys.revoke)


class _AsyncDeletions:
    """:class:`DeletionRequests`, awaited."""

    def __init__(self, target: DeletionRequests) -> None:
        self._target = target

    create = _offload(DeletionRequests.create)
    get = _offload(DeletionRequests.get)
    list_all = _offload(DeletionRequests.list_all)
    update = _offload(DeletionRequests.update)


class _AsyncWebhooks:
    """:class:`WebhookDeliveries`, awaited."""

    def __init__(self, target: WebhookDeliveries) -> None:
        self._target = target

    enqueue = _offload(WebhookDeliveries.enqueue)
    get = _offload(WebhookDeliveries.get)
    list_all = _offload(WebhookDeliveries.list_all)
    claim = _offload(WebhookDeliveries.claim)
    record_success = _offload(WebhookDeliveries.record_success)
    record_failure = _offload(WebhookDeliveries.record_failure)


class AsyncVault:
    """:class:`Vault` for async code: same methods, same arguments, awaited."""

    def __init__(self, vault: Vault) -> None:
        self._target = vault
        self.links = _AsyncLinks(vault.links)
        self.states = _AsyncStates(vault.states)
        self.api_keys = _AsyncApiKeys(vault.api_keys)
        self.deletions = _AsyncDeletions(vault.deletions)
        self.webhooks = _AsyncWebhooks(vault.webhooks)
        self.signed_requests = _AsyncSignedRequests(vault.signed_requests)
        self.sessions = _AsyncSessions(vault.sessions)
        self.throttles = _AsyncThrottles(vault.throttles)
        self.rate_buckets = _AsyncRateBuckets(vault.rate_buckets)

    @property
    def sync(self) -> Vault:
        """The synchronous vault underneath."""
        return self._target

    add_app = _offload(Vault.add_app)
    get_app = _offload(Vault.get_app)
    list_apps = _offload(Vault.list_apps)
    check_writable = _offload(Vault.check_writable)
    prune = _offload(Vault.prune)
    remove_app = _offload(Vault.remove_app)
    set_app_secret = _offload(Vault.set_app_secret)
    update_app = _offload(Vault.update_app)
    save_login = _offload(Vault.save_login)
    save_facebook_login = _offload(Vault.save_facebook_login)
    store_token = _offload(Vault.store_token)
    get_account = _offload(Vault.get_account)
    find_account = _offload(Vault.find_account)
    list_accounts = _offload(Vault.list_accounts)
    current_token = _offload(Vault.current_token)
    serve_token = _offload(Vault.serve_token)
    token_history = _offload(Vault.token_history)
    claim_due = _offload(Vault.claim_due)
    claim_account = _offload(Vault.claim_account)
    extend_lease = _offload(Vault.extend_lease)
    release = _offload(Vault.release)
    release_owned = _offload(Vault.release_owned)
    record_refresh_success = _offload(Vault.record_refresh_success)
    record_check_success = _offload(Vault.record_check_success)
    record_refresh_failure = _offload(Vault.record_refresh_failure)
    set_next_refresh = _offload(Vault.set_next_refresh)
    mark_needs_reauth = _offload(Vault.mark_needs_reauth)
    mark_deauthorized = _offload(Vault.mark_deauthorized)
    delete_account_data = _offload(Vault.delete_account_data)
    append_event = _offload(Vault.append_event)
    events = _offload(Vault.events)
    keys_status = _offload(Vault.keys_status)
    rotate_keys = _offload(Vault.rotate_keys)

    async def close(self) -> None:
        """Close every pooled connection."""
        await anyio.to_thread.run_sync(self._target.close)
