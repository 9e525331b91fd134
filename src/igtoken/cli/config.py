"""``igtoken config``: show the effective settings and where each one came from."""

from __future__ import annotations

import click

from igtoken.cli._context import AppContext, pass_ctx


@click.group()
def config() -> None:
    """Inspect igtoken's IGTOKEN_* settings."""


@config.command("show")
@pass_ctx
def show(app: AppContext) -> None:
    """Show every setting, its value (secrets hidden) and its source."""
    from igtoken.cli._output import print_json, print_table

    settings = app.settings
    rows = settings.describe()
    if app.json:
        print_json(
            {
                "settings": {name: {"value": value, "source": source} for name, value, source in rows},
                "warnings": list(settings.warnings),
            }
        )
        return
    print_table(("Variable", "Value", "Source"), rows)
