"""Server-rendered pages: one Jinja2 environment, autoescaped, with the helpers templates share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import Response

from igtoken.service.security import CSRF_FIELD, maybe_session_of

_HERE = Path(__file__).parent
TEMPLATES_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"


def _format_datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _relative(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = (value - now).total_seconds()
    future = seconds >= 0
    seconds = abs(seconds)
    # Rounded to the nearest unit, not truncated: a 168-hour link, a few milliseconds after it
    # was made, expires "in 7 days", and a fresh 60-day token "in 60 days".
    if seconds < 60:
        return "now"
    if seconds < 3600 - 30:
        amount = f"{round(seconds / 60)} min"
    elif seconds < 2 * 86400 - 1800:
        amount = f"{round(seconds / 3600)} h"
    else:
        amount = f"{round(seconds / 86400)} days"
    return f"in {amount}" if future else f"{amount} ago"


class Pages:
    """Renders templates with the session's CSRF token, notices and the app name at hand."""

    def __init__(self, *, app_name: str, clock: Callable[[], datetime]) -> None:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["datetime"] = _format_datetime
        env.filters["relative"] = lambda value: _relative(value, clock())
        self.templates = Jinja2Templates(env=env)
        self.app_name = app_name
        self.clock = clock

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Render ``name``; the session (if any) supplies ``csrf_token``, ``user`` and ``flashes``."""
        holder = maybe_session_of(request)
        session = holder.peek() if holder else None
        base: dict[str, Any] = {
            "app_name": self.app_name,
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf if session else "",
            "user": session.user if session else None,
            "flashes": holder.pop_flashes() if holder else [],
            "now": self.clock(),
        }
        base.update(context or {})
        return self.templates.TemplateResponse(
            request, name, base, status_code=status_code, headers=dict(headers or {})
        )
