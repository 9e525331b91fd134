"""The ``igtoken`` group: global options and the error → exit-code table (src/igtoken/cli/)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from igtoken.cli import main
from igtoken.cli._context import AppContext, pass_ctx
from igtoken.cli._output import ExitCode, error_payload, exit_code_for, mask_token, to_jsonable
from igtoken.core import exceptions as exc
from igtoken.core.secret import Secret

# One instance of every class the table names, plus neighbours that must fall elsewhere.
CASES = [
    (exc.ConfigurationError("bad redirect URI", fix="register it"), ExitCode.CONFIGURATION),
    (exc.ScopeError("old scope", scope="user_profile", replacement=None), ExitCode.CONFIGURATION),
    (exc.StorageError("vault broke"), ExitCode.STORAGE),
    (exc.NotFoundError("no such account"), ExitCode.STORAGE),
    (exc.MissingKeyError("k9"), ExitCode.STORAGE),
    (exc.DecryptionError("tampered"), ExitCode.STORAGE),
    (exc.NeedsReauthorizationError("token revoked", status_code=400, code=190), ExitCode.NEEDS_LOGIN),
    (exc.TokenExpiredError("expired"), ExitCode.NEEDS_LOGIN),
    (exc.AuthorizationError("browser leg failed"), ExitCode.NEEDS_LOGIN),
    (
        exc.AuthorizationDenied("denied", error="access_denied", reason=None, description=None),
        ExitCode.NEEDS_LOGIN,
    ),
    (exc.CallbackTimeout("no redirect"), ExitCode.NEEDS_LOGIN),
    (exc.StateMismatchError("state differs"), ExitCode.NEEDS_LOGIN),
    (exc.TransportError("connection reset"), ExitCode.TEMPORARY),
    (exc.RequestTimeout("slow"), ExitCode.TEMPORARY),
    (exc.ThrottledError("slow down", status_code=429, code=4), ExitCode.TEMPORARY),
    (exc.TransientError("meta hiccup", status_code=500, code=2), ExitCode.TEMPORARY),
    (exc.InvalidGrantError("code used", status_code=400), ExitCode.UNEXPECTED),
    (exc.TokenTooNewError("under 24 h"), ExitCode.UNEXPECTED),
    (RuntimeError("boom"), ExitCode.UNEXPECTED),
]


@pytest.fixture
def raising() -> Iterator[dict[str, BaseException]]:
    """A test-only ``igtoken raise`` command raising whatever the test puts in the dict."""
    box: dict[str, BaseException] = {}

    @click.command("raise")
    def raise_command() -> None:
        raise box["error"]

    @click.group("nested")
    def nested() -> None:
        pass

    @nested.command("raise")
    def nested_raise() -> None:
        raise box["error"]

    main.add_command(raise_command)
    main.add_command(nested)
    yield box
    main.commands.pop("raise")
    main.commands.pop("nested")


@pytest.fixture
def probe() -> Iterator[None]:
    """A test-only ``igtoken probe`` command printing what the AppContext resolved."""

    @click.command("probe")
    @pass_ctx
    def probe_command(app: AppContext) -> None:
        click.echo(json.dumps({"sandbox": app.sandbox, "json": app.json, "verbose": app.verbose}))

    main.add_command(probe_command)
    yield
    main.commands.pop("probe")


@pytest.mark.parametrize(
    ("error", "code"), CASES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else ""
)
def test_exit_code_table(error, code):
    """Each exception class maps to its documented exit code."""
    assert code == exit_code_for(error)


@pytest.mark.parametrize(
    ("error", "code"), CASES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else ""
)
def test_errors_print_message_and_fix_on_stderr(raising, error, code):
    """A command raising prints 'error:' and 'fix:' lines on stderr and exits with the table's code."""
    raising["error"] = error
    result = CliRunner().invoke(main, ["raise"])
    assert int(code) == result.exit_code
    assert result.stdout == ""
    assert f"error: {error_payload(error)['error']['message']}" in result.stderr
    if isinstance(error, exc.IGTokenError) and error.fix:
        assert f"fix: {error.fix}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("error", "code"), CASES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else ""
)
def test_errors_as_json(raising, error, code):
    """With --json the error is one JSON object on stdout carrying type, message, fix and exit code."""
    raising["error"] = error
    result = CliRunner().invoke(main, ["--json", "raise"])
    assert int(code) == result.exit_code
    payload = json.loads(result.stdout)
    assert set(payload) == {"error"}
    assert type(error).__name__ == payload["error"]["type"]
    assert int(code) == payload["error"]["exit_code"]
    assert payload["error"]["message"]
    assert isinstance(payload["error"]["fix"], str)


def test_nested_group_errors_are_mapped(raising):
    """Commands inside a sub-group get the same mapping as top-level ones."""
    raising["error"] = exc.StorageError("db locked")
    result = CliRunner().invoke(main, ["nested", "raise"])
    assert result.exit_code == ExitCode.STORAGE
    assert "error: db locked" in result.stderr


def test_default_fixes(raising):
    """Errors without a fix of their own get the category's advice; Meta's wait hint is quoted."""
    raising["error"] = exc.ThrottledError("slow down", status_code=429, retry_after=30.0)
    result = CliRunner().invoke(main, ["raise"])
    assert "fix: Meta asks to wait 30 seconds before trying again" in result.stderr
    raising["error"] = exc.TokenExpiredError("expired")
    assert "fix: log in again" in CliRunner().invoke(main, ["raise"]).stderr
    raising["error"] = RuntimeError("boom")
    result = CliRunner().invoke(main, ["raise"])
    assert "error: unexpected RuntimeError: boom" in result.stderr
    assert "fix: run again with -v" in result.stderr


def test_verbose_shows_traceback(raising):
    """-v adds the traceback on stderr."""
    raising["error"] = RuntimeError("boom")
    result = CliRunner().invoke(main, ["-v", "raise"])
    assert result.exit_code == ExitCode.UNEXPECTED
    assert "Traceback" in result.stderr
    assert "RuntimeError: boom" in result.stderr


def test_usage_errors_exit_2():
    """Unknown commands and options are click usage errors: exit code 2."""
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == ExitCode.USAGE
    assert CliRunner().invoke(main, ["--no-such-option", "config", "show"]).exit_code == ExitCode.USAGE


def test_help_and_version():
    """--help lists the global options; --version prints the version."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for option in ("--sandbox", "--json", "--env-file", "--verbose"):
        assert option in result.stdout
    assert "version" in CliRunner().invoke(main, ["--version"]).stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, False),
        (["--sandbox"], {}, True),
        ([], {"IGTOKEN_SANDBOX": "yes"}, True),
        (["--no-sandbox"], {"IGTOKEN_SANDBOX": "1"}, False),
        (["--sandbox"], {"IGTOKEN_SANDBOX": "0"}, True),
    ],
)
def test_sandbox_flag_and_variable(probe, args, env, expected):
    """--sandbox/--no-sandbox win; without them IGTOKEN_SANDBOX decides."""
    result = CliRunner().invoke(main, [*args, "probe"], env=env)
    assert result.exit_code == 0, result.output
    assert expected is json.loads(result.stdout)["sandbox"]


def test_sandbox_from_dotenv_in_cwd(probe, tmp_path):
    """Without --env-file, ./.env is read when it exists."""
    (tmp_path / ".env").write_text("IGTOKEN_SANDBOX=true\n")
    result = CliRunner().invoke(main, ["probe"])
    assert json.loads(result.stdout)["sandbox"] is True


def test_json_and_verbose_reach_the_context(probe):
    """--json and repeated -v are visible to commands through pass_ctx."""
    result = CliRunner().invoke(main, ["--json", "-vv", "probe"])
    assert json.loads(result.stdout) == {"sandbox": False, "json": True, "verbose": 2}


def test_config_show_json_reports_sources_without_secrets(tmp_path):
    """config show --json lists every variable with its source and never a secret's value."""
    env_file = tmp_path / "custom.env"
    env_file.write_text("IGTOKEN_PORT=9100\nIGTOKEN_ADMIN_PASSWORD=pa55-word-here\n")
    result = CliRunner().invoke(
        main,
        ["--json", "--env-file", str(env_file), "config", "show"],
        env={"IGTOKEN_KEYS": "k1:keymaterial123"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"]["IGTOKEN_PORT"] == {"value": "9100", "source": ".env"}
    assert data["settings"]["IGTOKEN_KEYS"] == {"value": "(set, hidden)", "source": "environment"}
    assert data["settings"]["IGTOKEN_ADMIN_PASSWORD"] == {"value": "(set, hidden)", "source": ".env"}
    assert "keymaterial123" not in result.output
    assert "pa55-word-here" not in result.output


def test_config_show_hides_the_meta_webhook_verify_token():
    """IGTOKEN_META_WEBHOOK_VERIFY_TOKEN is a secret: shown as set, never its value."""
    result = CliRunner().invoke(
        main, ["--json", "config", "show"], env={"IGTOKEN_META_WEBHOOK_VERIFY_TOKEN": "verify-0123456789"}
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["settings"]["IGTOKEN_META_WEBHOOK_VERIFY_TOKEN"]
    assert shown == {"value": "(set, hidden)", "source": "environment"}
    assert "verify-0123456789" not in result.output


def test_config_show_table_and_warnings():
    """config show prints a table on stdout and unknown-variable warnings on stderr."""
    result = CliRunner().invoke(main, ["config", "show"], env={"IGTOKEN_LOGLEVEL": "DEBUG"})
    assert result.exit_code == 0
    assert "IGTOKEN_DATABASE_URL" in result.stdout
    assert "warning: unknown variable IGTOKEN_LOGLEVEL" in result.stderr
    assert "did you mean IGTOKEN_LOG_LEVEL?" in result.stderr


def test_bad_settings_exit_6():
    """A malformed variable makes any command that reads settings exit 6 with the variable named."""
    result = CliRunner().invoke(main, ["config", "show"], env={"IGTOKEN_PORT": "eighty"})
    assert result.exit_code == ExitCode.CONFIGURATION
    assert "error: IGTOKEN_PORT must be a port number" in result.stderr
    assert "fix: set IGTOKEN_PORT to an integer from 0 to 65535" in result.stderr


def test_missing_env_file_exits_6(tmp_path):
    """--env-file naming a missing file is a configuration error."""
    result = CliRunner().invoke(main, ["--env-file", str(tmp_path / "gone.env"), "config", "show"])
    assert result.exit_code == ExitCode.CONFIGURATION
    assert "does not exist" in result.stderr


def test_mask_token():
    """Tokens show as first four…last four; short ones fully masked; --show-token reveals."""
    token = Secret("IGQWRPa1b2c3d4e5f6g7h8abcd")
    assert mask_token(token) == "IGQW…abcd"
    assert mask_token(token, show=True) == "IGQWRPa1b2c3d4e5f6g7h8abcd"
    assert mask_token(Secret("short-token")) == "********"
    assert to_jsonable({"t": [token]})["t"][0] == "IGQW…abcd"


def test_help_imports_nothing_heavy():
    """Importing the CLI and printing --help loads no rich, httpx, SQLAlchemy or cryptography."""
    code = (
        "import sys\n"
        "from igtoken.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'rich', 'httpx', 'sqlalchemy', 'cryptography', 'platformdirs', 'fastapi'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_subcommand_usage_error_as_json():
    """With --json, a subcommand's usage error is the JSON error object, still with exit code 2."""
    result = CliRunner().invoke(main, ["--json", "config", "show", "--bogus"])
    assert result.exit_code == ExitCode.USAGE
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "NoSuchOption"
    assert "--bogus" in error["message"]
    assert error["fix"] == "see `igtoken config show --help`"
    assert error["exit_code"] == 2
