"""The emulated Meta's whole state, and the rules that read and change it.

Every lookup the hot paths need (token → record, IG app id → app, username → account) is a dict,
so refresh and /me stay O(1) however many accounts a load test seeds. One re-entrant lock guards
the state, because tests poke the world from their own thread while uvicorn serves from another.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from igtoken.emulator.clock import EmulatorClock
from igtoken.emulator.errors import (
    CANNOT_PARSE,
    DATA_ACCESS_EXPIRED,
    LOGGED_OUT,
    NO_ACTIVE_SESSION,
    SESSION_INVALIDATED,
    GraphError,
)
from igtoken.emulator.faults import FaultBook
from igtoken.emulator.model import (
    DATA_ACCESS_KINDS,
    DATA_ACCESS_TTL,
    FB_KINDS,
    FB_LONG_EXPIRES_IN,
    FB_SHORT_TTL,
    IG_ACCOUNT_TYPES,
    IG_KINDS,
    IG_LONG_EXPIRES_IN,
    IG_SHORT_TTL,
    TOKEN_KINDS,
    Account,
    App,
    Code,
    FacebookUser,
    Grant,
    Page,
    Token,
)
from igtoken.emulator.requestlog import RequestLog
from igtoken.emulator.switches import Switches

_TRANSLATE = str.maketrans("-_", "Zz")

try:  # Meta words expiry messages in Pacific time; fall back to UTC where tzdata is missing.
    from zoneinfo import ZoneInfo

    _PACIFIC: Any = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - depends on the machine's tz database
    _PACIFIC = UTC


class WorldError(ValueError):
    """A control request the world cannot carry out (unknown app, duplicate username, …)."""


def _digits(n: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(n))


def default_config_id(meta_app_id: str) -> str:
    """The id of an app's Login for Business configuration when none was given: stable for the app,
    so a state file written before configurations had ids loads the same way in every process."""
    digest = int.from_bytes(hashlib.sha256(f"config:{meta_app_id}".encode()).digest()[:8], "big")
    return "9" + str(digest % 10**14).zfill(14)


def _meta_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=_PACIFIC).strftime("%A, %d-%b-%y %H:%M:%S %Z")


def expired_message(expired_at: float, now: float) -> str:
    """Meta's 190/463 wording, dates and all."""
    return (
        f"Error validating access token: Session has expired on {_meta_time(expired_at)}. "
        f"The current time is {_meta_time(now)}."
    )


def _clock_from_state(saved: Any) -> EmulatorClock:
    """The clock a state file describes; version 1 kept an absolute time, which now means real time."""
    if isinstance(saved, dict):
        if saved.get("frozen"):
            return EmulatorClock(datetime.fromtimestamp(float(saved["at"]), tz=UTC), frozen=True)
        return EmulatorClock.with_offset(float(saved.get("offset", 0.0)))
    return EmulatorClock()


class World:
    """Apps, accounts, Facebook users, Pages, codes and tokens, plus clock, switches, faults and log.

    Reach it from a running app as ``app.state.world``. Methods that take ``app_id`` accept the
    Meta app id or the Instagram app id; methods that take an account accept a username or id.
    """

    def __init__(self, *, clock: EmulatorClock | None = None, switches: Switches | None = None) -> None:
        self.clock = clock or EmulatorClock()
        self.switches = switches or Switches()
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.apps_by_ig_id: dict[str, App] = {}
        self.accounts: dict[str, Account] = {}
        self.accounts_by_username: dict[str, Account] = {}
        self.fb_users: dict[str, FacebookUser] = {}
        self.fb_users_by_username: dict[str, FacebookUser] = {}
        self.pages: dict[str, Page] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Code] = {}
        self.grants: dict[tuple[str, str], Grant] = {}
        self.scoped_ids: dict[tuple[str, str], str] = {}
        self.scoped_index: dict[str, tuple[str, str]] = {}
        self.page_tokens: dict[tuple[str, str, str, str], str] = {}
        self.usage: dict[tuple[str, str, int], int] = {}
        self.faults = FaultBook()
        self.log = RequestLog()
        self.outbound_log: list[dict[str, Any]] = []
        self.changes = 0
        self._token_seq = itertools.count(1)
        self._last_seq = 0
        #: How outbound calls (deauthorize, data deletion, webhooks) are sent; None means urllib.
        self.sender: Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]] | None = (
            None
        )

    # ---------------------------------------------------------------- ids and lookups

    def _new_id(self, prefix: str, length: int, taken: Iterable[str] | dict[str, Any]) -> str:
        while True:
            candidate = prefix + _digits(length - len(prefix))
            if candidate not in taken:
                return candidate

    def find_app(self, app_id: str) -> App:
        """The app with this Meta or Instagram app id."""
        app = self.apps.get(app_id) or self.apps_by_ig_id.get(app_id)
        if app is None:
            raise WorldError(f"no app with id {app_id!r}")
        return app

    def find_account(self, who: str) -> Account:
        """The Instagram account with this username, IG id or app-scoped id."""
        account = self.accounts_by_username.get(who) or self.accounts.get(who)
        if account is None and who in self.scoped_index:
            account = self.accounts.get(self.scoped_index[who][1])
        if account is None:
            raise WorldError(f"no Instagram account {who!r}")
        return account

    def find_fb_user(self, who: str) -> FacebookUser:
        """The Facebook user with this username or id."""
        user = self.fb_users_by_username.get(who) or self.fb_users.get(who)
        if user is None:
            raise WorldError(f"no Facebook user {who!r}")
        return user

    def scoped_id(self, app_id: str, ig_id: str) -> str:
        """The app-scoped id of an Instagram account (``id`` in /me), stable for the pair."""
        key = (app_id, ig_id)
        found = self.scoped_ids.get(key)
        if found is None:
            digest = int.from_bytes(hashlib.sha256(f"{app_id}:{ig_id}".encode()).digest()[:8], "big")
            found = "2" + str(digest % 10**16).zfill(16)
            self.scoped_ids[key] = found
            self.scoped_index[found] = key
        return found

    # ---------------------------------------------------------------- apps

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

    # ---------------------------------------------------------------- accounts and Facebook users

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

    # ---------------------------------------------------------------- tokens

    def _token_value(self, kind: str) -> str:
        body = secrets.token_urlsafe(72).translate(_TRANSLATE)
        if kind in IG_KINDS:
            return "IGAA" + body
        return "EAA" + body

    def mint_token(
        self,
        app_id: str,
        kind: str,
        subject: str,
        *,
        scopes: Iterable[str] | None = None,
        issued_at: float | None = None,
        owner: str | None = None,
        expires_at: float | None = None,
        ttl: float | None = None,
    ) -> Token:
        """Issue a token directly (control API and flows both end here).

        ``subject`` is an IG username/id for ``ig_*``, a Facebook username/id for ``fb_user_*``,
        a Page id for ``fb_page``. ``issued_at`` defaults to now; expiry follows the kind's rule
        unless ``ttl`` or ``expires_at`` is given (``fb_page`` and ``fb_app`` never expire).
        """
        if kind not in TOKEN_KINDS:
            raise WorldError(f"token kind must be one of {', '.join(TOKEN_KINDS)}, not {kind!r}")
        with self.lock:
            app = self.find_app(app_id)
            now = self.clock.timestamp()
            issued = now if issued_at is None else issued_at
            if kind in IG_KINDS:
                if not app.instagram_app_id:
                    raise WorldError(f"app {app.name!r} has no Instagram Login (no Instagram app id)")
                account = self.find_account(subject)
                subject_id, owner_id = account.ig_id, account.ig_id
                self.scoped_id(app.meta_app_id, account.ig_id)
                default_scopes: tuple[str, ...] = ("instagram_business_basic",)
                default_ttl: float | None = IG_SHORT_TTL if kind == "ig_short" else IG_LONG_EXPIRES_IN
            elif kind == "fb_page":
                page = self.pages.get(subject)
                if page is None:
                    raise WorldError(f"no Page {subject!r}")
                subject_id, owner_id = page.page_id, owner or page.owner_id
                default_scopes, default_ttl = ("pages_show_list",), None
            elif kind == "fb_app":
                subject_id = owner_id = app.meta_app_id
                default_scopes, default_ttl = (), None
            else:
                user = self.find_fb_user(subject)
                subject_id, owner_id = user.fb_user_id, user.fb_user_id
                default_scopes = ("public_profile",)
                default_ttl = FB_SHORT_TTL if kind == "fb_user_short" else FB_LONG_EXPIRES_IN
            if expires_at is None:
                lifetime = ttl if ttl is not None else default_ttl
                expires_at = None if lifetime is None else issued + lifetime
            value = self._token_value(kind)
            if kind == "fb_app":
                value = f"{app.meta_app_id}|{secrets.token_urlsafe(20).translate(_TRANSLATE)}"
            token = Token(
                value=value,
                token_id=f"t{(seq := self._next_seq())}",
                seq=seq,
                kind=kind,
                app_id=app.meta_app_id,
                subject=subject_id,
                owner=owner_id,
                scopes=tuple(scopes) if scopes is not None else default_scopes,
                issued_at=issued,
                expires_at=expires_at,
                refreshed_at=issued,
                data_access_expires_at=issued + DATA_ACCESS_TTL if kind in FB_KINDS else None,
            )
            self.tokens[value] = token
            self.changes += 1
            return token

    def token_problem(self, token: Token, now: float) -> GraphError | None:
        """Why ``token`` no longer works at ``now`` (190 with its subcode), or None if it does."""
        if token.revoked is not None:
            return self._revoked_error(token, token.revoked)
        grant = self.grants.get((token.app_id, token.owner))
        if grant is not None and token.seq <= grant.tokens_before:
            return self._revoked_error(token, 458)
        person = self.accounts.get(token.owner) or self.fb_users.get(token.owner)
        if person is not None and token.seq <= person.tokens_before:
            return self._revoked_error(token, 460)
        if token.expires_at is not None and now >= token.expires_at:
            return GraphError(190, expired_message(token.expires_at, now), subcode=463)
        until = self.data_access_until(token)
        if until is not None and now >= until:
            return GraphError(190, DATA_ACCESS_EXPIRED, subcode=493)
        return None

    def data_access_until(self, token: Token) -> float | None:
        """When ``token`` loses data access (190/493): 90 days after the person last logged in to the app.

        Only Facebook user and Page tokens have it; a new login renews it for every token of the pair.
        """
        if token.kind not in DATA_ACCESS_KINDS or token.data_access_expires_at is None:
            return None
        grant = self.grants.get((token.app_id, token.owner))
        renewed = grant.data_access_expires_at if grant is not None else None
        return max(token.data_access_expires_at, renewed or 0.0)

    def _revoked_error(self, token: Token, subcode: int) -> GraphError:
        if subcode == 460:
            return GraphError(190, SESSION_INVALIDATED, subcode=460)
        if subcode == 458:
            return GraphError(
                190,
                f"Error validating access token: The user has not authorized application {token.app_id}.",
                subcode=458,
            )
        return GraphError(190, LOGGED_OUT, subcode=subcode)

    def check_token(self, value: str | None, product: str) -> Token:
        """The live token for ``value`` on ``product`` ("instagram" or "facebook"), or a 190 error."""
        if not value:
            raise GraphError(2500, NO_ACTIVE_SESSION)
        token = self.tokens.get(value)
        if token is None or (token.kind in IG_KINDS) != (product == "instagram"):
            raise GraphError(190, CANNOT_PARSE)
        problem = self.token_problem(token, self.clock.timestamp())
        if problem is not None:
            raise problem
        return token

    def _next_seq(self) -> int:
        self._last_seq = next(self._token_seq)
        return self._last_seq

    def app_literal_token(self, value: str | None) -> Token | None:
        """``APP_ID|APP_SECRET`` used as an app token (accepted everywhere on Graph), else None."""
        if not value or "|" not in value:
            return None
        app_id, _, secret = value.partition("|")
        app = self.apps.get(app_id)
        if app is None or not hmac.compare_digest(secret, app.meta_app_secret):
            return None
        return Token(
            value=value,
            token_id=f"app-{app_id}",
            kind="fb_app",
            app_id=app_id,
            subject=app_id,
            owner=app_id,
            scopes=(),
            issued_at=0.0,
            expires_at=None,
            refreshed_at=0.0,
        )

    def revoke_token(self, value: str, subcode: int = 467) -> Token:
        """Invalidate one token; later calls answer 190 with ``subcode``."""
        with self.lock:
            token = self.tokens.get(value)
            if token is None:
                raise WorldError("no such token")
            token.revoked = subcode
            self.changes += 1
            return token

    def change_password(self, who: str) -> None:
        """The person changed their password: every token issued before now answers 190/460."""
        with self.lock:
            now = self.clock.timestamp()
            person: Account | FacebookUser
            try:
                person = self.find_account(who)
            except WorldError:
                person = self.find_fb_user(who)
            person.password_changed_at = now
            person.tokens_before = self._last_seq
            self.changes += 1

    def remove_app(self, app_id: str, owner_id: str) -> None:
        """The person removed the app: their tokens for it answer 190/458."""
        with self.lock:
            app = self.find_app(app_id)
            grant = self.grants.setdefault((app.meta_app_id, owner_id), Grant(()))
            grant.removed_at = self.clock.timestamp()
            grant.tokens_before = self._last_seq
            self.changes += 1

    def record_grant(
        self, app_id: str, owner_id: str, scopes: Iterable[str], *, declined: Iterable[str] = ()
    ) -> None:
        """Remember what the person granted (and declined); a new login clears an earlier removal.

        The login also renews the pair's data access for 90 days (Facebook Login's 190/493 rule).
        """
        with self.lock:
            previous = self.grants.get((app_id, owner_id))
            cut = previous.tokens_before if previous is not None else 0
            self.grants[(app_id, owner_id)] = Grant(
                tuple(scopes),
                tokens_before=cut,
                declined=tuple(declined),
                data_access_expires_at=self.clock.timestamp() + DATA_ACCESS_TTL,
            )
            self.changes += 1

    def declined_scopes(self, app_id: str, owner_id: str) -> tuple[str, ...]:
        """The permissions the person declined for the app at their last login (none after a removal)."""
        grant = self.grants.get((app_id, owner_id))
        if grant is None or grant.removed_at is not None:
            return ()
        return grant.declined

    def refresh(self, token: Token, now: float) -> tuple[Token, int]:
        """Refresh a long-lived IG token that passed every check; returns the token and expires_in."""
        with self.lock:
            token.refresh_count += 1
            if self.switches.refresh_new_string == "false":
                token.expires_at = now + IG_LONG_EXPIRES_IN
                token.refreshed_at = now
                return token, IG_LONG_EXPIRES_IN
            fresh = Token(
                value=self._token_value("ig_long"),
                token_id=f"t{(seq := self._next_seq())}",
                seq=seq,
                kind="ig_long",
                app_id=token.app_id,
                subject=token.subject,
                owner=token.owner,
                scopes=token.scopes,
                issued_at=now,
                expires_at=now + IG_LONG_EXPIRES_IN,
                refreshed_at=now,
                refresh_count=token.refresh_count,
            )
            self.tokens[fresh.value] = fresh
            if self.switches.old_token_after_refresh == "revoked":  # noqa: S105 - a switch value
                token.revoked = 467
            self.changes += 1
            return fresh, IG_LONG_EXPIRES_IN

    def page_token(self, user_token: Token, page: Page) -> Token:
        """The page token a user token yields; never expires if the user token is long-lived."""
        key = (user_token.app_id, user_token.owner, page.page_id, user_token.kind)
        with self.lock:
            existing = self.page_tokens.get(key)
            if existing is not None:
                token = self.tokens.get(existing)
                if token is not None and self.token_problem(token, self.clock.timestamp()) is None:
                    return token
            ttl = None if user_token.kind == "fb_user_long" else FB_SHORT_TTL
            expires_at = (
                None if ttl is None else min(self.clock.timestamp() + ttl, user_token.expires_at or 0)
            )
            token = self.mint_token(
                user_token.app_id,
                "fb_page",
                page.page_id,
                scopes=user_token.scopes,
                owner=user_token.owner,
                expires_at=expires_at,
            )
            self.page_tokens[key] = token.value
            return token

    # ---------------------------------------------------------------- codes

    def new_code(
        self, product: str, app: App, redirect_uri: str, subject: str, scopes: Iterable[str]
    ) -> Code:
        """An authorization code bound to app, redirect URI, account and granted scopes."""
        value = ("AQ" if product == "instagram" else "AQD") + secrets.token_urlsafe(96)
        code = Code(
            value, product, app.meta_app_id, redirect_uri, subject, tuple(scopes), self.clock.timestamp()
        )
        with self.lock:
            self.codes[value] = code
            self.changes += 1
        return code

    # ---------------------------------------------------------------- usage (rate limits)

    def count_call(self, app: App, subject: str, now: float) -> tuple[int, int]:
        """Count one call for (app, subject) in the current hour; returns (percent used, minutes left)."""
        hour = int(now // 3600)
        key = (app.meta_app_id, subject, hour)
        calls = self.usage.get(key, 0) + 1
        self.usage[key] = calls
        if len(self.usage) > 200_000:  # old hours are only kept to be read; drop them in bulk
            self.usage = {k: v for k, v in self.usage.items() if k[2] >= hour}
        percent = calls * 100 // max(app.call_limit_per_hour, 1)
        return percent, int((hour + 1) * 3600 - now) // 60 + 1

    # ---------------------------------------------------------------- outbound calls (contract §11.2)

    def _sender(self) -> Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]]:
        from igtoken.emulator.outbound import urllib_sender

        return self.sender or urllib_sender

    def fire_deauthorize(self, app_id: str, who: str, *, product: str | None = None) -> dict[str, Any]:
        """O1: the person removes the app; their tokens die (458) and the app's callback is told."""
        from igtoken.emulator.outbound import deauthorize

        return deauthorize(self, app_id, who, sender=self._sender(), product=product)

    def fire_data_deletion(self, app_id: str, who: str, *, product: str | None = None) -> dict[str, Any]:
        """O2: ask the app to delete the person's data, and check its ``{url, confirmation_code}`` reply."""
        from igtoken.emulator.outbound import request_data_deletion

        return request_data_deletion(self, app_id, who, sender=self._sender(), product=product)

    def verify_webhook(self, app_id: str, *, verify_token: str | None = None) -> dict[str, Any]:
        """O3: the webhook subscription handshake against the app's callback."""
        from igtoken.emulator.outbound import verify_webhook

        return verify_webhook(self, app_id, sender=self._sender(), verify_token=verify_token)

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
        from igtoken.emulator.outbound import send_webhook_event

        return send_webhook_event(
            self,
            app_id,
            sender=self._sender(),
            payload=payload,
            who=who,
            field=field,
            non_ascii=non_ascii,
            product=product,
        )

    # ---------------------------------------------------------------- views and persistence

    def view(self) -> dict[str, Any]:
        """The world as ``GET /_emulator/world`` shows it (tokens are counted, not listed)."""
        with self.lock:
            accounts = list(self.accounts.values())
            shown = accounts[:200]
            return {
                "clock": {
                    "now": self.clock.now().isoformat(),
                    "timestamp": self.clock.timestamp(),
                    "frozen": self.clock.frozen,
                },
                "switches": self.switches.as_dict(),
                "apps": [app.as_json() for app in self.apps.values()],
                "accounts": [
                    {
                        **a.as_json(),
                        "app_scoped_ids": {
                            app_id: self.scoped_id(app_id, a.ig_id)
                            for app_id, app in self.apps.items()
                            if app.instagram_app_id
                        },
                    }
                    for a in shown
                ],
                "accounts_total": len(accounts),
                "facebook_users": [u.as_json() for u in self.fb_users.values()],
                "pages": [p.as_json() for p in self.pages.values()],
                "tokens_total": len(self.tokens),
                "faults": [f.as_json() for f in self.faults.all()],
                "requests_logged": len(self.log),
            }

    def to_state(self) -> dict[str, Any]:
        """Everything needed to rebuild the world (for ``--state FILE``)."""
        with self.lock:
            return {
                "version": 2,
                # A running clock is kept as its offset from the wall clock, so time goes on between runs.
                "clock": {"frozen": True, "at": self.clock.timestamp()}
                if self.clock.frozen
                else {"frozen": False, "offset": self.clock.offset},
                "switches": self.switches.as_dict(),
                "apps": [app.as_json() for app in self.apps.values()],
                "accounts": [a.as_json() for a in self.accounts.values()],
                "facebook_users": [u.as_json() for u in self.fb_users.values()],
                "pages": [p.as_json() for p in self.pages.values()],
                "tokens": [t.as_json() for t in self.tokens.values()],
                "grants": [
                    {
                        "app_id": k[0],
                        "owner": k[1],
                        "scopes": list(g.scopes),
                        "removed_at": g.removed_at,
                        "tokens_before": g.tokens_before,
                        "declined": list(g.declined),
                        "data_access_expires_at": g.data_access_expires_at,
                    }
                    for k, g in self.grants.items()
                ],
                "page_tokens": [[*k, v] for k, v in self.page_tokens.items()],
                "codes": [
                    {
                        "value": c.value,
                        "product": c.product,
                        "app_id": c.app_id,
                        "redirect_uri": c.redirect_uri,
                        "subject": c.subject,
                        "scopes": list(c.scopes),
                        "created_at": c.created_at,
                        "used": c.used,
                    }
                    for c in self.codes.values()
                ],
            }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], *, clock: EmulatorClock | None = None, switches: Switches | None = None
    ) -> World:
        """Rebuild a world saved by :meth:`to_state`; explicit ``switches`` win over saved ones."""
        version = state.get("version")
        if version not in (1, 2):
            raise WorldError(f"unsupported emulator state version {version!r}")
        if clock is None:
            clock = _clock_from_state(state["clock"])
        if switches is None:
            switches = Switches()
            switches.update(state.get("switches", {}))
        world = cls(clock=clock, switches=switches)
        for a in state["apps"]:
            app = App(
                name=a["name"],
                meta_app_id=a["meta_app_id"],
                meta_app_secret=a["meta_app_secret"],
                instagram_app_id=a["instagram_app_id"],
                instagram_app_secret=a["instagram_app_secret"],
                redirect_uris=a["redirect_uris"],
                mode=a["mode"],
                testers=set(a["testers"]),
                deauthorize_url=a["deauthorize_url"],
                data_deletion_url=a["data_deletion_url"],
                webhook_url=a["webhook_url"],
                webhook_verify_token=a["webhook_verify_token"],
                call_limit_per_hour=a["call_limit_per_hour"],
                require_appsecret_proof=a["require_appsecret_proof"],
                fb_config_scopes=a["fb_config_scopes"],
                fb_config_id=a.get("fb_config_id") or default_config_id(a["meta_app_id"]),
            )
            world.apps[app.meta_app_id] = app
            if app.instagram_app_id:
                world.apps_by_ig_id[app.instagram_app_id] = app
        for a in state["accounts"]:
            account = Account(**a)
            world.accounts[account.ig_id] = account
            world.accounts_by_username[account.username] = account
        for u in state["facebook_users"]:
            user = FacebookUser(**u)
            world.fb_users[user.fb_user_id] = user
            world.fb_users_by_username[user.username] = user
        for p in state["pages"]:
            world.pages[p["page_id"]] = Page(**p)
        highest = 0
        for t in state["tokens"]:
            fields = dict(t)
            value = fields.pop("access_token")
            fields["scopes"] = tuple(fields["scopes"])
            token = Token(value=value, **fields)
            world.tokens[value] = token
            highest = max(highest, int(token.token_id[1:]))
            if token.kind in IG_KINDS:
                world.scoped_id(token.app_id, token.subject)
        world._token_seq = itertools.count(highest + 1)
        world._last_seq = highest
        for g in state["grants"]:
            world.grants[(g["app_id"], g["owner"])] = Grant(
                tuple(g["scopes"]),
                g["removed_at"],
                g["tokens_before"],
                tuple(g.get("declined", ())),
                g.get("data_access_expires_at"),
            )
        for *key, value in state["page_tokens"]:
            world.page_tokens[(key[0], key[1], key[2], key[3])] = value
        for c in state.get("codes", []):
            world.codes[c["value"]] = Code(**{**c, "scopes": tuple(c["scopes"])})
        return world

    #: What :meth:`adopt` takes over: the state a file holds; the lock, faults, log and sender stay.
    _STATE_ATTRIBUTES = (
        "apps",
        "apps_by_ig_id",
        "accounts",
        "accounts_by_username",
        "fb_users",
        "fb_users_by_username",
        "pages",
        "tokens",
        "codes",
        "grants",
        "scoped_ids",
        "scoped_index",
        "page_tokens",
        "_token_seq",
        "_last_seq",
    )

    def adopt(self, other: World) -> None:
        """Take over ``other``'s state in place (clock and switches included), keeping this object.

        Apps and tests hold on to one ``World`` (``app.state.world``); a process that shares its
        world through a file reloads the file into the same object with this.
        """
        with self.lock:
            for name in self._STATE_ATTRIBUTES:
                setattr(self, name, getattr(other, name))
            self.clock.adopt(other.clock)
            self.switches.update(other.switches.as_dict())
            self.changes += 1

    def touch(self) -> None:
        """Count a change made outside the world's own methods (clock, switches), so it gets saved."""
        with self.lock:
            self.changes += 1

    def save(self, path: str | Path) -> None:
        """Write the state to ``path`` atomically (a temporary file, then a rename)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.to_state(), indent=1), encoding="utf-8")
        os.replace(tmp, target)

    @classmethod
    def load(
        cls, path: str | Path, *, clock: EmulatorClock | None = None, switches: Switches | None = None
    ) -> World:
        """Read a state file written by :meth:`save`."""
        try:
            state = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise WorldError(f"emulator state file {path} is not valid JSON: {exc}") from exc
        return cls.from_state(state, clock=clock, switches=switches)
