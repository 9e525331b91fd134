"""``igtoken db upgrade``: bring the database schema to this version of igtoken."""

from __future__ import annotations

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx


@click.group("db")
def db() -> None:
    """Manage the vault's database schema.

    \b
    Examples:
      igtoken db upgrade
      IGTOKEN_DATABASE_URL=postgresql+psycopg://igtoken@db/igtoken igtoken db upgrade
    """


@db.command("upgrade")
@json_option
@pass_ctx
def upgrade(app: AppContext) -> None:
    """Migrate the database to the newest schema (safe to run again; instances serialize on PostgreSQL).

    \b
    Examples:
      igtoken db upgrade --json
    """
    from igtoken.cli._output import print_json
    from igtoken.config.settings import redact_url
    from igtoken.vault import migrate

    runtime = app.runtime
    if runtime.uses_embedded_database:
        # The embedded default migrates itself when opened.
        engine = app.vault.engine
        where = str(engine.url.database)
    else:
        migrate.upgrade(runtime.settings.database_url)
        engine = app.vault.engine
        where = redact_url(runtime.settings.database_url)
    revision = migrate.current_revision(engine)
    if app.json:
        print_json({"database": where, "revision": revision, "head": migrate.head_revision()})
        return
    click.echo(f"Database {where} is at the newest schema ({revision}).")
