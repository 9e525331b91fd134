"""Optional parts of igtoken and the extra that installs each: one table, one check.

The base install (``pip install igtoken``) is the library, the CLI, the SQLite vault, the sandbox and the
emulator. A command that needs more calls :func:`require_extra` before importing it, so a missing
package is a :class:`~igtoken.ConfigurationError` (exit 6) that names the extra to install, never a
``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib.util
from typing import Final

from igtoken._exceptions import ConfigurationError

__all__ = ["EXTRAS", "require_extra"]

#: extra → (what it is for, the modules it must make importable).
EXTRAS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "server": ("the igtoken service", ("fastapi", "jinja2", "prometheus_client")),
    "postgres": ("a PostgreSQL database", ("psycopg",)),
    "testing": ("the pytest plugin", ("pytest", "pytest_asyncio")),
}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package, or a module without a spec
        return False


def require_extra(extra: str) -> None:
    """Raise :class:`ConfigurationError` naming ``igtoken[extra]`` unless its packages are importable."""
    purpose, modules = EXTRAS[extra]
    missing = [module for module in modules if not _importable(module)]
    if missing:
        raise ConfigurationError(
            f"{purpose} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            "not installed",
            fix=f"pip install 'igtoken[{extra}]'",
        )
