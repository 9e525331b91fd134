"""The per-invocation state every command shares, built lazily.

Like gh's ``Factory``, each dependency is built on first use, so a command pays only
for what it touches and ``igtoken --help`` reads no settings at all. This module and
the service's settings loading are the only places that read the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from igtoken.app.runtime import Runtime
    from igtoken.config.settings import Settings
    from igtoken.vault import Vault

__all__ = ["AppContext", "json_option", "pass_ctx"]

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """Global options plus lazily built settings and consoles, on ``click.Context.obj``.

    Args:
        json_output: ``--json``: print one JSON document instead of tables.
        sandbox: ``--sandbox/--no-sandbox``; ``None`` defers to ``IGTOKEN_SANDBOX``.
        env_file: ``--env-file``; ``None`` reads ``./.env`` when it exists.
        verbose: how many ``-v`` were given.
        environ: the environment to read (the process's by default).
        settings: ready-made settings, skipping the environment entirely (tests).
        opener: opens a URL in a browser (``webbrowser.open`` by default; tests play the browser).
        interactive: whether a person is at the terminal; ``None`` asks the terminal.
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
        opener: Callable[[str], bool] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.json = json_output
        self.verbose = verbose
        self.env_file = env_file
        self._sandbox_flag = sandbox
        self._environ = environ
        self.opener = opener
        self.interactive = interactive
        if settings is not None:
            self.__dict__["settings"] = settings

    @cached_property
    def settings(self) -> Settings:
        """The validated settings; loading warnings are printed to stderr once."""
        from igtoken.config.settings import load_settings

        environ = os.environ if self._environ is None else self._environ
        env_file = self.env_file
        if env_file is None and Path(".env").is_file():
            env_file = Path(".env")
        settings = load_settings(environ, env_file)
        if self.verbose:
            from igtoken.app.logs import set_log_format

            set_log_format(settings.log_format)
        for warning in settings.warnings:
            self.err_console.print(f"[yellow]warning:[/] {_escape(warning)}")
        return settings

    def getenv(self, name: str) -> str | None:
        """One environment variable (for the few a single command reads, such as a passphrase)."""
        environ = os.environ if self._environ is None else self._environ
        return environ.get(name)

    def use_sandbox(self) -> None:
        """A command's own ``--sandbox`` flag: same as the global one (call before using the vault)."""
        if "runtime" in self.__dict__:
            raise RuntimeError("use_sandbox() must come before the runtime is built")
        self._sandbox_flag = True

    @property
    def sandbox(self) -> bool:
        """``--sandbox`` / ``--no-sandbox`` when given, otherwise ``IGTOKEN_SANDBOX``."""
        if self._sandbox_flag is not None:
            return self._sandbox_flag
        return self.settings.sandbox

    @cached_property
    def runtime(self) -> Runtime:
        """The wiring of settings to vault and endpoints, honouring ``--sandbox`` over the settings."""
        import dataclasses

        from igtoken.app.runtime import Runtime

        settings = self.settings
        if self.sandbox != settings.sandbox:
            settings = dataclasses.replace(settings, sandbox=self.sandbox)
        return Runtime(settings)

    @cached_property
    def vault(self) -> Vault:
        """The open vault; says once (on stderr) when a key file was just created.

        In sandbox mode the emulator's demo apps are registered on first use, so
        ``igtoken login --sandbox`` needs no ``igtoken apps add`` first.
        """
        opened = self.runtime.open_vault()
        notice = opened.notice()
        if notice:
            self.err_console.print(f"[yellow]note:[/] {_escape(notice)}")
        if self.runtime.sandbox:
            self.runtime.ensure_sandbox_apps(now=self.now())
        return opened.vault

    def close(self) -> None:
        """Release what the command opened (the vault's connections); safe to call twice."""
        runtime = self.__dict__.get("runtime")
        if runtime is not None:
            runtime.close()

    def now(self) -> datetime:
        """The current time, tz-aware UTC: the one place commands read the clock (sandbox time in sandbox)."""
        return self.runtime.now()

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


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(AppContext).json = True  # type: ignore[union-attr]


def json_option(func: F) -> F:
    """``--json`` on a command, the same as the global ``igtoken --json``."""
    return click.option(
        "--json",
        "json_flag",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_json,
        help="Print one JSON document instead of tables.",
    )(func)


def account_app_option(func: F) -> F:
    """``--app NAME``: the app an account is connected with, for an account name several apps share."""
    return click.option(
        "--app",
        "app_name",
        metavar="NAME",
        help="The app the account is connected with (when a name matches several).",
    )(func)


def _context_of(ctx: click.Context) -> AppContext:
    found = ctx.find_object(AppContext)
    if found is None:  # pragma: no cover - the top-level group always makes one
        raise RuntimeError("no AppContext: run the command through the igtoken group")
    return found


def _late_sandbox(ctx: click.Context, _param: click.Parameter, value: bool | None) -> None:
    if value is not None:
        _context_of(ctx)._sandbox_flag = value


def _late_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _context_of(ctx).json = True


def _late_env_file(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        _context_of(ctx).env_file = value


def _late_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        app = _context_of(ctx)
        app.verbose += value
        configure_verbosity(app.verbose)


def configure_verbosity(verbose: int) -> None:
    """``-v`` logs at INFO, ``-vv`` at DEBUG (on stderr), through the log redaction filter."""
    import logging

    from igtoken.app.logs import add_log_handler
    from igtoken.client.log_redaction import install_log_redaction

    # The format from the environment now (IGTOKEN_LOG_FORMAT); a .env file's, once settings are read.
    fmt = os.environ.get("IGTOKEN_LOG_FORMAT", "text").strip().lower()
    add_log_handler(logging.DEBUG if verbose > 1 else logging.INFO, fmt)
    # Before the first request: httpx logs URLs that carry tokens and app secrets.
    install_log_redaction()


def _global_params() -> list[click.Option]:
    """The global options, as a subcommand takes them (``igtoken token --sandbox``); hidden in its help."""

    def again(decls: list[str], callback: Callable[..., None], **kind: Any) -> click.Option:
        return click.Option(
            decls,
            expose_value=False,
            callback=callback,
            hidden=True,
            help="Same as the global option.",
            **kind,
        )

    return [
        again(["--sandbox/--no-sandbox"], _late_sandbox, default=None),
        again(["--json", "json_flag"], _late_json, is_flag=True),
        again(["--env-file"], _late_env_file, type=click.Path(dir_okay=False, path_type=Path), default=None),
        again(["-v", "--verbose", "verbose_flag"], _late_verbose, count=True),
    ]


def add_global_options(group: click.Group) -> None:
    """Let every command under ``group`` (at any depth) take the global options after its name too.

    A command that already has an option of that name (``login --sandbox``, ``--json`` from
    :func:`json_option`) keeps its own; both set the same :class:`AppContext` field.
    """
    for command in group.commands.values():
        taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
        taken |= {opt for param in command.params for opt in getattr(param, "secondary_opts", ())}
        for param in _global_params():
            if not taken.intersection(param.opts) and not taken.intersection(param.secondary_opts):
                command.params.append(param)
        if isinstance(command, click.Group):
            add_global_options(command)
