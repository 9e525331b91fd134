"""igtoken: get and keep Instagram access tokens."""

from __future__ import annotations

from igtoken._secret import Secret

__all__ = ["Secret"]
__version__ = "0.1.0.dev0"
