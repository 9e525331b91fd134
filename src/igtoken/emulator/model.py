"""The things the emulated Meta knows about: apps, accounts, Facebook users, Pages, codes, tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any, Final

IG_ACCOUNT_TYPES: Final = ("BUSINESS", "MEDIA_CREATOR", "PERSONAL")
TOKEN_KINDS: Final = ("ig_short", "ig_long", "fb_user_short", "fb_user_long", "fb_page", "fb_app")
IG_KINDS: Final = frozenset({"ig_short", "ig_long"})
FB_KINDS: Final = frozenset({"fb_user_short", "fb_user_long", "fb_page", "fb_app"})

HOUR: Final = 3600
DAY: Final = 24 * HOUR
IG_SHORT_TTL: Final = HOUR
IG_LONG_EXPIRES_IN: Final = 5_183_944  # Meta's own samples: 60 days less a few seconds
FB_SHORT_TTL: Final = 2 * HOUR
FB_LONG_EXPIRES_IN: Final = 5_183_944
IG_CODE_TTL: Final = HOUR
FB_CODE_TTL: Final = 600  # undocumented; "commonly ~10 minutes"
DATA_ACCESS_TTL: Final = 90 * DAY
#: Token kinds whose data access lapses 90 days on (190/493): Facebook user and Page tokens.
DATA_ACCESS_KINDS: Final = frozenset({"fb_user_short", "fb_user_long", "fb_page"})
#: The permission Instagram nodes read through graph.facebook.com need (IG User, IG Media).
IG_READ_PERMISSION: Final = "instagram_basic"

#: Instagram Login scope names (S1), and the retired ``business_*`` names they replaced.
IG_LOGIN_SCOPES: Final = frozenset(
    {
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_comments",
        "instagram_business_manage_messages",
        "instagram_business_manage_insights",
    }
)
IG_OLD_SCOPES: Final = {
    "business_basic": "instagram_business_basic",
    "business_content_publish": "instagram_business_content_publish",
    "business_manage_comments": "instagram_business_manage_comments",
    "business_manage_messages": "instagram_business_manage_messages",
}
#: Old ``business_*`` names stopped working on 2025-01-27 (S1).
IG_OLD_SCOPES_CUTOFF: Final = 1737936000.0
#: Instagram Basic Display and Legacy API names, all dead since 2024-12-04 (S7).
BASIC_DISPLAY_SCOPES: Final = frozenset(
    {"user_profile", "user_media", "instagram_graph_user_profile", "instagram_graph_user_media", "basic"}
)
#: Facebook Login permission names the dialog accepts (S9, S18, S22).
FB_SCOPES: Final = frozenset(
    {
        "public_profile",
        "email",
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_comments",
        "instagram_manage_insights",
        "instagram_manage_messages",
        "instagram_shopping_tag_products",
        "instagram_manage_events",
        "pages_show_list",
        "pages_read_engagement",
        "pages_read_user_content",
        "pages_manage_metadata",
        "pages_manage_posts",
        "pages_manage_engagement",
        "pages_messaging",
        "business_management",
        "ads_management",
        "ads_read",
        "read_insights",
    }
)
FB_DEFAULT_CONFIG_SCOPES: Final = (
    "public_profile",
    "instagram_basic",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
)


@dataclass(slots=True)
class App:
    """A Meta app; it speaks Instagram Login when it has an Instagram app id, Facebook Login always."""

    name: str
    meta_app_id: str
    meta_app_secret: str = field(repr=False)
    instagram_app_id: str | None = None
    instagram_app_secret: str | None = field(default=None, repr=False)
    redirect_uris: list[str] = field(default_factory=list)
    mode: str = "live"
    testers: set[str] = field(default_factory=set)
    deauthorize_url: str | None = None
    data_deletion_url: str | None = None
    webhook_url: str | None = None
    webhook_verify_token: str | None = field(default=None, repr=False)
    call_limit_per_hour: int = 4800
    require_appsecret_proof: bool = False
    fb_config_scopes: list[str] = field(default_factory=lambda: list(FB_DEFAULT_CONFIG_SCOPES))
    #: The id of the app's Facebook Login for Business configuration; the dialog refuses any other.
    fb_config_id: str = ""

    def as_json(self) -> dict[str, object]:
        """The app as the control API shows it (secrets included: they are the emulator's own)."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(
            redirect_uris=list(self.redirect_uris),
            testers=sorted(self.testers),
            fb_config_scopes=list(self.fb_config_scopes),
        )
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> App:
        """The app :meth:`as_json` showed (a state file; older ones lack the newer fields)."""
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        values["testers"] = set(data.get("testers", ()))
        return cls(**values)


@dataclass(slots=True)
class Account:
    """An Instagram account (``ig_id`` is the professional-account id, ``user_id`` in /me)."""

    ig_id: str
    username: str
    account_type: str = "BUSINESS"
    name: str = ""
    biography: str = ""
    followers_count: int = 0
    follows_count: int = 0
    media_count: int = 0
    profile_picture_url: str = ""
    password_changed_at: float | None = None
    #: Tokens with ``seq`` up to this died with the last password change (190/460).
    tokens_before: int = 0

    def as_json(self) -> dict[str, object]:
        """The account as the control API shows it."""
        return {
            "ig_id": self.ig_id,
            "username": self.username,
            "account_type": self.account_type,
            "name": self.name,
            "biography": self.biography,
            "followers_count": self.followers_count,
            "follows_count": self.follows_count,
            "media_count": self.media_count,
            "profile_picture_url": self.profile_picture_url,
            "password_changed_at": self.password_changed_at,
            "tokens_before": self.tokens_before,
        }


@dataclass(slots=True)
class Page:
    """A Facebook Page, optionally linked to an Instagram professional account."""

    page_id: str
    name: str
    owner_id: str
    category: str = "Brand"
    instagram_account_id: str | None = None
    business_owned: bool = False
    tasks: list[str] = field(
        default_factory=lambda: ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]
    )

    def as_json(self) -> dict[str, object]:
        """The Page as the control API shows it."""
        return {
            "page_id": self.page_id,
            "name": self.name,
            "owner_id": self.owner_id,
            "category": self.category,
            "instagram_account_id": self.instagram_account_id,
            "business_owned": self.business_owned,
            "tasks": list(self.tasks),
        }


@dataclass(slots=True)
class FacebookUser:
    """A person who logs in with Facebook and manages Pages."""

    fb_user_id: str
    username: str
    name: str = ""
    page_ids: list[str] = field(default_factory=list)
    password_changed_at: float | None = None
    tokens_before: int = 0

    def as_json(self) -> dict[str, object]:
        """The user as the control API shows it."""
        return {
            "fb_user_id": self.fb_user_id,
            "username": self.username,
            "name": self.name,
            "page_ids": list(self.page_ids),
            "password_changed_at": self.password_changed_at,
            "tokens_before": self.tokens_before,
        }


@dataclass(slots=True)
class Token:
    """An access token the emulator issued, with every fact the rules need.

    ``subject`` is whom the token speaks for (IG account id, Facebook user id or Page id);
    ``owner`` is the person whose password change or app removal kills it (IG account or FB user).
    ``refreshed_at`` is the issue time or the last refresh, which the 24-hour rule counts from.
    """

    value: str = field(repr=False)
    token_id: str
    kind: str
    app_id: str
    subject: str
    owner: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    refreshed_at: float
    revoked: int | None = None
    data_access_expires_at: float | None = None
    refresh_count: int = 0
    #: Issue order; revocations by password change or app removal cut by it, not by time,
    #: so a frozen clock still tells "before" from "after".
    seq: int = 0

    def as_json(self) -> dict[str, object]:
        """The token as the control API shows it (value included)."""
        return {
            "access_token": self.value,
            "token_id": self.token_id,
            "kind": self.kind,
            "app_id": self.app_id,
            "subject": self.subject,
            "owner": self.owner,
            "scopes": list(self.scopes),
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "refreshed_at": self.refreshed_at,
            "revoked": self.revoked,
            "data_access_expires_at": self.data_access_expires_at,
            "refresh_count": self.refresh_count,
            "seq": self.seq,
        }


@dataclass(slots=True)
class Code:
    """An authorization code: single use, short-lived, bound to app, redirect URI and account."""

    value: str = field(repr=False)
    product: str  # "instagram" or "facebook"
    app_id: str
    redirect_uri: str
    subject: str
    scopes: tuple[str, ...]
    created_at: float
    used: bool = False


@dataclass(slots=True)
class Grant:
    """What an account granted an app, and when it removed the app (tokens before that die, 458)."""

    scopes: tuple[str, ...]
    removed_at: float | None = None
    #: Tokens with ``seq`` up to this died when the app was removed (190/458).
    tokens_before: int = 0
    #: Facebook Login permissions the person unticked in the dialog; asked again only with
    #: ``auth_type=rerequest``, listed by ``/me/permissions`` with ``status: declined``.
    declined: tuple[str, ...] = ()
    #: Data access of the pair lasts until then (renewed by each login); ``None`` before any login.
    data_access_expires_at: float | None = None


# ------------------------------------------------------------------------------------- IG Media

#: The fields of Meta's IG Media object the emulator answers: its reference, less what the world
#: cannot model (boosts, copyright checks, insight counts). A field that does not apply to a media
#: object is left out of the answer, as Meta leaves it out: ``thumbnail_url`` outside videos,
#: ``alt_text`` outside photos, ``is_shared_to_feed`` outside Reels, ``children`` outside albums,
#: and caption, permalink, counts and product type on album items.
MEDIA_FIELDS: Final = frozenset(
    {
        "id",
        "alt_text",
        "caption",
        "children",
        "comments_count",
        "ig_id",
        "is_comment_enabled",
        "is_shared_to_feed",
        "like_count",
        "media_product_type",
        "media_type",
        "media_url",
        "owner",
        "permalink",
        "shortcode",
        "thumbnail_url",
        "timestamp",
        "username",
    }
)
_SHORTCODE_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: The newest post of every account is from 2026-02-28 12:00 UTC; each older one 7 hours before.
_NEWEST_POST_AT: Final = 1772280000
_POST_INTERVAL: Final = 7 * HOUR
_CDN: Final = "https://scontent.cdninstagram.invalid"


def media_kind(number: int) -> tuple[str, str]:
    """``(media_type, media_product_type)`` of an account's post ``number`` (1 is the oldest).

    Every fifth post is an album (``CAROUSEL_ALBUM``) of 2–4 items, the second of them a video;
    some others are Reels; the rest photos. The newest post of the demo business account is a photo.
    """
    if number % 5 == 4:
        return "CAROUSEL_ALBUM", "FEED"
    if number % 7 == 5:
        return "VIDEO", "REELS"
    return "IMAGE", "FEED"


def album_size(number: int) -> int:
    """How many items the album ``number`` holds."""
    return 2 + number % 3


def media_id(account: Account, number: int, item: int | None = None) -> str:
    """The id of post ``number`` (``179…``), or of item ``item`` (0-based) of that album (``18…``)."""
    base = int(account.ig_id) % 10**8
    if item is None:
        return f"179{base:08d}{number:06d}"
    return f"18{base:08d}{number:06d}{item}"


def _shortcode(pk: int) -> str:
    out = ""
    while pk:
        pk, digit = divmod(pk, 64)
        out = _SHORTCODE_ALPHABET[digit] + out
    return out


def media_object(account: Account, number: int, item: int | None = None) -> dict[str, Any]:
    """Every field of post ``number`` (or of its album item ``item``) that applies to it.

    Made up on demand from the account, so seeding thousands of accounts stays cheap; the same
    post always has the same values. ``ig_id`` is the legacy ``<media pk>_<user pk>`` and
    ``shortcode`` the pk in Instagram's base-64 alphabet, as in the permalink.
    """
    mid = media_id(account, number, item)
    pk = 3_100_000_000_000_000_000 + int(mid)
    shortcode = _shortcode(pk)
    posted = _NEWEST_POST_AT - (account.media_count - number) * _POST_INTERVAL
    if item is None:
        media_type, product = media_kind(number)
    else:
        media_type, product = ("VIDEO" if item == 1 else "IMAGE"), ""
    values: dict[str, Any] = {
        "id": mid,
        "ig_id": f"{pk}_{int(account.ig_id) % 10**10}",
        "shortcode": shortcode,
        "media_type": media_type,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(posted)),
        "username": account.username,
        "owner": {"id": account.ig_id},
    }
    label = f"{number}" if item is None else f"{number}.{item + 1}"
    if media_type == "VIDEO":
        values["media_url"] = f"{_CDN}/{mid}.mp4"
        values["thumbnail_url"] = f"{_CDN}/{mid}_t.jpg"
    elif media_type == "IMAGE":
        values["media_url"] = f"{_CDN}/{mid}.jpg"
        values["alt_text"] = f"Photo {label} by {account.username}"
    if item is not None:
        return values
    values["media_product_type"] = product
    values["caption"] = f"Post {number} by {account.username} ✨"
    values["permalink"] = f"https://www.instagram.com/{'reel' if product == 'REELS' else 'p'}/{shortcode}/"
    values["like_count"] = (number * 7) % 100
    values["comments_count"] = number % 5
    values["is_comment_enabled"] = number % 11 != 0
    if product == "REELS":
        values["is_shared_to_feed"] = number % 2 == 0
    if media_type == "CAROUSEL_ALBUM":
        children = [media_object(account, number, i) for i in range(album_size(number))]
        values["media_url"] = children[0]["media_url"]  # an album shows its first item
        values["children"] = children
    return values


def find_media(account: Account, node: str) -> dict[str, Any] | None:
    """The media object (post or album item) of ``account`` whose id is ``node``, if there is one."""
    if len(node) != 17 or not node.isdigit():
        return None
    base = f"{int(account.ig_id) % 10**8:08d}"
    if node.startswith("179") and node[3:11] == base:
        number = int(node[11:])
        return media_object(account, number) if 1 <= number <= account.media_count else None
    if node.startswith("18") and node[2:10] == base:
        number, item = int(node[10:16]), int(node[16])
        if (
            1 <= number <= account.media_count
            and media_kind(number)[0] == "CAROUSEL_ALBUM"
            and item < album_size(number)
        ):
            return media_object(account, number, item)
    return None
