"""Storing a Facebook login: an account per linked Page with its page and user tokens, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from igtoken._exceptions import ConfigurationError
from igtoken._fb_models import ConnectedPage, FacebookLoginResult
from igtoken._models import AccessToken, FlowKind, Profile, TokenKind
from igtoken._secret import Secret
from igtoken.vault import AccountStatus, Vault

from .conftest import T0

FB_USER = "10000000000000001"


@pytest.fixture
def fb_app(vault: Vault) -> str:
    """A Facebook Login app in the vault."""
    vault.add_app(
        "fb",
        instagram_app_id="770600000000001",
        app_secret=Secret("meta-secret"),
        redirect_uris=["https://example.test/callback"],
        flow_kind=FlowKind.FACEBOOK_LOGIN,
        meta_app_id="770600000000001",
        meta_app_secret=Secret("meta-secret"),
        now=T0,
    )
    return "fb"


def _result(user_value: str = "EAAuser-1", page_value: str = "EAApage-1") -> FacebookLoginResult:
    user = AccessToken(
        Secret(user_value),
        TokenKind.FB_USER,
        T0,
        T0 + timedelta(days=60),
        user_id=FB_USER,
        scopes=("instagram_basic", "pages_show_list"),
    )
    linked = ConnectedPage(
        "100000000000001",
        "Demo Business Page",
        AccessToken(Secret(page_value), TokenKind.FB_PAGE, T0, None, user_id="100000000000001"),
        Profile("17841400000000001", "demo_business"),
    )
    unlinked = ConnectedPage(
        "100000000000002",
        "Demo Agency Page",
        AccessToken(Secret("EAApage-unlinked"), TokenKind.FB_PAGE, T0, None),
    )
    return FacebookLoginResult(
        user_token=user,
        data_access_expires_at=T0 + timedelta(days=90),
        pages=(linked, unlinked),
        granted_scopes=("instagram_basic", "pages_show_list"),
    )


def test_linked_page_becomes_an_account_with_both_tokens(vault: Vault, fb_app: str) -> None:
    """The linked Page is an account (type unknown, Page, Facebook user, data access); unlinked is not."""
    check_at = T0 + timedelta(days=1)
    (account,) = vault.save_facebook_login(fb_app, _result(), now=T0, next_check_at=check_at)
    assert (account.ig_user_id, account.username) == ("17841400000000001", "demo_business")
    # graph.facebook.com does not say business or creator: the type is not guessed.
    assert account.account_type is None
    assert (account.page_id, account.page_name, account.fb_user_id) == (
        "100000000000001",
        "Demo Business Page",
        FB_USER,
    )
    assert account.data_access_expires_at == T0 + timedelta(days=90)
    assert account.via_facebook and account.served_kind is TokenKind.FB_PAGE
    assert account.scopes == ("instagram_basic", "pages_show_list")
    page = vault.current_token(account.id, TokenKind.FB_PAGE)
    assert page.token.value == Secret("EAApage-1")
    assert page.token.expires_at is None
    assert page.next_refresh_at == check_at
    user = vault.current_token(account.id, TokenKind.FB_USER)
    assert user.token.value == Secret("EAAuser-1")
    assert user.token.expires_at == T0 + timedelta(days=60)
    assert user.next_refresh_at is None
    assert len(vault.list_accounts()) == 1
    (event,) = vault.events(account_id=account.id)
    assert event.type == "connected" and event.data["page_id"] == "100000000000001"


def test_serve_token_hands_out_the_page_token(vault: Vault, fb_app: str) -> None:
    """A Facebook Login account serves its page token, not the newer user token, through serve_token."""
    (account,) = vault.save_facebook_login(fb_app, _result(), now=T0, next_check_at=T0 + timedelta(days=1))
    _, stored = vault.serve_token(account.id, now=T0, reader="igt_1")
    assert stored.token.kind is TokenKind.FB_PAGE and stored.token.value == Secret("EAApage-1")


def test_logging_in_again_rotates_both_tokens(vault: Vault, fb_app: str) -> None:
    """A second login keeps the account, makes it active, and leaves one current token per kind."""
    (first,) = vault.save_facebook_login(fb_app, _result(), now=T0)
    vault.mark_needs_reauth(first.id, "190/460", now=T0)
    later = T0 + timedelta(hours=2)
    (again,) = vault.save_facebook_login(fb_app, _result("EAAuser-2", "EAApage-2"), now=later)
    assert again.id == first.id and again.status is AccountStatus.ACTIVE
    assert vault.current_token(first.id, TokenKind.FB_PAGE).token.value == Secret("EAApage-2")
    assert vault.current_token(first.id, TokenKind.FB_USER).token.value == Secret("EAAuser-2")
    current = [h for h in vault.token_history(first.id) if h.is_current]
    assert sorted(h.kind.value for h in current) == ["fb_page", "fb_user"]


def test_nothing_linked_stores_nothing(vault: Vault, fb_app: str) -> None:
    """A login whose Pages have no linked Instagram account writes no account and no event."""
    result = _result()
    empty = FacebookLoginResult(result.user_token, None, result.pages[1:], result.granted_scopes)
    assert vault.save_facebook_login(fb_app, empty, now=T0) == []
    assert vault.list_accounts() == []
    assert [e.type for e in vault.events()] == ["app_added"]


def test_wrong_token_kind_is_refused(vault: Vault, fb_app: str) -> None:
    """A user token of another kind is a ConfigurationError, and nothing is stored."""
    result = _result()
    bad = FacebookLoginResult(
        AccessToken(Secret("IGAAx"), TokenKind.IG_LONG, T0, None), None, result.pages, result.granted_scopes
    )
    with pytest.raises(ConfigurationError, match="fb_user"):
        vault.save_facebook_login(fb_app, bad, now=T0)
    assert vault.list_accounts() == []


def test_deletion_empties_the_facebook_fields(vault: Vault, fb_app: str) -> None:
    """A data deletion leaves a tombstone without Page, Facebook user or expiry."""
    (account,) = vault.save_facebook_login(fb_app, _result(), now=T0)
    vault.delete_account_data(account.id, now=T0)
    gone = vault.get_account(account.id)
    assert (gone.page_id, gone.page_name, gone.fb_user_id, gone.data_access_expires_at) == (None,) * 4
    assert [h for h in vault.token_history(account.id)] == []
