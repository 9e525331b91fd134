"""A webhook receiver on loopback and the docs' table of event fields, shared by the webhook tests."""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"


def documented_fields() -> dict[str, set[str]]:
    """Event type -> the `data` fields of the docs' table."""
    fields = {}
    for row in re.findall(r"^\| `([a-z_.]+)` \|[^|]*\| (.*) \|$", DOC.read_text(), re.M):
        fields[row[0]] = set(re.findall(r"`(\w+)`", row[1]))
    return fields


class Receiver(BaseHTTPRequestHandler):
    """Records each POST (body, headers with lower-case names) and answers 204.

    Subclass it per test module with its own ``received`` list, so modules do not share state.
    """

    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append((body, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass
