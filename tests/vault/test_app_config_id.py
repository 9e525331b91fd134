"""Issue 20: a Facebook Login app's Login for Business configuration (``apps.config_id``, migration 0005)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.vault import Vault

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add_fb(vault: Vault, **kwargs) -> str:
    record = vault.add_app(
        "fb",
        instagram_app_id="770600000000001",
        app_secret=Secret("s"),
        redirect_uris=["https://tokens.example/oauth/callback"],
        now=NOW,
        flow_kind=FlowKind.FACEBOOK_LOGIN,
        meta_app_id="770600000000001",
        meta_app_secret=Secret("s"),
        **kwargs,
    )
    return record.id


def test_config_id_is_stored_kept_replaced_and_removed(vault: Vault) -> None:
    app_id = add_fb(vault, config_id="987654321")
    assert vault.get_app(app_id).config_id == "987654321"
    assert vault.list_apps()[0].config_id == "987654321"
    vault.update_app(app_id, now=NOW, default_scopes=["instagram_basic"])  # KEEP by default
    assert vault.get_app(app_id).config_id == "987654321"
    vault.update_app(app_id, now=NOW, config_id="123")
    assert vault.get_app(app_id).config_id == "123"
    vault.update_app(app_id, now=NOW, config_id=None)
    assert vault.get_app(app_id).config_id is None


def test_config_id_is_refused_for_instagram_login_and_when_not_digits(vault: Vault) -> None:
    with pytest.raises(ConfigurationError, match="Facebook Login for Business"):
        vault.add_app(
            "ig", instagram_app_id="1", app_secret=Secret("s"), redirect_uris=[], now=NOW, config_id="1"
        )
    with pytest.raises(ConfigurationError, match="numeric id"):
        add_fb(vault, config_id="cfg")
    app_id = add_fb(vault)
    with pytest.raises(ConfigurationError, match="numeric id"):
        vault.update_app(app_id, now=NOW, config_id="12a")
    assert vault.get_app(app_id).config_id is None
