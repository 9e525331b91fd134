"""One checked thing, as ``igtoken doctor`` and the Meta app setup (CLI and dashboard) report it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Check"]


@dataclass(frozen=True, slots=True)
class Check:
    """Passed or not, why, and what to do.

    ``name`` is what was checked (a doctor check such as ``token.valid``, or a setup field such
    as ``redirect_uri``); ``subject`` what it was checked on (an app or an account, or the value
    that was given).
    """

    name: str
    subject: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def as_json(self, name_key: str = "name", subject_key: str = "subject") -> dict[str, Any]:
        """The documented JSON shape (``igtoken setup`` calls the first two keys ``field`` and ``value``)."""
        return {
            name_key: self.name,
            subject_key: self.subject,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
        }
