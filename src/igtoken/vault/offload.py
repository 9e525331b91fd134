"""The two pieces the generated :mod:`igtoken.vault.aio` is made of, written by hand.

:func:`offload` turns a synchronous method into one awaited in a worker thread, keeping its
signature for the type checker; :class:`Awaited` holds the synchronous object it runs on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import anyio.to_thread

__all__ = ["Awaited", "offload"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


def offload(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    """``method`` of ``self._target``, run in a worker thread and awaited; same arguments, same docs."""
    name = method.__name__

    async def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound = getattr(self._target, name)
        return await anyio.to_thread.run_sync(functools.partial(bound, *args, **kwargs))

    call.__name__ = name
    call.__qualname__ = name
    call.__doc__ = method.__doc__
    return call


class Awaited(Generic[T]):
    """The synchronous object whose methods a subclass awaits (its ``offload`` attributes)."""

    def __init__(self, target: T) -> None:
        self._target = target
