"""The secret that signs dashboard session cookies, the same for every process of an installation.

A session cookie signed by one service process must be accepted by every other one (replicas
behind a load balancer) and by the next one (a restart): so the signing secret cannot be random
per process. In order:

1. ``IGTOKEN_SESSION_SECRET``: what a fleet sets, the same on every replica.
2. SQLite (the embedded default, the sandbox, or a ``sqlite:///`` URL): a secret generated once
   into a file beside the database (mode 0600): ``session-secret`` in the embedded default's and
   the sandbox's directory, ``<file>.session-secret`` for a URL. Every process of a SQLite vault
   runs on this machine.
3. Otherwise (PostgreSQL and no setting): ``None``, and the service makes one per process, which
   ``igtoken serve`` warns about: sessions then end at each restart and work on one replica only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Final

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret

__all__ = ["SESSION_SECRET_FILE", "load_or_create_secret"]

#: The file name, beside the embedded database.
SESSION_SECRET_FILE: Final = "session-secret"  # noqa: S105 - a file name
_MIN_LENGTH: Final = 32


def load_or_create_secret(path: Path) -> Secret:
    """The secret kept in ``path``, made (48 random bytes, mode 0600) if the file does not exist yet.

    Two processes starting at once agree: the file appears whole or not at all (written aside,
    then hard-linked into place, which fails if another process got there first).
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> Secret:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (UnicodeDecodeError, PermissionError) as exc:
        raise ConfigurationError(
            f"the session secret file {path} cannot be read ({type(exc).__name__})",
            fix=f"delete {path} (everyone signs in again) or set IGTOKEN_SESSION_SECRET",
        ) from None
    if len(text) < _MIN_LENGTH:
        raise ConfigurationError(
            f"the session secret file {path} holds fewer than {_MIN_LENGTH} characters",
            fix=f"delete {path} (a new one is made; everyone signs in again) or set IGTOKEN_SESSION_SECRET",
        )
    return Secret(text)
