"""Options several commands share: one spelling, destination and kind each, the help per command.

``apps add``, ``apps update``, ``setup`` and ``login`` all take scopes, redirect URIs, a
Facebook Login configuration and the login product; declaring each once keeps the flags
from drifting apart (a repeatable option in one command and a single value in another).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from igtoken.core.models import FlowKind

__all__ = ["app_id_option", "config_id_option", "flow_option", "redirect_uris_option", "scopes_option"]

F = TypeVar("F", bound=Callable[..., Any])

#: The login products an app can use, as ``--flow`` spells them.
FLOWS = tuple(kind.value for kind in FlowKind)


def scopes_option(help_text: str) -> Callable[[F], F]:
    """``--scope`` (repeatable), passed as ``scopes``."""
    return click.option("--scope", "scopes", multiple=True, metavar="SCOPE", help=help_text)


def redirect_uris_option(help_text: str, *, required: bool = False) -> Callable[[F], F]:
    """``--redirect-uri`` (repeatable), passed as ``redirect_uris``."""
    return click.option("--redirect-uri", "redirect_uris", multiple=True, required=required, help=help_text)


def config_id_option(help_text: str) -> Callable[[F], F]:
    """``--config-id ID``: a Facebook Login for Business configuration."""
    return click.option("--config-id", metavar="ID", help=help_text)


def app_id_option(*, required: bool) -> Callable[[F], F]:
    """``--app-id``: the id Meta gave the app."""
    return click.option(
        "--app-id",
        required=required,
        default=None,
        help="Instagram app id (Facebook Login: the Meta app id).",
    )


def flow_option(*, default: str | None, help_text: str) -> Callable[[F], F]:
    """``--flow``: which Meta login product the app uses."""
    return click.option(
        "--flow", type=click.Choice(FLOWS), default=default, show_default=default is not None, help=help_text
    )
