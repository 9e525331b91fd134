"""The world as JSON: the control API's view, the state file (the clock as an offset), reload in place."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any, Self

from igtoken.emulator.clock import EmulatorClock
from igtoken.emulator.model import (
    IG_KINDS,
    Account,
    App,
    Code,
    FacebookUser,
    Grant,
    Page,
    Token,
)
from igtoken.emulator.switches import Switches
from igtoken.emulator.world_state import (
    WorldError,
    WorldState,
    _clock_from_state,
    default_config_id,
)


class Persistence(WorldState):
    """Save, load and show the world; adopt a reloaded world in place."""

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
    ) -> Self:
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
            app = App.from_json(a)
            app.fb_config_id = app.fb_config_id or default_config_id(app.meta_app_id)
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

    def adopt(self, other: WorldState) -> None:
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

    def save(self, path: str | Path) -> None:
        """Write the state to ``path`` atomically (a temporary file, then a rename)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.to_state(), indent=1), encoding="utf-8")
        os.replace(tmp, target)

    @classmethod
    def load(
        cls, path: str | Path, *, clock: EmulatorClock | None = None, switches: Switches | None = None
    ) -> Self:
        """Read a state file written by :meth:`save`."""
        try:
            state = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise WorldError(f"emulator state file {path} is not valid JSON: {exc}") from exc
        return cls.from_state(state, clock=clock, switches=switches)
