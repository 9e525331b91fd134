"""One emulator world for every process of a user: a JSON file, changed one transaction at a time.

Each sandbox process (``serve``, ``login``, ``token``, ``worker``, ``emulator``…) runs the emulator
in-process, but none keeps its own copy of the world: every request, and every change a process
makes directly, runs as a transaction that takes an exclusive file lock, reloads the file when
another process has replaced it since, and writes it back (atomically, by rename) when the world
changed. A token minted by one process is therefore accepted by all the others at once, and a
killed process loses nothing it finished (the lock dies with it; the file is never half-written).

Redirect URIs that a running process needs only while it runs (a service's callback, a login's
loopback receiver) are *leased*: registered with the demo apps together with the process id, and
removed when the process releases them or, if it died, by the next transaction of any process.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
import filelock
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from igtoken.emulator import World, WorldError

__all__ = ["RedirectLease", "SharedWorld", "SharedWorldMiddleware"]

#: The key under which the sandbox keeps its own bookkeeping in the emulator's state file.
_SANDBOX_KEY: Final = "igtoken_sandbox"
#: How long a process waits for another one's transaction before giving up.
LOCK_TIMEOUT: Final = 30.0


@dataclass(frozen=True, slots=True)
class RedirectLease:
    """A redirect URI registered with an app for as long as process ``pid`` runs."""

    app_id: str
    uri: str
    pid: int


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (where that cannot be told cheaply, assume it does)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # signal 0 means CTRL_C_EVENT there; a lease then lives until released
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class SharedWorld:
    """A :class:`World` kept in ``path`` and shared by every process that opens the same file.

    ``world`` is one object for the life of this instance (apps and tests hold on to it); each
    transaction reloads the file into it when another process has changed the file.
    """

    def __init__(self, path: Path, *, make_world: Callable[[], World]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False: a transaction may begin on one thread and end on another (ASGI).
        self._file_lock = filelock.FileLock(str(path) + ".lock", thread_local=False, timeout=LOCK_TIMEOUT)
        self._local = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._leases: list[RedirectLease] = []
        self._changes_at_begin = 0
        #: The state file's format version when it was first read (``None``: created here).
        self.loaded_version: int | None = None
        self._acquire()
        try:
            if self.path.exists():
                self.world, self.loaded_version = self._read()
            else:
                self.world = make_world()
                self._write()
        finally:
            self._release()

    # ------------------------------------------------------------------ transactions

    def begin(self) -> None:
        """Take the lock and bring ``world`` up to date with the file (blocks; pair with :meth:`end`)."""
        self._acquire()
        try:
            if _signature(self.path) != self._signature:
                if self.path.exists():
                    fresh, _ = self._read()
                    self.world.adopt(fresh)
                else:  # deleted under us: what we hold is the newest there is
                    self._signature = None
            self._changes_at_begin = -1 if self._signature is None else self.world.changes
            self._prune_dead_leases()
        except BaseException:
            self._release()
            raise

    def flush(self) -> None:
        """Write what the transaction changed so far, keeping the lock (before a response goes out)."""
        if self.world.changes != self._changes_at_begin:
            self._write()

    def end(self) -> None:
        """Write the world back if the transaction changed it, then let the other processes in."""
        try:
            self.flush()
        finally:
            self._release()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[World]:
        """``with shared.transaction() as world:`` change the world; saved and visible to all on exit."""
        self.begin()
        try:
            yield self.world
        finally:
            self.end()

    # ------------------------------------------------------------------ leases

    @contextlib.contextmanager
    def leased_redirect_uris(self, app_ids: Sequence[str], uris: Sequence[str]) -> Iterator[None]:
        """Register ``uris`` with the apps ``app_ids`` while the block runs (and this process lives)."""
        pid = os.getpid()
        mine: list[RedirectLease] = []
        with self.transaction() as world:
            for app_id in app_ids:
                try:
                    app = world.find_app(app_id)
                except WorldError:
                    continue
                for uri in uris:
                    leased = any(le.app_id == app_id and le.uri == uri for le in self._leases)
                    if uri in app.redirect_uris and not leased:
                        continue  # registered for good already: nothing to give back later
                    if uri not in app.redirect_uris:
                        world.update_app(app_id, add_redirect_uris=[uri])
                    lease = RedirectLease(app_id, uri, pid)
                    self._leases.append(lease)
                    mine.append(lease)
            world.touch()
        try:
            yield
        finally:
            with self.transaction() as world:
                for lease in mine:
                    with contextlib.suppress(ValueError):
                        self._leases.remove(lease)
                self._drop_unleased(world, mine)
                world.touch()

    def _prune_dead_leases(self) -> None:
        dead = [le for le in self._leases if not pid_alive(le.pid)]
        if not dead:
            return
        self._leases = [le for le in self._leases if le not in dead]
        self._drop_unleased(self.world, dead)
        self.world.touch()

    def _drop_unleased(self, world: World, released: Sequence[RedirectLease]) -> None:
        """Remove each released URI from its app unless another lease still holds it."""
        for lease in released:
            if any(le.app_id == lease.app_id and le.uri == lease.uri for le in self._leases):
                continue
            with contextlib.suppress(WorldError):
                world.update_app(lease.app_id, remove_redirect_uris=[lease.uri])

    # ------------------------------------------------------------------ the file

    def _acquire(self) -> None:
        self._local.acquire()
        try:
            self._file_lock.acquire()
        except BaseException:
            self._local.release()
            raise

    def _release(self) -> None:
        try:
            self._file_lock.release()
        finally:
            self._local.release()

    def _read(self) -> tuple[World, int]:
        try:
            state: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            world = World.from_state(state)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise WorldError(f"the emulator state file {self.path} cannot be read: {exc}") from exc
        own = state.get(_SANDBOX_KEY, {})
        self._leases = [RedirectLease(**le) for le in own.get("redirect_leases", [])]
        self._signature = _signature(self.path)
        return world, int(state["version"])

    def _write(self) -> None:
        state = self.world.to_state()
        state[_SANDBOX_KEY] = {
            "redirect_leases": [{"app_id": le.app_id, "uri": le.uri, "pid": le.pid} for le in self._leases]
        }
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)
        self._signature = _signature(self.path)
        self._changes_at_begin = self.world.changes


class SharedWorldMiddleware:
    """Run every HTTP request to the emulator as one :class:`SharedWorld` transaction."""

    def __init__(self, app: ASGIApp, shared: SharedWorld) -> None:
        self.app = app
        self.shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Shielded: a request cancelled while waiting must still end the transaction it began.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.shared.begin)
        flushed = False

        async def send_after_flush(message: Message) -> None:
            # What a caller was told happened is on disk before it hears so: another process
            # it talks to next must see the change.
            nonlocal flushed
            if message["type"] == "http.response.start" and not flushed:
                flushed = True
                await anyio.to_thread.run_sync(self.shared.flush)
            await send(message)

        try:
            await self.app(scope, receive, send_after_flush)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.shared.end)
