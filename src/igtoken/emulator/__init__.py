"""A local emulator of Meta's Instagram Login and Facebook Login token endpoints.

Standalone on purpose: it imports Starlette and the standard library, never the rest of igtoken,
so a misunderstanding shared by igtoken's client and the emulator cannot hide. See
``docs/emulator.md`` for the contract (endpoints E1–E14, outbound calls O1–O4).

```python
from igtoken.emulator import EmulatorClock, create_app

app = create_app(clock=EmulatorClock(frozen=True))
world = app.state.world          # seed, inspect, advance app.state.world.clock
```
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from igtoken.emulator.app import create_app
    from igtoken.emulator.clock import EmulatorClock
    from igtoken.emulator.demo import demo_world, describe_world
    from igtoken.emulator.errors import GraphError, InstagramError
    from igtoken.emulator.faults import Fault, FaultError
    from igtoken.emulator.model import Account, App, Code, FacebookUser, Page, Token
    from igtoken.emulator.outbound import signed_request
    from igtoken.emulator.switches import SWITCHES, SwitchError, Switches, SwitchSpec
    from igtoken.emulator.world import World, WorldError

__all__ = [
    "SWITCHES",
    "Account",
    "App",
    "Code",
    "EmulatorClock",
    "FacebookUser",
    "Fault",
    "FaultError",
    "GraphError",
    "InstagramError",
    "Page",
    "SwitchError",
    "SwitchSpec",
    "Switches",
    "Token",
    "World",
    "WorldError",
    "create_app",
    "demo_world",
    "describe_world",
    "signed_request",
]

# Imported on first use, so a command that needs only ``igtoken.emulator.demo``'s constants or the
# switch specs (``igtoken token --sandbox``, ``igtoken --help``) does not pay for Starlette.
_LAZY: dict[str, str] = {
    "Account": "igtoken.emulator.model",
    "App": "igtoken.emulator.model",
    "Code": "igtoken.emulator.model",
    "EmulatorClock": "igtoken.emulator.clock",
    "FacebookUser": "igtoken.emulator.model",
    "Fault": "igtoken.emulator.faults",
    "FaultError": "igtoken.emulator.faults",
    "GraphError": "igtoken.emulator.errors",
    "InstagramError": "igtoken.emulator.errors",
    "Page": "igtoken.emulator.model",
    "SWITCHES": "igtoken.emulator.switches",
    "SwitchError": "igtoken.emulator.switches",
    "SwitchSpec": "igtoken.emulator.switches",
    "Switches": "igtoken.emulator.switches",
    "Token": "igtoken.emulator.model",
    "World": "igtoken.emulator.world",
    "WorldError": "igtoken.emulator.world",
    "create_app": "igtoken.emulator.app",
    "demo_world": "igtoken.emulator.demo",
    "describe_world": "igtoken.emulator.demo",
    "signed_request": "igtoken.emulator.outbound",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'igtoken.emulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
