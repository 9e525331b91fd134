"""The emulated Meta: :class:`World` puts its parts together and adds seeding and outbound calls.

The parts: the state and its lookups (:mod:`.world_state`), the token rules (:mod:`.world_tokens`)
and the JSON state file and views (:mod:`.world_persistence`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from igtoken.emulator import outbound
from igtoken.emulator.model import (
    IG_ACCOUNT_TYPES,
    Account,
    App,
    FacebookUser,
    Page,
)
from igtoken.emulator.world_persistence import Persistence
from igtoken.emulator.world_state import (
    WorldError,
    default_config_id,
)
from igtoken.emulator.world_tokens import TokenRules

__all__ = ["World", "WorldError"]


class World(TokenRules, Persistence):
    """Apps, accounts, Facebook users, Pages, codes and tokens, plus clock, switches, faults and log.

    Reach it from a running app as ``app.state.world``. Methods that take ``app_id`` accept the
    Meta app id or the Instagram app id; methods that take an account accept a username or id.
    """

    def create_app(
        self,
        *,
        name: str,
        meta_app_id: str | None = None,
        meta_app_secret: str | None = None,
        instagram_app_id: str | None = None,
        instagram_app_secret: str | None = None,
        instagram_login: bool = True,
        redirect_uris: Iterable[str] = (),
        mode: str = "live",
        testers: Iterable[str] = (),
        deauthorize_url: str | None = None,
        data_deletion_url: str | None = None,
        webhook_url: str | None = None,
        webhook_verify_token: str | None = None,
        call_limit_per_hour: int = 4800,
        require_appsecret_proof: bool = False,
        fb_config_scopes: Iterable[str] | None = None,
        fb_config_id: str | None = None,
    ) -> App:
        """Register an app; ids and secrets are generated when not given.

        ``instagram_login=False`` makes a Facebook-Login-only app (no Instagram app id).
        """
        if mode not in ("live", "development"):
            raise WorldError(f"app mode must be 'live' or 'development', not {mode!r}")
        with self.lock:
            meta_app_id = meta_app_id or self._new_id("", 15, self.apps)
            if meta_app_id in self.apps or meta_app_id in self.apps_by_ig_id:
                raise WorldError(f"app id {meta_app_id!r} is taken")
            if instagram_login or instagram_app_id:
                instagram_app_id = instagram_app_id or self._new_id("", 15, self.apps_by_ig_id)
                if instagram_app_id in self.apps_by_ig_id or instagram_app_id in self.apps:
                    raise WorldError(f"app id {instagram_app_id!r} is taken")
                instagram_app_secret = instagram_app_secret or secrets.token_hex(16)
            app = App(
                name=name,
                meta_app_id=meta_app_id,
                meta_app_secret=meta_app_secret or secrets.token_hex(16),
                instagram_app_id=instagram_app_id,
                instagram_app_secret=instagram_app_secret if instagram_app_id else None,
                redirect_uris=list(redirect_uris),
                mode=mode,
                testers=set(testers),
                deauthorize_url=deauthorize_url,
                data_deletion_url=data_deletion_url,
                webhook_url=webhook_url,
                webhook_verify_token=webhook_verify_token,
                call_limit_per_hour=call_limit_per_hour,
                require_appsecret_proof=require_appsecret_proof,
                fb_config_id=fb_config_id or default_config_id(meta_app_id),
            )
            if fb_config_scopes is not None:
                app.fb_config_scopes = list(fb_config_scopes)
            self.apps[app.meta_app_id] = app
            if app.instagram_app_id:
                self.apps_by_ig_id[app.instagram_app_id] = app
            self.changes += 1
            return app

    _APP_FIELDS = frozenset(
        {
            "name",
            "redirect_uris",
            "mode",
            "testers",
            "deauthorize_url",
            "data_deletion_url",
            "webhook_url",
            "webhook_verify_token",
            "call_limit_per_hour",
            "require_appsecret_proof",
            "fb_config_scopes",
            "fb_config_id",
            "add_redirect_uris",
            "remove_redirect_uris",
            "add_testers",
            "remove_testers",
        }
    )

    def update_app(self, app_id: str, **changes: Any) -> App:
        """Change an app: plain fields replace, ``add_*`` / ``remove_*`` edit redirect URIs and testers."""
        unknown = set(changes) - self._APP_FIELDS
        if unknown:
            raise WorldError(
                f"cannot change app field(s) {sorted(unknown)}; allowed: {sorted(self._APP_FIELDS)}"
            )
        if "mode" in changes and changes["mode"] not in ("live", "development"):
            raise WorldError(f"app mode must be 'live' or 'development', not {changes['mode']!r}")
        with self.lock:
            app = self.find_app(app_id)
            for key, value in changes.items():
                if key == "add_redirect_uris":
                    app.redirect_uris.extend(u for u in value if u not in app.redirect_uris)
                elif key == "remove_redirect_uris":
                    app.redirect_uris = [u for u in app.redirect_uris if u not in set(value)]
                elif key == "add_testers":
                    app.testers.update(value)
                elif key == "remove_testers":
                    app.testers.difference_update(value)
                elif key == "testers":
                    app.testers = set(value)
                elif key in ("redirect_uris", "fb_config_scopes"):
                    setattr(app, key, list(value))
                else:
                    setattr(app, key, value)
            self.changes += 1
            return app

    def create_account(
        self,
        username: str,
        account_type: str = "BUSINESS",
        *,
        ig_id: str | None = None,
        name: str | None = None,
        biography: str = "",
        followers_count: int = 0,
        follows_count: int = 0,
        media_count: int = 0,
        profile_picture_url: str | None = None,
    ) -> Account:
        """Add an Instagram account (BUSINESS, MEDIA_CREATOR or PERSONAL)."""
        if account_type not in IG_ACCOUNT_TYPES:
            raise WorldError(
                f"account_type must be one of {', '.join(IG_ACCOUNT_TYPES)}, not {account_type!r}"
            )
        if not username:
            raise WorldError("an account needs a username")
        with self.lock:
            if username in self.accounts_by_username:
                raise WorldError(f"username {username!r} is taken")
            ig_id = ig_id or self._new_id("1784", 17, self.accounts)
            if ig_id in self.accounts:
                raise WorldError(f"Instagram id {ig_id!r} is taken")
            account = Account(
                ig_id=ig_id,
                username=username,
                account_type=account_type,
                name=name if name is not None else username.replace("_", " ").title(),
                biography=biography,
                followers_count=followers_count,
                follows_count=follows_count,
                media_count=media_count,
                profile_picture_url=profile_picture_url
                or f"https://scontent.cdninstagram.invalid/{ig_id}.jpg",
            )
            self.accounts[ig_id] = account
            self.accounts_by_username[username] = account
            self.changes += 1
            return account

    def create_accounts(
        self, count: int, *, prefix: str = "load_", account_type: str = "BUSINESS", media_count: int = 0
    ) -> list[Account]:
        """Add ``count`` accounts named ``{prefix}{n}`` at once (load tests seed thousands)."""
        if count < 1:
            raise WorldError("count must be at least 1")
        if account_type not in IG_ACCOUNT_TYPES:
            raise WorldError(
                f"account_type must be one of {', '.join(IG_ACCOUNT_TYPES)}, not {account_type!r}"
            )
        with self.lock:
            base = 17841490000000000 + len(self.accounts) * 7
            made: list[Account] = []
            n = 0
            while len(made) < count:
                n += 1
                username = f"{prefix}{n}"
                if username in self.accounts_by_username:
                    continue
                ig_id = str(base + n)
                while ig_id in self.accounts:
                    base += 1_000_003
                    ig_id = str(base + n)
                account = Account(
                    ig_id=ig_id,
                    username=username,
                    account_type=account_type,
                    name=username,
                    media_count=media_count,
                    profile_picture_url=f"https://scontent.cdninstagram.invalid/{ig_id}.jpg",
                )
                self.accounts[ig_id] = account
                self.accounts_by_username[username] = account
                made.append(account)
            self.changes += 1
            return made

    def create_facebook_user(
        self, username: str, *, name: str | None = None, fb_user_id: str | None = None
    ) -> FacebookUser:
        """Add a person who can log in with Facebook."""
        with self.lock:
            if username in self.fb_users_by_username:
                raise WorldError(f"Facebook username {username!r} is taken")
            fb_user_id = fb_user_id or self._new_id("10", 17, self.fb_users)
            user = FacebookUser(fb_user_id, username, name or username.replace("_", " ").title())
            self.fb_users[fb_user_id] = user
            self.fb_users_by_username[username] = user
            self.changes += 1
            return user

    def add_page(
        self,
        owner: str,
        name: str,
        *,
        page_id: str | None = None,
        category: str = "Brand",
        instagram_account: str | None = None,
        business_owned: bool = False,
    ) -> Page:
        """Give a Facebook user a Page, optionally linked to an Instagram professional account."""
        with self.lock:
            user = self.find_fb_user(owner)
            ig_id = None
            if instagram_account is not None:
                account = self.find_account(instagram_account)
                if account.account_type == "PERSONAL":
                    raise WorldError("only professional (BUSINESS / MEDIA_CREATOR) accounts link to a Page")
                ig_id = account.ig_id
            page_id = page_id or self._new_id("1", 15, self.pages)
            if page_id in self.pages:
                raise WorldError(f"Page id {page_id!r} is taken")
            page = Page(page_id, name, user.fb_user_id, category, ig_id, business_owned)
            self.pages[page_id] = page
            user.page_ids.append(page_id)
            self.changes += 1
            return page

    def _sender(self) -> Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]]:
        return self.sender or outbound.urllib_sender

    def fire_deauthorize(self, app_id: str, who: str, *, product: str | None = None) -> dict[str, Any]:
        """O1: the person removes the app; their tokens die (458) and the app's callback is told."""
        return outbound.deauthorize(self, app_id, who, sender=self._sender(), product=product)

    def fire_data_deletion(self, app_id: str, who: str, *, product: str | None = None) -> dict[str, Any]:
        """O2: ask the app to delete the person's data, and check its ``{url, confirmation_code}`` reply."""
        return outbound.request_data_deletion(self, app_id, who, sender=self._sender(), product=product)

    def verify_webhook(self, app_id: str, *, verify_token: str | None = None) -> dict[str, Any]:
        """O3: the webhook subscription handshake against the app's callback."""
        return outbound.verify_webhook(self, app_id, sender=self._sender(), verify_token=verify_token)

    def send_webhook_event(
        self,
        app_id: str,
        *,
        payload: dict[str, Any] | None = None,
        who: str | None = None,
        field: str = "comments",
        non_ascii: bool = True,
        product: str | None = None,
    ) -> dict[str, Any]:
        """O4: POST a signed webhook event (``X-Hub-Signature-256``) to the app's callback."""
        return outbound.send_webhook_event(
            self,
            app_id,
            sender=self._sender(),
            payload=payload,
            who=who,
            field=field,
            non_ascii=non_ascii,
            product=product,
        )
