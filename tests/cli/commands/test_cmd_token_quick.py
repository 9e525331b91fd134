"""``igtoken token`` with a token that is not due: the quick read, its light imports, and its fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from igtoken.cli._context import AppContext
from tests.support.cli import invoke

#: What the token path must not load: the full vault (SQLAlchemy), migrations, the emulator, the web stack.
HEAVY = ("sqlalchemy", "alembic", "starlette", "fastapi", "anyio", "httpx", "rich", "uvicorn", "stamina")
HEAVY_IGTOKEN = (
    "igtoken.vault.repository",
    "igtoken.vault.aio",
    "igtoken.vault.migrate",
    "igtoken.emulator.app",
)

_PROBE = """
import json, sys
from igtoken.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _run_probe(args: list[str], env: dict[str, str]) -> tuple[str, int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, report["code"], set(report["modules"])


@pytest.fixture
def sandbox_env(private_dirs: dict[str, str]) -> dict[str, str]:
    """A process environment with the sandbox logged in as demo_business (in the test's private dirs)."""
    assert invoke(["login", "--sandbox", "--no-browser"]).exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    env.update(private_dirs)
    return env


def _token_reads() -> list[dict[str, object]]:
    context = AppContext(sandbox=True)
    try:
        return [e.data for e in context.vault.events(types=["token_read"])]
    finally:
        context.close()


def test_token_not_due_imports_nothing_heavy(sandbox_env: dict[str, str]) -> None:
    """`igtoken --sandbox token` prints the stored token and records the read without SQLAlchemy,
    Alembic, the emulator, Starlette, httpx or rich."""
    expected = invoke(["token", "--json"], sandbox=True)
    assert expected.exit_code == 0, expected.output
    value = json.loads(expected.stdout)["access_token"]
    reads = len(_token_reads())
    stdout, code, modules = _run_probe(["--sandbox", "token", "demo_business"], sandbox_env)
    assert (code, stdout.strip()) in ((None, value), (0, value))
    loaded = {m for m in modules if m.split(".")[0] in HEAVY} | (modules & set(HEAVY_IGTOKEN))
    assert loaded == set()
    assert "igtoken.vault.quickread" in modules
    after = _token_reads()
    assert len(after) == reads + 1 and after[-1]["reader"] == "cli"


def test_token_json_from_the_quick_read(sandbox_env: dict[str, str]) -> None:
    """--json through the quick read gives the same document as the full path (refreshed false)."""
    full = json.loads(invoke(["token", "--json"], sandbox=True).stdout)
    stdout, _code, modules = _run_probe(["--sandbox", "--json", "token"], sandbox_env)
    assert "sqlalchemy" not in modules
    assert json.loads(stdout) == full
    assert full["refreshed"] is False
    assert datetime.fromisoformat(full["expires_at"]) > datetime.now(UTC)


def test_unusual_state_takes_the_full_path(sandbox_env: dict[str, str], private_dirs: dict[str, str]) -> None:
    """With the account marked for re-login, the full vault answers (exit 3 and the login command)."""
    context = AppContext(sandbox=True)
    try:
        [account] = context.vault.list_accounts()
        context.vault.mark_needs_reauth(account.id, "revoked in a test", now=datetime.now(UTC))
    finally:
        context.close()
    stdout, code, modules = _run_probe(["--sandbox", "token"], sandbox_env)
    assert code == 3 and stdout == ""
    assert "igtoken.vault.repository" in modules


def test_missing_key_file_is_created_by_the_full_path(sandbox_env: dict[str, str], tmp_path: Path) -> None:
    """Without the sandbox key file the quick read steps aside; the full path's errors and notices apply."""
    keys = Path(sandbox_env["XDG_CONFIG_HOME"]) / "igtoken" / "sandbox-keys.json"
    assert keys.is_file()
    keys.rename(tmp_path / "moved-keys.json")
    stdout, code, modules = _run_probe(["--sandbox", "token"], sandbox_env)
    assert code not in (None, 0) and stdout == ""
    assert "igtoken.vault.repository" in modules
