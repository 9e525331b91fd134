"""The ``igtoken`` command line.

Command modules are imported at the bottom and must stay light at import time:
anything heavy (httpx, SQLAlchemy, the vault, rich) is imported inside the command
function, so ``igtoken --help`` and quick commands start fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from igtoken.cli._context import AppContext, add_global_options, configure_verbosity
from igtoken.cli._output import ReportingGroup


@click.group("igtoken", cls=ReportingGroup)
@click.version_option(package_name="igtoken")
@click.option(
    "--sandbox/--no-sandbox",
    default=None,
    help="Talk to the sandbox (emulator) instead of Meta. Default: IGTOKEN_SANDBOX.",
)
@click.option("--json", "json_output", is_flag=True, help="Print one JSON document instead of tables.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read IGTOKEN_* settings from this file. Default: ./.env when it exists.",
)
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug); show tracebacks.")
@click.pass_context
def main(
    ctx: click.Context, sandbox: bool | None, json_output: bool, env_file: Path | None, verbose: int
) -> None:
    """Get and keep Instagram access tokens.

    The options below (--sandbox, --json, -v, --env-file) may also follow the
    command: `igtoken token --sandbox` is `igtoken --sandbox token`.
    """
    if verbose:
        configure_verbosity(verbose)
    # A test may hand in a ready AppContext through CliRunner.invoke(obj=...): keep it.
    if not isinstance(ctx.obj, AppContext):
        ctx.obj = AppContext(json_output=json_output, sandbox=sandbox, env_file=env_file, verbose=verbose)
    ctx.call_on_close(ctx.obj.close)


# Command groups: one module each, one import and one add_command line each (merge-friendly).
from igtoken.cli.config import config  # noqa: E402

main.add_command(config)
from igtoken.cli.emulator import emulator  # noqa: E402

main.add_command(emulator)
from igtoken.cli.serve import serve  # noqa: E402

main.add_command(serve)
from igtoken.cli.apps import apps  # noqa: E402

main.add_command(apps)
from igtoken.cli.login import login  # noqa: E402

main.add_command(login)
from igtoken.cli.token import token  # noqa: E402

main.add_command(token)
from igtoken.cli.accounts import accounts  # noqa: E402

main.add_command(accounts)
from igtoken.cli.events import events  # noqa: E402

main.add_command(events)
from igtoken.cli.apikeys import apikeys  # noqa: E402

main.add_command(apikeys)
from igtoken.cli.keys import keys  # noqa: E402

main.add_command(keys)
from igtoken.cli.db import db  # noqa: E402

main.add_command(db)
from igtoken.cli.doctor import doctor  # noqa: E402

main.add_command(doctor)
from igtoken.cli.audit import audit_permissions  # noqa: E402

main.add_command(audit_permissions)
from igtoken.cli.worker import worker  # noqa: E402

main.add_command(worker)
from igtoken.cli.refresh import refresh  # noqa: E402

main.add_command(refresh)
from igtoken.cli.transfer import export, import_  # noqa: E402

main.add_command(export)
main.add_command(import_)
from igtoken.cli.setup import setup  # noqa: E402

main.add_command(setup)
from igtoken.cli.webhooks import webhooks  # noqa: E402

main.add_command(webhooks)

# Last: the global options are accepted after any command's name too (igtoken token --sandbox).
add_global_options(main)
