"""Facebook Login permission checks: accepted names, refused look-alikes with their replacements."""

from __future__ import annotations

import pytest

from igtoken import (
    DEFAULT_FACEBOOK_SCOPES,
    FACEBOOK_LOGIN_SCOPES,
    INSTAGRAM_LOGIN_SCOPES,
    REFUSED_FACEBOOK_SCOPES,
    ScopeError,
    check_facebook_scopes,
    no_pages_hint,
)


def test_the_documented_permissions_are_accepted_in_order() -> None:
    """The fact sheet's scope list passes unchanged, order kept, duplicates dropped."""
    asked = "instagram_basic,pages_show_list pages_read_engagement,business_management,instagram_basic"
    assert check_facebook_scopes(asked) == (
        "instagram_basic",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    )
    for name in (
        "instagram_content_publish",
        "instagram_manage_comments",
        "instagram_manage_insights",
        "instagram_manage_messages",
    ):
        assert name in FACEBOOK_LOGIN_SCOPES


def test_defaults_are_facebook_names_and_include_business_management() -> None:
    """The defaults pass the check and ask for business_management (v17 portfolio Pages)."""
    assert check_facebook_scopes(DEFAULT_FACEBOOK_SCOPES) == DEFAULT_FACEBOOK_SCOPES
    assert "business_management" in DEFAULT_FACEBOOK_SCOPES


@pytest.mark.parametrize("name", sorted(INSTAGRAM_LOGIN_SCOPES))
def test_instagram_login_names_are_refused_with_the_facebook_name(name: str) -> None:
    """Every instagram_business_* name is refused, naming the instagram_* replacement and Instagram Login."""
    with pytest.raises(ScopeError) as info:
        check_facebook_scopes(["pages_show_list", name])
    expected = name.replace("instagram_business_", "instagram_")
    assert info.value.scope == name
    assert info.value.replacement == expected
    assert "Instagram Login" in str(info.value)
    assert repr(expected) in info.value.fix


@pytest.mark.parametrize("name", ["user_profile", "user_media", "instagram_graph_user_profile"])
def test_basic_display_names_are_refused(name: str) -> None:
    """Basic Display names are refused as a shut-down API, with instagram_basic as the replacement."""
    with pytest.raises(ScopeError, match="Basic Display") as info:
        check_facebook_scopes(name)
    assert info.value.replacement == "instagram_basic"


def test_every_refused_name_is_outside_the_accepted_set() -> None:
    """No name is both accepted and refused, and every replacement is itself accepted."""
    assert not set(REFUSED_FACEBOOK_SCOPES) & FACEBOOK_LOGIN_SCOPES
    for refused in REFUSED_FACEBOOK_SCOPES.values():
        assert refused.replacement is None or refused.replacement in FACEBOOK_LOGIN_SCOPES


def test_upper_case_typo_and_empty_are_refused_with_a_fix() -> None:
    """Wrong case names the lower-case form, a typo the near name, an empty set asks for the defaults."""
    with pytest.raises(ScopeError, match="lower case") as info:
        check_facebook_scopes("Instagram_Basic")
    assert info.value.replacement == "instagram_basic"
    with pytest.raises(ScopeError) as info:
        check_facebook_scopes("pages_show_lists")
    assert info.value.replacement == "pages_show_list"
    with pytest.raises(ScopeError, match="no scopes"):
        check_facebook_scopes(" , ")


def test_no_pages_hint_names_what_is_missing() -> None:
    """With known scopes the hint names the missing ones; else it says business_management may be missing."""
    assert "business_management may be missing" in no_pages_hint()
    hint = no_pages_hint(["instagram_basic", "pages_show_list"])
    assert "lacks business_management" in hint
    assert "pages_show_list" not in hint.split("lacks")[1].split(":")[0]
