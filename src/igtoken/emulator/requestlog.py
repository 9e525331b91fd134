"""Every request the emulator served, with secrets masked when read back.

Entries keep the raw query and form so the hot path does no masking work; masking happens in
:meth:`RequestLog.entries`. The log is bounded (``capacity``); ``dropped`` says how many of the
oldest entries fell off, so a test can tell a short count from a truncated one.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl

SENSITIVE: Final = frozenset(
    {
        "access_token",
        "client_secret",
        "fb_exchange_token",
        "input_token",
        "code",
        "appsecret_proof",
        "signed_request",
        "long_lived_token",
        "password",
    }
)


def mask(value: str) -> str:
    """Keep a secret's first four characters (its kind) and hide the rest."""
    if len(value) <= 4:
        return "****"
    return value[:4] + "…(masked)"


def _mask_pairs(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        shown = mask(value) if key in SENSITIVE else value
        if key in out:
            prev = out[key]
            out[key] = [*prev, shown] if isinstance(prev, list) else [prev, shown]
        else:
            out[key] = shown
    return out


@dataclass(slots=True)
class LoggedRequest:
    """One served request."""

    seq: int
    time: float
    method: str
    host: str
    path: str
    endpoint: str
    status: int
    # Raw, so the hot path does no masking; kept out of repr so a printed entry shows no token.
    query: str = field(repr=False)
    form: list[tuple[str, str]] | None = field(repr=False)
    token_id: str | None
    account: str | None
    auth_header: bool

    def as_json(self) -> dict[str, object]:
        """The entry with every secret masked."""
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "host": self.host,
            "path": self.path,
            "endpoint": self.endpoint,
            "status": self.status,
            "query": _mask_pairs(parse_qsl(self.query, keep_blank_values=True)),
            "form": _mask_pairs(self.form) if self.form is not None else None,
            "token_id": self.token_id,
            "account": self.account,
            "authorization_header": self.auth_header,
        }


class RequestLog:
    """A bounded, thread-safe list of :class:`LoggedRequest`."""

    def __init__(self, capacity: int = 500_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0
        self.dropped = 0

    def add(
        self,
        *,
        time: float,
        method: str,
        host: str,
        path: str,
        endpoint: str,
        status: int,
        query: str,
        form: list[tuple[str, str]] | None,
        token_id: str | None,
        account: str | None,
        auth_header: bool,
    ) -> None:
        """Record one request."""
        with self._lock:
            self._seq += 1
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(
                LoggedRequest(
                    self._seq,
                    time,
                    method,
                    host,
                    path,
                    endpoint,
                    status,
                    query,
                    form,
                    token_id,
                    account,
                    auth_header,
                )
            )

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self.dropped = 0
            return count

    def entries(
        self,
        *,
        endpoint: str | None = None,
        path: str | None = None,
        host: str | None = None,
        account: str | None = None,
        token_id: str | None = None,
        status: int | None = None,
        method: str | None = None,
    ) -> list[LoggedRequest]:
        """Entries matching every filter given (``path`` matches as a substring)."""
        with self._lock:
            snapshot = list(self._entries)
        return [
            e
            for e in snapshot
            if (endpoint is None or e.endpoint == endpoint)
            and (path is None or path in e.path)
            and (host is None or e.host == host)
            and (account is None or e.account == account)
            and (token_id is None or e.token_id == token_id)
            and (status is None or e.status == status)
            and (method is None or e.method == method.upper())
        ]

    def __len__(self) -> int:
        return len(self._entries)
