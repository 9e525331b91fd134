"""What the CLI prints: the one error → exit-code table, JSON or rich output, token masking.

Exit codes (also in the README, "Exit codes")::

    0  ok
    1  unexpected error, or an igtoken error with no better code
    2  usage: bad option or argument (click), an ACCOUNT that names several accounts
    3  needs login / re-authorization: NeedsReauthorizationError, TokenExpiredError,
       AuthorizationError and subclasses, nothing connected yet (NotConnectedError)
    4  temporary, retry later: every ``retryable`` error (TransportError, ThrottledError,
       TransientError)
    5  storage: StorageError and subclasses
    6  configuration: ConfigurationError and subclasses

Errors (click's usage errors too) are written as ``error: …`` / ``fix: …`` lines on stderr,
or with ``--json`` as one object ``{"error": {"type", "message", "fix", "exit_code"}}`` on stdout, so a
script reads exactly one JSON document from stdout whether the command worked or not.

Nothing heavy is imported at module level: this module loads for ``igtoken --help``.
"""

from __future__ import annotations

import enum
import json
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from igtoken.core.exceptions import (
    AmbiguousError,
    AuthorizationError,
    ConfigurationError,
    IGTokenError,
    NeedsReauthorizationError,
    NotConnectedError,
    StorageError,
    ThrottledError,
    TokenExpiredError,
)
from igtoken.core.secret import Secret

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "ExitCode",
    "ReportingGroup",
    "error_payload",
    "exit_code_for",
    "mask_token",
    "print_json",
    "print_table",
    "report_errors",
    "show_token_option",
    "to_jsonable",
]

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(enum.IntEnum):
    """The process exit codes of ``igtoken``; scripts may rely on them."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NEEDS_LOGIN = 3
    TEMPORARY = 4
    STORAGE = 5
    CONFIGURATION = 6


# Checked in order; the first match wins. ``retryable`` is read from the class, not the
# name, so a new retryable subclass lands on 4 without touching this table.
_TABLE: tuple[tuple[Callable[[BaseException], bool], ExitCode, str], ...] = (
    (
        lambda e: isinstance(e, AmbiguousError),
        ExitCode.USAGE,
        "say which one on the command line",
    ),
    (
        lambda e: isinstance(e, NotConnectedError),
        ExitCode.NEEDS_LOGIN,
        "connect an account first: igtoken login",
    ),
    (
        lambda e: isinstance(e, ConfigurationError),
        ExitCode.CONFIGURATION,
        "check your IGTOKEN_* settings and .env file (igtoken config show)",
    ),
    (
        lambda e: isinstance(e, StorageError),
        ExitCode.STORAGE,
        "check IGTOKEN_DATABASE_URL and the encryption keys (IGTOKEN_KEYS or IGTOKEN_KEY_FILE)",
    ),
    (
        lambda e: isinstance(e, NeedsReauthorizationError | TokenExpiredError | AuthorizationError),
        ExitCode.NEEDS_LOGIN,
        "log in again to re-authorize the account",
    ),
    (
        lambda e: isinstance(e, IGTokenError) and e.retryable,
        ExitCode.TEMPORARY,
        "this is temporary: try again later",
    ),
)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for ``exc``, per the table in this module's docstring."""
    for matches, code, _fix in _TABLE:
        if matches(exc):
            return code
    return ExitCode.UNEXPECTED


def _default_fix(exc: BaseException) -> str:
    for matches, _code, fix in _TABLE:
        if matches(exc):
            if isinstance(exc, ThrottledError) and exc.retry_after:
                return f"Meta asks to wait {exc.retry_after:g} seconds before trying again"
            return fix
    if isinstance(exc, IGTokenError):
        return ""
    return "run again with -v to see the traceback, and report it if it persists"


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The ``{"error": {...}}`` object describing ``exc`` for ``--json`` output."""
    if isinstance(exc, IGTokenError):
        message = exc.message
        fix = exc.fix or _default_fix(exc)
    else:
        message = f"unexpected {type(exc).__name__}: {exc}"
        fix = _default_fix(exc)
    return {
        "error": {
            "type": type(exc).__name__,
            "message": message,
            "fix": fix,
            "exit_code": int(exit_code_for(exc)),
        }
    }


def _click_error_payload(exc: click.exceptions.ClickException) -> dict[str, Any]:
    ctx = getattr(exc, "ctx", None)
    fix = f"see `{ctx.command_path} --help`" if ctx is not None else "see `igtoken --help`"
    message = exc.format_message()
    return {
        "error": {
            "type": type(exc).__name__,
            "message": message,
            "fix": fix,
            "exit_code": exc.exit_code,
        }
    }


def _print_pair(message: str, fix: str) -> None:
    from rich.markup import escape

    console = stderr_console()
    console.print(f"[bold red]error:[/] {escape(message)}")
    if fix:
        console.print(f"[bold]fix:[/] {escape(fix)}")


def _render_click_error(exc: click.exceptions.ClickException, *, as_json: bool) -> None:
    """A usage error as the same error/fix pair (or JSON object) as every other failure."""
    payload = _click_error_payload(exc)
    if as_json:
        click.echo(json.dumps(payload))
    else:
        _print_pair(payload["error"]["message"], payload["error"]["fix"])


def _render_error(exc: BaseException, *, as_json: bool, verbose: int) -> None:
    payload = error_payload(exc)["error"]
    if as_json:
        click.echo(json.dumps({"error": payload}))
    else:
        _print_pair(payload["message"], payload["fix"])
    if verbose:
        # Tracebacks go to stderr only; stdout keeps its single JSON document.
        click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)


@contextmanager
def report_errors(
    *, as_json: bool | Callable[[], bool] = False, verbose: int | Callable[[], int] = 0
) -> Iterator[None]:
    """Turn any exception raised inside into its message and exit code.

    click's usage errors keep their code (2) but are printed as the same ``error:`` / ``fix:``
    pair as every other failure (or, with ``as_json``, as the JSON error object); ``Exit``,
    ``Abort`` and "no arguments: show the help" pass through untouched. ``as_json`` and
    ``verbose`` may be callables, asked when an error happens (a command's own ``--json``
    or ``-v`` is only known once it has been parsed).
    """

    def wants_json() -> bool:
        return bool(as_json()) if callable(as_json) else as_json

    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.exceptions.ClickException as exc:
        _render_click_error(exc, as_json=wants_json())
        raise click.exceptions.Exit(exc.exit_code) from exc
    except (click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:
        _render_error(exc, as_json=wants_json(), verbose=int(verbose()) if callable(verbose) else verbose)
        raise click.exceptions.Exit(int(exit_code_for(exc))) from exc


def _asks_json(args: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options in ``args`` (before a ``--``)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


class ReportingGroup(click.Group):
    """A click group whose every subcommand (at any depth) runs inside :func:`report_errors`.

    Wrapping at the top group means no command can forget the wrapper: a command
    added with ``main.add_command(...)`` gets the same error handling for free. The
    group's own usage errors (``igtoken --bogus``) are reported the same way.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the global options; a usage error among them is an error/fix pair too."""
        wants_json = _asks_json(args)  # the parser consumes ``args``: look first
        with report_errors(as_json=wants_json):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the group and its subcommand, mapping errors to messages and exit codes."""

        def verbose() -> int:
            # The global -v, or a command's own -v recorded on the AppContext.
            return max(int(ctx.params.get("verbose", 0) or 0), int(getattr(ctx.obj, "verbose", 0) or 0))

        # A usage error in a command's own options comes before its --json is recorded: look ahead.
        later_json = _asks_json([*ctx._protected_args, *ctx.args])

        def as_json() -> bool:
            # The global --json, or a command's own --json recorded on the AppContext.
            return (
                later_json
                or bool(ctx.params.get("json_output", False))
                or bool(getattr(ctx.obj, "json", False))
            )

        with report_errors(as_json=as_json, verbose=verbose):
            return super().invoke(ctx)


def stderr_console() -> Console:
    """A rich console on the *current* ``sys.stderr`` (so test runners capture it)."""
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    """A rich console on the *current* ``sys.stdout``."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def mask_token(token: Secret | str, *, show: bool = False) -> str:
    """``IGQW…abcd``: the first and last four characters, or all of it when ``show``.

    Tokens shorter than 16 characters are masked entirely: four and four would
    reveal half of them.
    """
    value = token.reveal() if isinstance(token, Secret) else token
    if show:
        return value
    if len(value) < 16:
        return "********"
    return f"{value[:4]}…{value[-4:]}"


def show_token_option(func: F) -> F:
    """The ``--show-token`` flag: print tokens in full instead of masked."""
    return click.option(
        "--show-token",
        is_flag=True,
        default=False,
        help="Print tokens in full. They are masked (IGQW…abcd) otherwise.",
    )(func)


def to_jsonable(value: Any) -> Any:
    """Turn our values into JSON ones: datetimes as ISO 8601, enums by value, secrets masked."""
    if isinstance(value, Secret):
        return mask_token(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def print_result(as_json: bool, value: Any, text: str) -> None:
    """A command's answer: ``value`` as one JSON document under ``--json``, else the sentence ``text``."""
    if as_json:
        print_json(value)
    else:
        click.echo(text)


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    optional: Sequence[str] = (),
) -> None:
    """Print a table for humans on stdout, readable at the terminal's width (80 columns and up).

    Cells wrap between words, never inside one (a username, an id, a date stays whole), as long
    as the widest words fit. When they do not, the ``optional`` columns are dropped, in the order
    given, until they do (``--json`` always has everything); only then is a word folded.
    """
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    console = stdout_console()
    shown = list(columns)
    for name in optional:
        if _widths(columns, shown, cells, console.width) is not None:
            break
        if name in shown and len(shown) > 1:
            shown.remove(name)
    widths = _widths(columns, shown, cells, console.width)
    if widths is None:  # some word is wider than any room: fold the widest columns only
        widths = _squeezed(columns, shown, cells, console.width)
    console.print(_table(columns, shown, cells, title, widths))


def _words(text: str) -> int:
    return max((len(word) for line in text.splitlines() for word in line.split()), default=0)


def _widths(
    columns: Sequence[str], shown: Sequence[str], cells: list[list[str]], width: int
) -> list[int | None] | None:
    """Column widths (without padding) that keep every word whole within ``width``; ``None`` if
    none do. All ``None`` inside means the table fits as it is."""
    keep = [i for i, name in enumerate(columns) if name in shown]
    lows = [max(_words(columns[i]), *(_words(row[i]) for row in cells)) for i in keep]
    highs = [
        max(
            len(line)
            for text in (columns[i], *(row[i] for row in cells))
            for line in text.splitlines() or [""]
        )
        for i in keep
    ]
    highs = [max(h, lo) for h, lo in zip(highs, lows, strict=True)]
    chrome = 3 * len(keep) - 1  # one space of padding on each side, one rule between columns
    room = width - chrome
    if sum(highs) <= room:
        return [None] * len(keep)
    if sum(lows) > room:
        return None
    # Share the spare room max-min fairly: columns that want little get all of it (a date stays
    # on one line), the rest split what is left evenly (long prose wraps).
    spare = room - sum(lows)
    wants = [h - lo for h, lo in zip(highs, lows, strict=True)]
    given = list(lows)
    order = sorted(range(len(keep)), key=lambda n: wants[n])
    for left, n in enumerate(order):
        share = min(wants[n], spare // (len(order) - left))
        given[n] += share
        spare -= share
    return list(given)


def _squeezed(
    columns: Sequence[str], shown: Sequence[str], cells: list[list[str]], width: int
) -> list[int | None]:
    """Widths when even the longest words do not fit: the widest columns give up room, one at a time."""
    keep = [i for i, name in enumerate(columns) if name in shown]
    given = [max(_words(columns[i]), *(_words(row[i]) for row in cells)) for i in keep]
    room = width - (3 * len(keep) - 1)
    while sum(given) > room and max(given) > 4:
        given[given.index(max(given))] -= 1
    return list(given)


def _table(
    columns: Sequence[str],
    shown: Sequence[str],
    cells: list[list[str]],
    title: str | None,
    widths: Sequence[int | None] | None,
) -> Any:
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    keep = [i for i, name in enumerate(columns) if name in shown]
    for n, i in enumerate(keep):
        table.add_column(columns[i], overflow="fold", width=None if widths is None else widths[n])
    for row in cells:
        table.add_row(*(row[i] for i in keep))
    return table
