"""One redaction filter for log records igtoken does not write itself: the HTTP clients' own.

httpx logs every request URL at INFO (and httpcore its connection steps at DEBUG), and
Meta's token exchange, refresh and app-token calls must carry the token or the app secret
in the query; without this filter, turning on ``-v`` would print them.

:func:`install_log_redaction` is called wherever logging is set up (the CLI's ``-v``, the
worker, the service) *before* the first request, and puts the filter both on the HTTP
client loggers and on the handlers given (by default the root logger's). The logger filters
catch records however the application configured its handlers; a handler filter catches
records of child loggers (``httpcore.http11``…), which a parent logger's filter never sees.
Importing the client installs the logger filters too, for applications that use the
library without calling this.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

import httpx

from igtoken.core.redact import redact_text, redact_url

__all__ = ["HTTP_CLIENT_LOGGERS", "RedactingFilter", "install_log_redaction"]

#: The loggers of the HTTP clients igtoken uses, and httpcore's children (each has its own filters).
HTTP_CLIENT_LOGGERS: Final = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class RedactingFilter(logging.Filter):
    """Scrub credentials from a record's message and arguments, in place; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's message and arguments in place; never drop a record."""
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_arg(arg) for key, arg in record.args.items()}
        return True


def _redact_arg(arg: object) -> object:
    if isinstance(arg, httpx.URL):
        return redact_url(arg)
    if isinstance(arg, str):
        return redact_text(arg)
    if isinstance(arg, bytes):
        return redact_text(arg.decode("utf-8", "replace")).encode("utf-8")
    if isinstance(arg, list | tuple):  # httpcore's (name, value) header lists
        return type(arg)(_redact_arg(item) for item in arg)
    return arg


def _add_once(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())


def install_log_redaction(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Put the filter on every HTTP client logger and on ``handlers`` (default: the root logger's).

    Idempotent: a logger or handler that has the filter does not get a second one.
    """
    for name in HTTP_CLIENT_LOGGERS:
        _add_once(logging.getLogger(name))
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        _add_once(handler)
