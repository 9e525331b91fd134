"""``igtoken worker`` runs the scheduled permission audit: once when due, then not again within the week."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from igtoken.cli import main
from igtoken.cli._context import AppContext


def audits() -> int:
    context = AppContext(sandbox=True)
    try:
        return len(context.vault.events(types=["permissions_audited"]))
    finally:
        context.close()


def test_worker_audits_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["--sandbox", "worker", "--until-idle"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert audits() == 1
    monkeypatch.setenv("IGTOKEN_PERMISSION_AUDIT_DAYS", "0")
    assert runner.invoke(main, ["--sandbox", "worker", "--until-idle"]).exit_code == 0
    assert audits() == 1
