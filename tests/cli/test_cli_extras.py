"""A command whose extra is not installed says which one to install, and exits 6.

``sys.modules[name] = None`` makes a package look uninstalled to the import system (and to
``importlib.util.find_spec``) for the length of one test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from igtoken._exceptions import ConfigurationError
from igtoken._extras import EXTRAS, require_extra
from igtoken.cli import main
from igtoken.cli._output import ExitCode


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_require_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    """Each extra's check fails with the pip line for that extra when one of its modules is missing."""
    require_extra(extra)  # the dev install has them all
    _hide(monkeypatch, EXTRAS[extra][1][0])
    with pytest.raises(ConfigurationError) as caught:
        require_extra(extra)
    assert caught.value.fix == f"pip install 'igtoken[{extra}]'"
    assert EXTRAS[extra][1][0] in caught.value.message


def test_serve_without_the_server_extra_exits_6(monkeypatch: pytest.MonkeyPatch) -> None:
    """``igtoken serve`` without FastAPI: the error/fix pair naming igtoken[server], nothing started."""
    _hide(monkeypatch, "fastapi")
    result = CliRunner().invoke(main, ["serve", "--sandbox", "--port", "0"])
    assert result.exit_code == ExitCode.CONFIGURATION, result.output
    assert "error: the igtoken service needs fastapi, which is not installed" in result.stderr
    assert "fix: pip install 'igtoken[server]'" in result.stderr


def test_postgres_url_without_psycopg_exits_6(monkeypatch: pytest.MonkeyPatch) -> None:
    """A postgresql:// database URL without psycopg: exit 6 naming igtoken[postgres], as JSON too."""
    _hide(monkeypatch, "psycopg")
    monkeypatch.setenv("IGTOKEN_DATABASE_URL", "postgresql://igtoken@127.0.0.1:9/igtoken")
    monkeypatch.setenv("IGTOKEN_KEYS", "k1:" + "A" * 43 + "=")  # a URL-configured vault needs its keys
    result = CliRunner().invoke(main, ["apps", "list", "--json"])
    assert result.exit_code == ExitCode.CONFIGURATION, result.output
    error = json.loads(result.stdout)["error"]
    assert error["fix"] == "pip install 'igtoken[postgres]'"
    assert "psycopg" in error["message"]


def test_python_dash_m_igtoken_runs_the_cli() -> None:
    """``python -m igtoken`` is the same command line, under the name ``igtoken``."""
    done = subprocess.run(
        [sys.executable, "-m", "igtoken", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: igtoken ")
