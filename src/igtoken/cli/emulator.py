"""``igtoken emulator``: run the Meta platform emulator on a local port."""

from __future__ import annotations

from pathlib import Path

import click

from igtoken.emulator.demo import DEFAULT_PORT
from igtoken.emulator.switches import SWITCHES

_SWITCH_HELP = "; ".join(f"{s.name}={'|'.join(s.values)}" for s in SWITCHES)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the world in this JSON file across restarts (created if missing).",
)
@click.option(
    "--switch",
    "switch_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help=f"Set a fidelity switch (repeatable). Defaults first: {_SWITCH_HELP}.",
)
@click.pass_context
def emulator(
    ctx: click.Context, host: str, port: int, state_file: Path | None, switch_pairs: tuple[str, ...]
) -> None:
    """Run the Meta emulator (Instagram Login and Facebook Login) on one port.

    It starts with the demo world (printed below) or the one saved in --state, serves
    www.instagram.com, api.instagram.com, graph.instagram.com, www.facebook.com and
    graph.facebook.com by Host header or path prefix, and is steered under /_emulator/.
    With the global --sandbox it serves the sandbox world (the one `igtoken login --sandbox`
    logs in to) unless --state says otherwise. See docs/emulator.md.

    \b
    Examples:
      igtoken emulator
      igtoken --sandbox emulator        # the sandbox world, kept in its state file
      igtoken emulator --port 0 --state world.json --switch refresh_new_string=false
    """

    import uvicorn

    from igtoken.cli._context import AppContext
    from igtoken.cli._listen import bind_listener
    from igtoken.emulator import SwitchError, Switches, World, create_app, demo_world, describe_world
    from igtoken.sandbox import SandboxEmulator

    if state_file is None and isinstance(ctx.obj, AppContext) and ctx.obj.sandbox:
        from igtoken.config.paths import sandbox_emulator_state_path

        state_file = sandbox_emulator_state_path()

    try:
        switches = Switches.parse(list(switch_pairs))
    except SwitchError as exc:
        raise click.BadParameter(str(exc), param_hint="--switch") from exc
    sock = bind_listener(host, port, port_hint="--port (0 picks a free one)")
    world: World
    if state_file is not None:
        # A state file is one world for every process that opens it (other `igtoken --sandbox`
        # commands included): each request is a transaction on the file.
        sandbox = SandboxEmulator(state_file)
        world = sandbox.world
        if switch_pairs:
            with sandbox.transaction() as shared:
                shared.switches.update(switches.as_dict())
                shared.touch()
        app = sandbox.app()
    else:
        world = demo_world(switches=switches)
        app = create_app(world)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(describe_world(world, f"http://{shown_host}:{bound_port}"))
    if state_file is not None:
        click.echo(
            f"\nState file: {state_file} (shared with every process that uses it; saved on each change)"
        )
    click.echo("\nPress Ctrl+C to stop.", err=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    server.run(sockets=[sock])
