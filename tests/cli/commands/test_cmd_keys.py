"""`igtoken keys add|rotate|status` on the default key-file install, and with IGTOKEN_KEYS."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from igtoken.testing import RunningEmulator
from tests.support.cli import invoke, seed_account


def status() -> dict:
    result = invoke(["keys", "status", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_rotate_on_the_key_file_install_moves_every_row_to_a_new_key(
    registered: str, emulator: RunningEmulator
) -> None:
    """rotate creates a key, makes it active, re-encrypts everything; the old key holds 0 rows."""
    seed_account(emulator, age=timedelta(days=1), due=False)
    before = status()
    old = before["active_key_id"]
    assert before["source"].endswith("keys.json")
    assert {k["key_id"]: k["tokens"] + k["app_secrets"] for k in before["keys"]}[old] == 2
    result = invoke(["keys", "rotate"])
    assert result.exit_code == 0, result.stderr
    assert "Created key" in result.stdout and f"No row is left under {old}" in result.stdout
    after = status()
    new = after["active_key_id"]
    assert new != old
    rows = {k["key_id"]: (k["tokens"], k["app_secrets"]) for k in after["keys"]}
    assert rows[old] == (0, 0) and rows[new] == (1, 1)
    assert json.loads(Path(before["source"]).read_text())["active"] == new
    # Everything still opens, through the quick path and the full vault alike.
    assert invoke(["token"]).exit_code == 0
    assert invoke(["accounts", "show", "--show-token"]).exit_code == 0
    text = invoke(["keys", "status"])
    assert f"New rows are sealed under {new}." in text.stdout


def test_add_then_rotate_to_it(registered: str, emulator: RunningEmulator) -> None:
    """keys add makes a new active key at once; rotate --to moves the old rows to it."""
    seed_account(emulator, age=timedelta(days=1), due=False)
    old = status()["active_key_id"]
    added = json.loads(invoke(["keys", "add", "--id", "k2027", "--json"]).stdout)
    assert added == {"key_id": "k2027", "previous_key_id": old, "key_file": status()["source"]}
    assert status()["active_key_id"] == "k2027"
    assert invoke(["keys", "add", "--id", "k2027"]).exit_code == 6  # taken
    rotated = json.loads(invoke(["keys", "rotate", "--to", "k2027", "--json"]).stdout)
    assert rotated["created"] is False and rotated["rows_left_on_other_keys"] == {}
    rows = {k["key_id"]: k["tokens"] + k["app_secrets"] for k in status()["keys"]}
    assert rows == {old: 0, "k2027": 2}


def test_with_igtoken_keys_the_environment_holds_the_keys(
    registered: str, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """IGTOKEN_KEYS: keys add says how to add one there; rotate re-encrypts under the first key."""
    k1 = base64.b64encode(os.urandom(32)).decode()
    k2 = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("IGTOKEN_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    monkeypatch.setenv("IGTOKEN_KEYS", f"k1:{k1}")
    assert invoke(["db", "upgrade"]).exit_code == 0
    monkeypatch.setenv("S", "secret")
    add_app = [
        "apps",
        "add",
        "x",
        "--app-id",
        "1",
        "--redirect-uri",
        "https://a.example/cb",
        "--secret-env",
        "S",
    ]
    assert invoke(add_app).exit_code == 0
    refused = invoke(["keys", "add"])
    assert refused.exit_code == 6 and "IGTOKEN_KEYS" in refused.stderr
    assert invoke(["keys", "rotate"]).exit_code == 6  # nothing to move: say how to rotate
    monkeypatch.setenv("IGTOKEN_KEYS", f"k2:{k2},k1:{k1}")
    rotated = json.loads(invoke(["keys", "rotate", "--json"]).stdout)
    assert rotated["key_id"] == "k2" and rotated["app_secrets"] == 1
    assert {k["key_id"]: k["app_secrets"] for k in status()["keys"]} == {"k1": 0, "k2": 1}
