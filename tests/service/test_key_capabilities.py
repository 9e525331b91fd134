"""API key capabilities: each /v1 route needs its own, besides the key's account scope."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from igtoken.cli import main
from igtoken.cli.apikeys import CAPABILITIES as CLI_CAPABILITIES
from igtoken.service.openapi import ErrorOut
from igtoken.vault.records import CAPABILITIES

from .test_wired_service import connect


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "accept": "application/json"}


async def _answers(wired, key: str, account_id: str) -> dict[str, int]:
    base = f"/v1/accounts/{account_id}"
    calls = {
        "accounts:read": wired.service.get("/v1/accounts", headers=_auth(key)),
        "tokens:read": wired.service.get(f"{base}/token", headers=_auth(key)),
        "graph": wired.service.get(f"{base}/graph/me", params={"fields": "id"}, headers=_auth(key)),
        "refresh": wired.service.post(f"{base}/refresh", headers=_auth(key)),
        "links:create": wired.service.post("/v1/connect-links", json={"app": "demo"}, headers=_auth(key)),
    }
    out = {}
    for name, call in calls.items():
        answer = await call
        if answer.status_code == 403:
            assert "capability" in ErrorOut.model_validate(answer.json()).error.message
        out[name] = answer.status_code
    return out


async def test_a_key_may_do_only_what_its_capabilities_say(wired):
    """A tokens:read key reads tokens and nothing else; a links:create + accounts:read key onboards."""
    account_id = await connect(wired)
    _, reader = wired.vault.api_keys.create("reader", now=wired.now(), capabilities=["tokens:read"])
    got = await _answers(wired, reader.reveal(), account_id)
    assert got["tokens:read"] == 200
    assert {k: v for k, v in got.items() if k != "tokens:read"} == {
        "accounts:read": 403,
        "graph": 403,
        "refresh": 403,
        "links:create": 403,
    }
    _, onboarder = wired.vault.api_keys.create(
        "onboarding", now=wired.now(), capabilities=["links:create", "accounts:read"]
    )
    got = await _answers(wired, onboarder.reveal(), account_id)
    assert (got["links:create"], got["accounts:read"], got["tokens:read"], got["graph"]) == (
        201,
        200,
        403,
        403,
    )


async def test_a_key_without_capabilities_may_do_everything(wired):
    """Keys made before capabilities existed (null) keep working for every route."""
    account_id = await connect(wired)
    got = await _answers(wired, wired.key, account_id)
    assert got["accounts:read"] == got["tokens:read"] == got["graph"] == 200
    assert got["links:create"] == 201
    assert got["refresh"] in (200, 409)  # 409: Meta refuses a refresh before 24 hours of age


def test_unknown_capabilities_are_refused_and_the_cli_lists_the_vaults_own():
    """The vault refuses an unknown capability; the CLI's list is the vault's."""
    assert CLI_CAPABILITIES == CAPABILITIES
    with pytest.raises(ValueError, match="unknown API key capabilities: tokens:write"):
        from igtoken.vault.apikeys import ApiKeys

        ApiKeys(db=None).create("x", now=None, capabilities=["tokens:write"])  # type: ignore[arg-type]


def test_the_cli_creates_a_key_with_capabilities(tmp_path, monkeypatch):
    """apikeys create --capability … stores them; list --json shows them."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["--sandbox", "apikeys", "create", "cron", "--capability", "tokens:read", "--json"],
        catch_exceptions=False,
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["capabilities"] == ["tokens:read"]
    listed = json.loads(runner.invoke(main, ["--sandbox", "apikeys", "list", "--json"]).stdout)
    assert [k["capabilities"] for k in listed["apikeys"] if k["name"] == "cron"] == [["tokens:read"]]
    bad = runner.invoke(main, ["--sandbox", "apikeys", "create", "x", "--capability", "everything"])
    assert bad.exit_code == 2
