"""Send the person to the authorize URL: open a browser, or print the URL to open.

The opener, the printer and the interactivity check are arguments, so tests and
other front ends decide what "open" means (gh's ``BrowseURL`` callback). Every
message goes to stderr: with ``--json``, stdout carries only the result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

__all__ = ["default_opener", "is_interactive", "present_url"]


def default_opener(url: str) -> bool:
    """Open ``url`` with the system's browser; ``False`` when there is none."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def is_interactive() -> bool:
    """Whether a person is at the terminal: stdin and stderr are both terminals."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def present_url(
    url: str,
    *,
    no_browser: bool = False,
    interactive: bool | None = None,
    opener: Callable[[str], bool] = default_opener,
    echo: Callable[[str], None] = _echo_err,
) -> bool:
    """Open ``url`` in a browser when a person is here, and always tell them where to go.

    The URL is printed on every path, so someone whose browser opened on another
    screen (or not at all) can still copy it.

    Args:
        url: the authorize URL.
        no_browser: ``--no-browser``: only print the URL.
        interactive: whether a person is at the terminal; ``None`` asks :func:`is_interactive`.
        opener: opens a URL and says whether it worked (``webbrowser.open`` by default).
        echo: prints one line for the person (to stderr by default).

    Returns:
        Whether a browser was opened.
    """
    if interactive is None:
        interactive = is_interactive()
    if no_browser or not interactive:
        echo("Open this URL in a browser to log in:")
        echo(f"  {url}")
        return False
    try:
        opened = opener(url)
    except Exception:  # a broken browser launcher must not end the login: the URL still works
        opened = False
    if opened:
        echo("Opened your browser to log in. If it did not appear, open this URL:")
    else:
        echo("Could not open a browser. Open this URL to log in:")
    echo(f"  {url}")
    return opened
