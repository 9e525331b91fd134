"""The per-invocation state every command shares, built lazily.

Like gh's ``Factory``, each dependency is built on first use, so a command pays only
for what it touches and ``igtoken --help`` reads no settings at all. This module and
the service's settings loading are the only places that read the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from igtoken.settings import Settings

__all__ = ["AppContext", "pass_ctx"]


class AppContext:
    """Global options plus lazily built settings and consoles, on ``click.Context.obj``.

    Args:
        json_output: ``--json``: print one JSON document instead of tables.
        sandbox: ``--sandbox/--no-sandbox``; ``None`` defers to ``IGTOKEN_SANDBOX``.
        env_file: ``--env-file``; ``None`` reads ``./.env`` when it exists.
        verbose: how many ``-v`` were given.
        environ: the environment to read (the process's by default).
        settings: ready-made settings, skipping the environment entirely (tests).
    """

    def __init__(
        self,
        *,
        json_output: bool = False,
        sandbox: bool | None = None,
        env_file: Path | None = None,
        verbose: int = 0,
        environ: Mapping[str, str] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.json = json_output
        self.verbose = verbose
        self.env_file = env_file
        self._sandbox_flag = sandbox
        self._environ = environ
        if settings is not None:
            self.__dict__["settings"] = settings

    @cached_property
    def settings(self) -> Settings:
        """The validated settings; loading warnings are printed to stderr once."""
        from igtoken.settings import load_settings

        environ = os.environ if self._environ is None else self._environ
        env_file = self.env_file
        if env_file is None and Path(".env").is_file():
            env_file = Path(".env")
        settings = load_settings(environ, env_file)
        for warning in settings.warnings:
            self.err_console.print(f"[yellow]warning:[/] {_escape(warning)}")
        return settings

    @property
    def sandbox(self) -> bool:
        """``--sandbox`` / ``--no-sandbox`` when given, otherwise ``IGTOKEN_SANDBOX``."""
        if self._sandbox_flag is not None:
            return self._sandbox_flag
        return self.settings.sandbox

    @cached_property
    def console(self) -> Console:
        """Rich console for results, on stdout."""
        from igtoken.cli._output import stdout_console

        return stdout_console()

    @cached_property
    def err_console(self) -> Console:
        """Rich console for prompts, progress and warnings, on stderr."""
        from igtoken.cli._output import stderr_console

        return stderr_console()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


#: Decorator handing the :class:`AppContext` to a command as its first argument.
pass_ctx = click.make_pass_decorator(AppContext)
