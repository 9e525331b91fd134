"""Notify fixtures: a real webhook receiver on loopback (http.server in a thread) that checks signatures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from igtoken.core.exceptions import WebhookSignatureError
from igtoken.core.secret import Secret
from igtoken.notify import ReplayGuard, verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None


@dataclass
class Receiver:
    """Binds 127.0.0.1:0 at once (so the port is known while it is still 'down'), listens on ``start()``."""

    secret: Secret
    now: datetime
    statuses: list[int] = field(default_factory=list)  # answered in order; 200 once used up
    extra_headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    guard: ReplayGuard = field(default_factory=ReplayGuard)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    verify(body, dict(self.headers), receiver.secret, receiver.now,
                           replay_guard=receiver.guard)  # fmt: skip
                    verified, error = True, None
                except WebhookSignatureError as exc:
                    verified, error = False, str(exc)
                receiver.received.append(Received(self.path, dict(self.headers), body, verified, error))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if not verified:
                    status = 400
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/igtoken"
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        self.server.server_activate()
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """Makes loopback receivers (bound, not yet listening) and stops them all afterwards."""
    made: list[Receiver] = []

    def make(**kwargs: object) -> Receiver:
        receiver = Receiver(**kwargs)  # type: ignore[arg-type]
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()
