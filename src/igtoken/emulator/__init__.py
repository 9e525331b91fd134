"""A local emulator of Meta's Instagram Login and Facebook Login token endpoints.

Standalone on purpose: it imports Starlette and the standard library, never the rest of igtoken,
so a misunderstanding shared by igtoken's client and the emulator cannot hide. Contract:
``shared/reference/instagram-platform.md`` §11; user guide: ``docs/emulator.md``.

```python
from igtoken.emulator import EmulatorClock, create_app

app = create_app(clock=EmulatorClock(frozen=True))
world = app.state.world          # seed, inspect, advance app.state.world.clock
```
"""

from __future__ import annotations

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
