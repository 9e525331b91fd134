"""The Instagram Login scope set, and why the look-alike names from other products are refused.

Meta has four families of Instagram permission names, and only one of them
works with Instagram Login. Sending any other name fails at the consent
screen ("Invalid scope") or, worse, in production after review. So a wrong
name is refused here, before a URL is built, with the name to use instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from igtoken.core.exceptions import ScopeError

BASIC: Final = "instagram_business_basic"
CONTENT_PUBLISH: Final = "instagram_business_content_publish"
MANAGE_MESSAGES: Final = "instagram_business_manage_messages"
MANAGE_COMMENTS: Final = "instagram_business_manage_comments"
MANAGE_INSIGHTS: Final = "instagram_business_manage_insights"

#: Every scope Instagram Login accepts.
INSTAGRAM_LOGIN_SCOPES: Final = frozenset(
    {BASIC, CONTENT_PUBLISH, MANAGE_MESSAGES, MANAGE_COMMENTS, MANAGE_INSIGHTS}
)

#: What igtoken asks for when the caller does not say: profile and media read,
#: which is also what Meta requires before it refreshes a token.
DEFAULT_SCOPES: Final = (BASIC,)


@dataclass(frozen=True, slots=True)
class RefusedScope:
    """A scope name from another product or a retired API, with its Instagram Login replacement."""

    name: str
    #: The Instagram Login scope to use instead; ``None`` when nothing is needed.
    replacement: str | None
    #: Why the name is refused, in one sentence.
    reason: str


_RENAMED = (
    "was renamed when Meta retired the business_* names on 2025-01-27; Instagram Login no longer accepts it"
)
_BASIC_DISPLAY = "belongs to the Instagram Basic Display API, which Meta shut down on 2024-12-04"
_FACEBOOK_LOGIN = (
    "is a Facebook Login permission; Instagram Login rejects it "
    "(and Facebook Login rejects the instagram_business_* names)"
)
_PAGES = "is a Facebook Page permission; Instagram Login needs no Facebook Page, so drop it"
_LEGACY = "belongs to the Legacy Instagram API, retired in 2020"


def _refusals() -> dict[str, RefusedScope]:
    table: list[tuple[str, str | None, str]] = [
        ("business_basic", BASIC, _RENAMED),
        ("business_content_publish", CONTENT_PUBLISH, _RENAMED),
        ("business_manage_comments", MANAGE_COMMENTS, _RENAMED),
        ("business_manage_messages", MANAGE_MESSAGES, _RENAMED),
        ("business_manage_insights", MANAGE_INSIGHTS, _RENAMED),
        (
            "instagram_business_content_publishing",
            CONTENT_PUBLISH,
            "is a misspelling found in an old copy of Meta's guide; the scope ends in _publish",
        ),
        ("user_profile", BASIC, _BASIC_DISPLAY),
        ("user_media", BASIC, _BASIC_DISPLAY),
        ("instagram_graph_user_profile", BASIC, _BASIC_DISPLAY),
        ("instagram_graph_user_media", BASIC, _BASIC_DISPLAY),
        ("instagram_basic", BASIC, _FACEBOOK_LOGIN),
        ("instagram_content_publish", CONTENT_PUBLISH, _FACEBOOK_LOGIN),
        ("instagram_manage_comments", MANAGE_COMMENTS, _FACEBOOK_LOGIN),
        ("instagram_manage_messages", MANAGE_MESSAGES, _FACEBOOK_LOGIN),
        ("instagram_manage_insights", MANAGE_INSIGHTS, _FACEBOOK_LOGIN),
        ("instagram_shopping_tag_products", None, _FACEBOOK_LOGIN),
        ("instagram_branded_content_brand", None, _FACEBOOK_LOGIN),
        ("instagram_branded_content_creator", None, _FACEBOOK_LOGIN),
        ("instagram_branded_content_ads_brand", None, _FACEBOOK_LOGIN),
        ("instagram_manage_events", None, _FACEBOOK_LOGIN),
        ("pages_show_list", None, _PAGES),
        ("pages_read_engagement", None, _PAGES),
        ("pages_manage_metadata", None, _PAGES),
        ("pages_manage_posts", None, _PAGES),
        ("pages_messaging", None, _PAGES),
        ("pages_read_user_content", None, _PAGES),
        ("business_management", None, _PAGES),
        ("basic", BASIC, _LEGACY),
        ("public_content", BASIC, _LEGACY),
        ("comments", MANAGE_COMMENTS, _LEGACY),
        ("relationships", None, _LEGACY),
        ("likes", None, _LEGACY),
        ("follower_list", None, _LEGACY),
    ]
    return {name: RefusedScope(name, replacement, reason) for name, replacement, reason in table}


#: Every refused name with its replacement and reason; ``doctor`` reuses this table.
REFUSED_SCOPES: Final[Mapping[str, RefusedScope]] = MappingProxyType(_refusals())

_SPLIT = re.compile(r"[,\s]+")


def split_scopes(value: str | Iterable[str]) -> tuple[str, ...]:
    """Split a comma- or space-separated scope string (or flatten a list of them), dropping blanks.

    Order is kept and duplicates removed, so the result is stable for URLs and comparisons.
    """
    items = [value] if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ScopeError(
                f"scope names are strings, not {type(item).__name__}", scope=repr(item), replacement=None
            )
        for name in _SPLIT.split(item.strip()):
            if name:
                seen.setdefault(name, None)
    return tuple(seen)


def check_scope(name: str) -> str:
    """Return ``name`` if Instagram Login accepts it; raise :class:`ScopeError` naming the fix otherwise."""
    if name in INSTAGRAM_LOGIN_SCOPES:
        return name
    lowered = name.lower()
    if lowered in INSTAGRAM_LOGIN_SCOPES:
        raise ScopeError(
            f"scope {name!r} must be lower case",
            scope=name,
            replacement=lowered,
            fix=f"use {lowered!r}",
        )
    refused = REFUSED_SCOPES.get(lowered)
    if refused is not None:
        fix = f"use {refused.replacement!r}" if refused.replacement else "remove it"
        raise ScopeError(
            f"scope {name!r} {refused.reason}", scope=name, replacement=refused.replacement, fix=fix
        )
    close = difflib.get_close_matches(lowered, sorted(INSTAGRAM_LOGIN_SCOPES), n=1, cutoff=0.75)
    valid = ", ".join(sorted(INSTAGRAM_LOGIN_SCOPES))
    raise ScopeError(
        f"scope {name!r} is not an Instagram Login scope",
        scope=name,
        replacement=close[0] if close else None,
        fix=f"did you mean {close[0]!r}?" if close else f"use one of: {valid}",
    )


def check_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Split, de-duplicate and check a set of scopes; refuse an empty set.

    Raises :class:`ScopeError` for the first name Instagram Login does not accept.
    """
    names = split_scopes(scopes)
    if not names:
        raise ScopeError(
            "no scopes given; Instagram Login needs at least one",
            scope="",
            replacement=BASIC,
            fix=f"ask for {BASIC!r}",
        )
    return tuple(check_scope(name) for name in names)
