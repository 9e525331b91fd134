"""The Facebook Login for Business permission set, and the look-alike names refused before a URL is built.

Instagram reached through Facebook Login uses the ``instagram_*`` names plus
the Page permissions that lead to the Instagram account. The Instagram Login
names (``instagram_business_*``) look almost the same and fail at the dialog
with "Invalid Scopes", so they are refused here with the Facebook name to use.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from igtoken._exceptions import ScopeError
from igtoken._scopes import RefusedScope, split_scopes

INSTAGRAM_BASIC: Final = "instagram_basic"
INSTAGRAM_CONTENT_PUBLISH: Final = "instagram_content_publish"
INSTAGRAM_MANAGE_COMMENTS: Final = "instagram_manage_comments"
INSTAGRAM_MANAGE_INSIGHTS: Final = "instagram_manage_insights"
INSTAGRAM_MANAGE_MESSAGES: Final = "instagram_manage_messages"
PAGES_SHOW_LIST: Final = "pages_show_list"
PAGES_READ_ENGAGEMENT: Final = "pages_read_engagement"
BUSINESS_MANAGEMENT: Final = "business_management"

#: Every permission igtoken lets a Facebook Login dialog ask for: the Instagram, Page,
#: business and ads permissions Meta lists for the Instagram API with Facebook Login.
FACEBOOK_LOGIN_SCOPES: Final = frozenset(
    {
        INSTAGRAM_BASIC,
        INSTAGRAM_CONTENT_PUBLISH,
        INSTAGRAM_MANAGE_COMMENTS,
        INSTAGRAM_MANAGE_INSIGHTS,
        INSTAGRAM_MANAGE_MESSAGES,
        "instagram_shopping_tag_products",
        "instagram_manage_events",
        "instagram_branded_content_brand",
        "instagram_branded_content_creator",
        "instagram_branded_content_ads_brand",
        PAGES_SHOW_LIST,
        PAGES_READ_ENGAGEMENT,
        "pages_read_user_content",
        "pages_manage_metadata",
        "pages_manage_posts",
        "pages_manage_engagement",
        "pages_messaging",
        BUSINESS_MANAGEMENT,
        "ads_management",
        "ads_read",
        "read_insights",
        "public_profile",
        "email",
    }
)

#: What igtoken asks for when the caller does not say: the Instagram account's profile
#: and media, the Pages it hangs off, and ``business_management`` because since Graph
#: v17 ``/me/accounts`` hides Pages owned by a business portfolio without it.
DEFAULT_FACEBOOK_SCOPES: Final = (
    INSTAGRAM_BASIC,
    PAGES_SHOW_LIST,
    PAGES_READ_ENGAGEMENT,
    BUSINESS_MANAGEMENT,
)

#: What a Facebook login cannot do without: ``pages_show_list`` lists the Pages (``/me/accounts``
#: answers (#10) without it) and ``instagram_basic`` reads the Instagram account behind a Page.
REQUIRED_FACEBOOK_SCOPES: Final = (INSTAGRAM_BASIC, PAGES_SHOW_LIST)

_INSTAGRAM_LOGIN = (
    "is an Instagram Login name; Facebook Login rejects it with 'Invalid Scopes' "
    "(it uses the instagram_* names without 'business')"
)
_RETIRED = "is a retired Instagram Login name (Meta dropped the business_* names on 2025-01-27)"
_BASIC_DISPLAY = "belongs to the Instagram Basic Display API, which Meta shut down on 2024-12-04"
_LEGACY = "belongs to the Legacy Instagram API, retired in 2020"
_OLD_PAGES = "is a Page permission Meta replaced with the pages_* names in Graph v3.3 and later"


def _refusals() -> dict[str, RefusedScope]:
    table: list[tuple[str, str | None, str]] = [
        ("instagram_business_basic", INSTAGRAM_BASIC, _INSTAGRAM_LOGIN),
        ("instagram_business_content_publish", INSTAGRAM_CONTENT_PUBLISH, _INSTAGRAM_LOGIN),
        ("instagram_business_manage_comments", INSTAGRAM_MANAGE_COMMENTS, _INSTAGRAM_LOGIN),
        ("instagram_business_manage_insights", INSTAGRAM_MANAGE_INSIGHTS, _INSTAGRAM_LOGIN),
        ("instagram_business_manage_messages", INSTAGRAM_MANAGE_MESSAGES, _INSTAGRAM_LOGIN),
        ("instagram_business_content_publishing", INSTAGRAM_CONTENT_PUBLISH, _INSTAGRAM_LOGIN),
        ("business_basic", INSTAGRAM_BASIC, _RETIRED),
        ("business_content_publish", INSTAGRAM_CONTENT_PUBLISH, _RETIRED),
        ("business_manage_comments", INSTAGRAM_MANAGE_COMMENTS, _RETIRED),
        ("business_manage_messages", INSTAGRAM_MANAGE_MESSAGES, _RETIRED),
        ("business_manage_insights", INSTAGRAM_MANAGE_INSIGHTS, _RETIRED),
        ("user_profile", INSTAGRAM_BASIC, _BASIC_DISPLAY),
        ("user_media", INSTAGRAM_BASIC, _BASIC_DISPLAY),
        ("instagram_graph_user_profile", INSTAGRAM_BASIC, _BASIC_DISPLAY),
        ("instagram_graph_user_media", INSTAGRAM_BASIC, _BASIC_DISPLAY),
        ("basic", INSTAGRAM_BASIC, _LEGACY),
        ("public_content", INSTAGRAM_BASIC, _LEGACY),
        ("comments", INSTAGRAM_MANAGE_COMMENTS, _LEGACY),
        ("relationships", None, _LEGACY),
        ("likes", None, _LEGACY),
        ("follower_list", None, _LEGACY),
        ("manage_pages", PAGES_SHOW_LIST, _OLD_PAGES),
        ("publish_pages", "pages_manage_posts", _OLD_PAGES),
    ]
    return {name: RefusedScope(name, replacement, reason) for name, replacement, reason in table}


#: Every name refused in a Facebook Login dialog, with its replacement and reason.
REFUSED_FACEBOOK_SCOPES: Final[Mapping[str, RefusedScope]] = MappingProxyType(_refusals())


def check_facebook_scope(name: str) -> str:
    """Return ``name`` if igtoken lets Facebook Login ask for it; raise :class:`ScopeError` naming the fix."""
    if name in FACEBOOK_LOGIN_SCOPES:
        return name
    lowered = name.lower()
    if lowered in FACEBOOK_LOGIN_SCOPES:
        raise ScopeError(
            f"scope {name!r} must be lower case", scope=name, replacement=lowered, fix=f"use {lowered!r}"
        )
    refused = REFUSED_FACEBOOK_SCOPES.get(lowered)
    if refused is not None:
        fix = f"use {refused.replacement!r}" if refused.replacement else "remove it"
        if lowered.startswith("instagram_business_"):
            fix += "; or use Instagram Login (authorization_url) if you want the instagram_business_* names"
        raise ScopeError(
            f"scope {name!r} {refused.reason}", scope=name, replacement=refused.replacement, fix=fix
        )
    close = difflib.get_close_matches(lowered, sorted(FACEBOOK_LOGIN_SCOPES), n=1, cutoff=0.75)
    raise ScopeError(
        f"scope {name!r} is not a Facebook Login permission igtoken knows",
        scope=name,
        replacement=close[0] if close else None,
        fix=f"did you mean {close[0]!r}?"
        if close
        else f"use one of: {', '.join(sorted(FACEBOOK_LOGIN_SCOPES))}",
    )


def check_facebook_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Split, de-duplicate and check Facebook Login permissions; refuse an empty set.

    Raises :class:`ScopeError` for the first name that Facebook Login would reject.
    """
    names = split_scopes(scopes)
    if not names:
        raise ScopeError(
            "no scopes given; Facebook Login needs at least one (or a config_id)",
            scope="",
            replacement=INSTAGRAM_BASIC,
            fix=f"ask for {', '.join(DEFAULT_FACEBOOK_SCOPES)}",
        )
    return tuple(check_facebook_scope(name) for name in names)


def no_pages_hint(granted_scopes: Iterable[str] = ()) -> str:
    """What to tell a person whose ``/me/accounts`` came back empty, given the scopes the token holds."""
    granted = set(granted_scopes)
    missing = [s for s in (PAGES_SHOW_LIST, BUSINESS_MANAGEMENT) if granted and s not in granted]
    causes = (
        f"the token lacks {' and '.join(missing)}: log in again and grant it"
        if missing
        else "business_management may be missing (since Graph v17, Pages owned by a business "
        "portfolio are listed only with it)"
    )
    return (
        f"Facebook returned no Pages for this person; {causes}. Also check the person has a task "
        "(e.g. MANAGE or CREATE_CONTENT) on the Page and chose it in the login dialog."
    )


def missing_business_management_hint(granted_scopes: Iterable[str]) -> str | None:
    """What to tell a person who did not grant ``business_management``; ``None`` when they did.

    Since Graph v17 ``/me/accounts`` leaves out Pages owned by a business portfolio without it,
    so their Instagram accounts are silently missing even when other Pages come back.
    """
    granted = set(granted_scopes)
    if not granted or BUSINESS_MANAGEMENT in granted:
        return None
    return (
        "business_management was not granted: Pages owned by a business portfolio are not listed "
        "without it (since Graph v17), so their Instagram accounts may be missing; log in again and "
        "grant it (igtoken asks again with auth_type=rerequest) if a Page is missing"
    )


def declined_permissions_fix(permissions: Iterable[str]) -> str:
    """The fix for a login that lacks ``permissions``: log in again, granting them."""
    names = ", ".join(permissions)
    return (
        f"log in again and leave {names} ticked in the Facebook dialog; a declined permission is "
        "asked for again only with auth_type=rerequest (igtoken login --rerequest, or the "
        "'ask again' link of the connect page)"
    )
