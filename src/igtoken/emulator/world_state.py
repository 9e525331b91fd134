"""The emulated Meta's state (apps, accounts, users, Pages, codes, tokens, grants) and its lookups.

Every lookup the hot paths need (token → record, IG app id → app, username → account) is a dict,
so refresh and /me stay O(1) however many accounts a load test seeds. One re-entrant lock guards
the state, because tests poke the world from their own thread while uvicorn serves from another.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from igtoken.emulator.clock import EmulatorClock
from igtoken.emulator.faults import FaultBook
from igtoken.emulator.model import (
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


class WorldState:
    """The state every part of :class:`~igtoken.emulator.world.World` reads, and the id lookups."""

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

    def find_person(self, who: str) -> Account | FacebookUser:
        """The Instagram account (first) or else the Facebook user going by ``who``."""
        try:
            return self.find_account(who)
        except WorldError:
            return self.find_fb_user(who)

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

    def touch(self) -> None:
        """Count a change made outside the world's own methods (clock, switches), so it gets saved."""
        with self.lock:
            self.changes += 1

    def _next_seq(self) -> int:
        self._last_seq = next(self._token_seq)
        return self._last_seq
