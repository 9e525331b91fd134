"""The ``igtoken`` command line."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="igtoken")
def main() -> None:
    """Get and keep Instagram access tokens."""


from igtoken.cli.emulator import emulator  # noqa: E402 - commands register after the group exists

main.add_command(emulator)
