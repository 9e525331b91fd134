"""The receiver example in docs/webhooks.md runs, and accepts exactly what igtoken signs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx

from igtoken.core.secret import Secret
from igtoken.notify import SIGNATURE_HEADER, EventType, build_event, sign

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"


def load_example():
    text = DOC.read_text()
    section = text[text.index("## Receiver example") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


async def test_the_documented_receiver_accepts_a_signed_event_and_rejects_tampering():
    """The doc's Starlette receiver answers 204 to a good request, 400 to a replay or a changed body."""
    example = load_example()
    secret = example["SIGNING_SECRET"]
    assert isinstance(secret, Secret)
    now = datetime.now(UTC)  # the example reads the real clock, as a receiver must
    body = build_event(EventType.TOKEN_EXPIRING, {"account_id": "1", "threshold_days": 7}, now).body()
    headers = {SIGNATURE_HEADER: sign(body, secret, now), "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=example["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        ok = await client.post("/hooks/igtoken", content=body, headers=headers)
        replay = await client.post("/hooks/igtoken", content=body, headers=headers)
        tampered = await client.post("/hooks/igtoken", content=body.replace(b"7", b"8"), headers=headers)
    assert ok.status_code == 204
    assert (replay.status_code, "already accepted" in replay.text) == (400, True)
    assert (tampered.status_code, "does not match" in tampered.text) == (400, True)
