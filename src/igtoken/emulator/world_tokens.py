"""The token rules: minting, why Meta calls a token dead (190 and subcodes), refresh, grants, codes, usage."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable

from igtoken.emulator.errors import (
    CANNOT_PARSE,
    DATA_ACCESS_EXPIRED,
    LOGGED_OUT,
    NO_ACTIVE_SESSION,
    SESSION_INVALIDATED,
    GraphError,
)
from igtoken.emulator.model import (
    DATA_ACCESS_KINDS,
    DATA_ACCESS_TTL,
    FB_KINDS,
    FB_LONG_EXPIRES_IN,
    FB_SHORT_TTL,
    IG_KINDS,
    IG_LONG_EXPIRES_IN,
    IG_SHORT_TTL,
    TOKEN_KINDS,
    App,
    Code,
    Grant,
    Page,
    Token,
)
from igtoken.emulator.world_state import (
    _TRANSLATE,
    WorldError,
    WorldState,
    expired_message,
)


class TokenRules(WorldState):
    """Mint, check, refresh and revoke tokens, as Meta's rules say."""

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
            person = self.find_person(who)
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
