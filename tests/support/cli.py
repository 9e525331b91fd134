"""Run the CLI in-process, play the person's browser, keep files under tmp_path, seed accounts."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from igtoken.cli import main
from igtoken.cli._context import AppContext
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import demo
from igtoken.testing import RunningEmulator


def free_port() -> int:
    """A port that was free a moment ago (for redirect URIs that must be registered before binding)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def invoke(args: list[str], *, input: Any = None, **context: Any) -> Result:
    """Run ``igtoken ARGS`` in-process.

    With ``context`` (``opener``, ``interactive``, ``json_output``, ``sandbox``) the test hands in
    its own AppContext, so global flags go there rather than in ``args``.
    """
    obj = AppContext(**context) if context else None
    return CliRunner().invoke(main, args, obj=obj, input=input, catch_exceptions=False)


class ScriptedBrowser:
    """Plays the person's browser: loads the consent page, clicks Allow or Cancel, follows the redirect."""

    def __init__(self, account: str = "demo_business", decision: str = "approve", *, follow: bool = True):
        self.account = account
        self.decision = decision
        self.follow = follow
        self.final_url: str | None = None
        self.consent_html: str | None = None

    def __call__(self, url: str) -> bool:
        with httpx.Client(timeout=10) as http:
            page = http.get(url)
            assert page.status_code == 200, page.text
            self.consent_html = page.text
            assert re.search(r"id='allow'", page.text)
            # The consent form posts back to the same URL (action='').
            answer = http.post(
                url, data={"emulator_account": self.account, "emulator_decision": self.decision}
            )
            assert answer.status_code in (302, 303), answer.text
            self.final_url = answer.headers["location"]
            if self.follow:
                http.get(self.final_url.split("#", 1)[0])
        return True


def data_dirs(tmp_path: Path) -> dict[str, str]:
    """XDG variables that keep every file of a test under ``tmp_path``."""
    return {
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "HOME": str(tmp_path / "home"),
    }


def seed_account(
    emulator: RunningEmulator,
    *,
    age: timedelta,
    username: str = "demo_business",
    due: bool = True,
    app: str = "shop",
    scopes: tuple[str, ...] = ("instagram_business_basic",),
) -> str:
    """Store an account of app 'shop' whose token the emulator minted ``age`` ago; returns the account id."""
    now = datetime.now(UTC)
    issued = now - age
    minted = emulator.world.mint_token(
        demo.DEMO_IG_APP_ID,
        "ig_long",
        username,
        scopes=scopes,
        issued_at=emulator.clock.timestamp() - age.total_seconds(),
    )
    account = emulator.world.find_account(username)
    context = AppContext()
    vault = context.vault
    token = AccessToken(
        Secret(minted.value), TokenKind.IG_LONG, issued, issued + timedelta(days=60),
        user_id=account.ig_id, scopes=scopes,
    )  # fmt: skip
    record = vault.save_login(
        app, Profile(account.ig_id, username, AccountType.BUSINESS), token, now=now,
        next_refresh_at=now - timedelta(minutes=1) if due else now + timedelta(days=5),
    )  # fmt: skip
    context.close()
    return record.id
