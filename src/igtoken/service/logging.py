"""JSON log lines, with secrets redacted as a second line of defence.

The first line of defence is that secrets are :class:`~igtoken.core.secret.Secret` and
never formatted; this module catches what slips through anyway: log fields whose
*name* says secret (``*token*``, ``*secret*``, ``*password*``, ``*key*``, ``code``)
and credentials in URL query strings (``access_token``, ``client_secret``, ``code``,
``appsecret_proof``) inside any message or field.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final

from starlette.types import ASGIApp, Scope

from igtoken.client.log_redaction import install_log_redaction
from igtoken.service.observe import ObservedRequestMiddleware, route_template

REDACTED: Final = "[redacted]"

_SECRET_NAME = re.compile(r"token|secret|password|passwd|key|authorization|cookie|^code$", re.IGNORECASE)
# Names that contain a secret-looking word but are known to be harmless.
_HARMLESS_NAMES: Final = frozenset({"token_kind", "key_id"})
# Matches ``name=value`` also when the URL sits percent-encoded inside another one (``%3Fcode%3D…``).
_SECRET_QUERY = re.compile(
    r"(?P<name>(?:access_token|client_secret|code|appsecret_proof|fb_exchange_token|input_token"
    r"|hub\.verify_token)(?:=|%3D))"
    r"(?P<value>(?:(?!%26)[^&\s\"'#])+)",
    re.IGNORECASE,
)
# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRS: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact_text(text: str) -> str:
    """Mask credential values in URL query strings found anywhere in ``text``."""
    return _SECRET_QUERY.sub(lambda m: m.group("name") + REDACTED, text)


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` must never be logged in clear."""
    return name.lower() not in _HARMLESS_NAMES and bool(_SECRET_NAME.search(name))


def redact_value(name: str, value: Any) -> Any:
    """``value`` made safe to log under the field name ``name``."""
    if is_secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value("", item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


class RedactionFilter(logging.Filter):
    """Rewrites a record in place: message formatted and scrubbed, secret-named extras masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub ``record``; never drops it."""
        record.msg = redact_text(record.getMessage())
        record.args = None
        for name in list(record.__dict__):
            if name not in _RECORD_ATTRS:
                setattr(record, name, redact_value(name, record.__dict__[name]))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line (exception text scrubbed too)."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRS and name not in line:
                line[name] = redact_value(name, value)
        if record.exc_info:
            line["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler writing redacted JSON lines (to stderr unless told otherwise)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactionFilter())
    return handler


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send the root logger (and uvicorn's) to one JSON handler; returns the handler."""
    handler = json_handler(stream)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    install_log_redaction([handler])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler


class RequestLogMiddleware(ObservedRequestMiddleware):
    """One line per request: method, route template, status, duration (no query string, ever)."""

    def __init__(self, app: ASGIApp, *, logger: logging.Logger | None = None) -> None:
        super().__init__(app)
        self.log = logger or logging.getLogger("igtoken.service.access")

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        """Log the request."""
        client = scope.get("client")
        self.log.info(
            "request",
            extra={
                "method": scope.get("method"),
                "route": route_template(scope),
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": client[0] if client else None,
            },
        )
