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


def _revision_before(url: str) -> str | None:
    """The revision a database is at before upgrading; ``None`` if it was never migrated."""
    from igtoken.config.settings import redact_url
    from igtoken.vault import migrate
    from igtoken.vault.engine import create_vault_engine
    from igtoken.vault.faults import storage_faults

    engine = create_vault_engine(url)
    try:
        with storage_faults(redact_url(url)):
            return migrate.current_revision(engine)
    finally:
        engine.dispose()


@db.command("upgrade")
@json_option
@pass_ctx
def upgrade(app: AppContext) -> None:
    """Migrate the database to the newest schema (safe to run again; instances serialize on PostgreSQL).

    Says from which revision to which, or that the database was already at the newest.

    \b
    Examples:
      igtoken db upgrade --json
    """
    from igtoken.cli._output import print_json
    from igtoken.config.settings import redact_url
    from igtoken.vault import migrate

    runtime = app.runtime
    paths = runtime.embedded_paths()
    if paths is not None:
        # The embedded default migrates itself when opened: look at the file first.
        before = _revision_before(f"sqlite:///{paths.database}") if paths.database.exists() else None
        engine = app.vault.engine
        where = str(engine.url.database)
    else:
        before = _revision_before(runtime.settings.database_url)
        migrate.upgrade(runtime.settings.database_url)
        engine = app.vault.engine
        where = redact_url(runtime.settings.database_url)
    revision = migrate.current_revision(engine)
    if app.json:
        print_json(
            {
                "database": where,
                "from_revision": before,
                "revision": revision,
                "head": migrate.head_revision(),
                "upgraded": before != revision,
            }
        )
        return
    if before == revision:
        click.echo(f"Database {where} is already at the newest schema ({revision}); nothing to do.")
    elif before is None:
        click.echo(f"Database {where}: created the schema at revision {revision}.")
    else:
        click.echo(f"Database {where}: upgraded from revision {before} to {revision}.")
