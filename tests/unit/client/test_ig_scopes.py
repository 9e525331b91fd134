"""Scope names: the Instagram Login set passes, every look-alike is refused with its replacement."""

from __future__ import annotations

import pytest

from igtoken import DEFAULT_SCOPES, INSTAGRAM_LOGIN_SCOPES, REFUSED_SCOPES, ScopeError, check_scopes
from igtoken.instagram.scopes import split_scopes


def test_all_instagram_login_scopes_pass_in_order() -> None:
    """The five Instagram Login scopes are accepted and keep their order."""
    names = [
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_messages",
        "instagram_business_manage_comments",
        "instagram_business_manage_insights",
    ]
    assert tuple(names) == check_scopes(names)
    assert set(names) == INSTAGRAM_LOGIN_SCOPES
    assert DEFAULT_SCOPES == ("instagram_business_basic",)


def test_strings_are_split_on_commas_and_spaces_and_deduplicated() -> None:
    """A comma or space separated string is split; duplicates and blanks are dropped."""
    assert check_scopes(
        "instagram_business_basic, instagram_business_manage_comments instagram_business_basic,,"
    ) == ("instagram_business_basic", "instagram_business_manage_comments")


@pytest.mark.parametrize(
    ("name", "replacement", "why"),
    [
        ("business_basic", "instagram_business_basic", "2025-01-27"),
        ("business_content_publish", "instagram_business_content_publish", "retired"),
        ("business_manage_messages", "instagram_business_manage_messages", "retired"),
        ("business_manage_comments", "instagram_business_manage_comments", "retired"),
        ("user_profile", "instagram_business_basic", "Basic Display"),
        ("user_media", "instagram_business_basic", "2024-12-04"),
        ("instagram_basic", "instagram_business_basic", "Facebook Login"),
        ("instagram_content_publish", "instagram_business_content_publish", "Facebook Login"),
        ("instagram_manage_messages", "instagram_business_manage_messages", "Facebook Login"),
        ("instagram_manage_insights", "instagram_business_manage_insights", "Facebook Login"),
        ("pages_show_list", None, "Page"),
        ("business_management", None, "Page"),
        ("instagram_business_content_publishing", "instagram_business_content_publish", "misspelling"),
    ],
)
def test_refused_names_say_what_to_use_and_why(name: str, replacement: str | None, why: str) -> None:
    """Retired, Basic Display and Facebook Login names are refused, naming the replacement and the reason."""
    with pytest.raises(ScopeError) as caught:
        check_scopes(["instagram_business_basic", name])
    assert name == caught.value.scope
    assert replacement == caught.value.replacement
    assert why in str(caught.value)
    if replacement:
        assert replacement in caught.value.fix
    assert name in REFUSED_SCOPES


def test_unknown_name_suggests_the_closest_scope() -> None:
    """A typo gets a did-you-mean; nonsense gets the full list."""
    with pytest.raises(ScopeError) as caught:
        check_scopes("instagram_business_manage_comment")
    assert caught.value.replacement == "instagram_business_manage_comments"
    with pytest.raises(ScopeError) as caught:
        check_scopes("email")
    assert caught.value.replacement is None
    assert "instagram_business_basic" in caught.value.fix


def test_upper_case_and_empty_sets_are_refused() -> None:
    """Scope names are case-sensitive at Meta, and an empty scope set cannot log in."""
    with pytest.raises(ScopeError, match="lower case"):
        check_scopes("INSTAGRAM_BUSINESS_BASIC")
    with pytest.raises(ScopeError, match="no scopes"):
        check_scopes(" , ")
    with pytest.raises(ScopeError, match="strings"):
        split_scopes([1])  # type: ignore[list-item]


def test_scope_error_is_a_configuration_value_error() -> None:
    """ScopeError can be caught as ValueError, as the tree promises."""
    with pytest.raises(ValueError):
        check_scopes("user_profile")
