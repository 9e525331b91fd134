"""igtoken.refresh.facebook_accounts by hand: what a debug_token answer means, login summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.models import AccessToken, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.facebook.models import ConnectedPage, FacebookLoginResult, TokenDebugError, TokenDebugInfo
from igtoken.refresh.facebook_accounts import first_check_at, page_token_verdict, summarize_facebook_login

NOW = datetime(2026, 5, 1, tzinfo=UTC)
PAGE = "100000000000001"


def test_valid_page_token_that_never_expires() -> None:
    """A valid PAGE token of the right Page passes and says it never expires."""
    verdict = page_token_verdict(TokenDebugInfo(True, type="PAGE", profile_id=PAGE), PAGE)
    assert verdict.ok and not verdict.needs_reauth and verdict.detail == "valid, never expires"


@pytest.mark.parametrize("subcode", [460, 458, 463, 467, None])
def test_code_190_means_reauthorization(subcode: int | None) -> None:
    """Invalid with 190 (any subcode) is dead for good: re-authorization, with the code in the detail."""
    error = TokenDebugError(190, subcode, "Error validating access token")
    verdict = page_token_verdict(TokenDebugInfo(False, error=error), PAGE)
    assert not verdict.ok and verdict.needs_reauth
    assert "190" in verdict.detail and (subcode is None or f"/{subcode}" in verdict.detail)


def test_invalid_without_error_object_is_dead_too() -> None:
    """is_valid false with no error object: treated as dead (nothing else would revive it)."""
    assert page_token_verdict(TokenDebugInfo(False), PAGE).needs_reauth


def test_other_failures_are_reported_not_reauthorized() -> None:
    """A user token where a page token belongs, or another Page's token, fails without re-authorization."""
    wrong_type = page_token_verdict(TokenDebugInfo(True, type="USER"), PAGE)
    assert not wrong_type.ok and not wrong_type.needs_reauth and "USER" in wrong_type.detail
    other = page_token_verdict(TokenDebugInfo(True, type="PAGE", profile_id="999"), PAGE)
    assert not other.ok and not other.needs_reauth and "999" in other.detail
    unknown = page_token_verdict(TokenDebugInfo(False, error=TokenDebugError(1, None, "unknown")), PAGE)
    assert not unknown.ok and not unknown.needs_reauth


def test_expiring_page_token_says_until_when() -> None:
    """A page token from a short-lived user token expires; the detail gives the time."""
    info = TokenDebugInfo(True, type="PAGE", profile_id=PAGE, expires_at=NOW + timedelta(hours=1))
    assert page_token_verdict(info, PAGE).detail == "valid until 2026-05-01 01:00 UTC"


def test_first_check_is_one_interval_on_and_needs_aware_time() -> None:
    """The first check is a day after connecting (the policy's page_check_interval); naive time refused."""
    assert first_check_at(NOW) == NOW + timedelta(days=1)
    with pytest.raises(ConfigurationError):
        first_check_at(NOW.replace(tzinfo=None))


def test_summary_without_accounts_keeps_the_hint() -> None:
    """No stored account: the unlinked Pages are named and the hint is kept."""
    user = AccessToken(Secret("EAAu"), TokenKind.FB_USER, NOW, NOW + timedelta(days=60))
    page = ConnectedPage("2", "Agency", AccessToken(Secret("EAAp"), TokenKind.FB_PAGE, NOW, None))
    summary = summarize_facebook_login(FacebookLoginResult(user, None, (page,)), [])
    assert summary.accounts == () and summary.unlinked_names() == ["Agency"]
    assert summary.hint is not None and "'Agency'" in summary.hint
    assert summary.user_token_expires_at == NOW + timedelta(days=60)
    linked_no_token = ConnectedPage("3", "Shop", None, Profile("1784", "shop"))
    tokenless = summarize_facebook_login(FacebookLoginResult(user, None, (linked_no_token,)), [])
    assert tokenless.hint is not None and "no page token" in tokenless.hint
