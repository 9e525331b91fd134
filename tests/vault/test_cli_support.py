"""Vault methods the CLI needs: changing an app's redirect URIs, leasing one account on demand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from igtoken.core.exceptions import ConfigurationError, ConflictError, NotFoundError
from igtoken.core.secret import Secret
from igtoken.vault import Vault

from .conftest import T0, token

Connect = Callable[..., str]


def test_update_app_replaces_redirect_uris_and_scopes(vault: Vault, app_name: str) -> None:
    """update_app replaces the lists it is given (deduplicated) and keeps the others."""
    later = T0 + timedelta(hours=1)
    app = vault.update_app(app_name, now=later, redirect_uris=["https://a.test/cb", "https://a.test/cb"])
    assert app.redirect_uris == ("https://a.test/cb",)
    assert app.default_scopes == ("instagram_business_basic",)
    assert app.updated_at == later
    app = vault.update_app(app_name, now=later, default_scopes=["instagram_business_content_publish"])
    assert app.redirect_uris == ("https://a.test/cb",)
    assert app.default_scopes == ("instagram_business_content_publish",)


def test_update_app_rejects_bad_input(vault: Vault, app_name: str) -> None:
    """A bare string or an empty URI is refused; an unknown app is NotFound."""
    with pytest.raises(ConfigurationError):
        vault.update_app(app_name, now=T0, redirect_uris="https://a.test/cb")
    with pytest.raises(ConfigurationError):
        vault.update_app(app_name, now=T0, redirect_uris=[""])
    with pytest.raises(NotFoundError):
        vault.update_app("nope", now=T0, redirect_uris=[])


def test_claim_account_leases_one_token_even_when_not_due(vault: Vault, connect: Connect) -> None:
    """claim_account leases the current token whatever its schedule; others conflict until it lapses."""
    account_id = connect("t-now", next_refresh_at=T0 + timedelta(days=7))
    claim = vault.claim_account(account_id, now=T0, owner="cli", lease_seconds=60)
    assert claim.token.value == Secret("t-now")
    with pytest.raises(ConflictError):
        vault.claim_account(account_id, now=T0 + timedelta(seconds=10), owner="worker")
    new_id = vault.record_refresh_success(
        claim, token("t-new", at=T0), now=T0 + timedelta(seconds=5), next_refresh_at=None
    )
    assert vault.current_token(account_id).token_id == new_id
    again = vault.claim_account(account_id, now=T0 + timedelta(seconds=11), owner="worker")
    assert again.token.value == Secret("t-new")


def test_claim_account_without_token(vault: Vault, connect: Connect) -> None:
    """An unknown account is NotFound."""
    with pytest.raises(NotFoundError):
        vault.claim_account("missing", now=T0, owner="cli")
