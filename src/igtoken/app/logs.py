"""Log lines as configured (``IGTOKEN_LOG_FORMAT=text|json``), redacted, with the request id.

Every front door sets logging up here: ``igtoken serve``, ``igtoken worker`` and the CLI's
``-v``. Both formats carry the current request's id (``request_id``) on every line a request
causes, and neither carries terminal colour codes (uvicorn's ``color_message`` is dropped).

Secrets are :class:`~igtoken.core.secret.Secret` and never formatted; the filters here
catch what slips through anyway: log fields whose *name* says secret (``*token*``,
``*secret*``, ``*password*``, ``*key*``, ``code``) and credentials in URL query strings
(``access_token``, ``client_secret``, ``code``, ``appsecret_proof``) inside any message or field.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final, Literal

from igtoken.client.log_redaction import install_log_redaction

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactionFilter",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "is_secret_name",
    "json_handler",
    "log_handler",
    "redact_text",
    "redact_value",
    "request_id",
]

#: The id of the HTTP request being handled (set by the service's request-id middleware).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("igtoken_request_id", default=None)

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
# Extras never written: uvicorn's copy of the message with ANSI colour codes in it.
_DROPPED_EXTRAS: Final = frozenset({"color_message"})
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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
            "msg": _ANSI.sub("", redact_text(record.getMessage())),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRS and name not in _DROPPED_EXTRAS and name not in line:
                line[name] = redact_value(name, value)
        if record.exc_info:
            line["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``request_id``), when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag ``record``; never drops it."""
        current = request_id.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id = current
        return True


class TextFormatter(logging.Formatter):
    """``time level logger message key=value…``: the extras (request id first) after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text, without colour codes."""
        line = _ANSI.sub("", super().format(record))
        extras = {
            name: value
            for name, value in record.__dict__.items()
            if name not in _RECORD_ATTRS and name not in _DROPPED_EXTRAS
        }
        if "request_id" in extras:
            extras = {"request_id": extras.pop("request_id"), **extras}
        if extras:
            line += " " + " ".join(f"{k}={redact_value(k, v)}" for k, v in extras.items())
        return line


LogFormat = Literal["text", "json"]


def log_handler(fmt: LogFormat | str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler writing redacted lines in ``fmt`` (to stderr unless told otherwise)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    return handler


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler writing redacted JSON lines (to stderr unless told otherwise)."""
    return log_handler("json", stream)


def configure_logging(
    level: str | int = "INFO", stream: IO[str] | None = None, *, fmt: LogFormat | str = "json"
) -> logging.Handler:
    """Send the root logger (and uvicorn's) to one handler in ``fmt``; returns the handler."""
    handler = log_handler(fmt, stream)
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


# The handler igtoken installed on the root logger, so a format learnt later (settings) can apply.
_installed: list[logging.Handler] = []


def add_log_handler(level: str | int, fmt: LogFormat | str = "text") -> logging.Handler | None:
    """For commands (``worker``, ``-v``): like :func:`logging.basicConfig`, a no-op if the root
    logger has handlers already (an application's, pytest's); else one redacted handler in ``fmt``."""
    root = logging.getLogger()
    root.setLevel(level)
    if root.handlers:
        install_log_redaction()
        return None
    handler = log_handler(fmt)
    root.addHandler(handler)
    _installed.append(handler)
    install_log_redaction([handler])
    return handler


def set_log_format(fmt: LogFormat | str) -> None:
    """Switch the handlers installed by :func:`add_log_handler` to ``fmt`` (once settings are read)."""
    for handler in _installed:
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
