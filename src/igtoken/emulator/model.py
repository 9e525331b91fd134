"""The things the emulated Meta knows about: apps, accounts, Facebook users, Pages, codes, tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

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

    def as_json(self) -> dict[str, object]:
        """The app as the control API shows it (secrets included: they are the emulator's own)."""
        return {
            "name": self.name,
            "meta_app_id": self.meta_app_id,
            "meta_app_secret": self.meta_app_secret,
            "instagram_app_id": self.instagram_app_id,
            "instagram_app_secret": self.instagram_app_secret,
            "redirect_uris": list(self.redirect_uris),
            "mode": self.mode,
            "testers": sorted(self.testers),
            "deauthorize_url": self.deauthorize_url,
            "data_deletion_url": self.data_deletion_url,
            "webhook_url": self.webhook_url,
            "webhook_verify_token": self.webhook_verify_token,
            "call_limit_per_hour": self.call_limit_per_hour,
            "require_appsecret_proof": self.require_appsecret_proof,
            "fb_config_scopes": list(self.fb_config_scopes),
        }


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
