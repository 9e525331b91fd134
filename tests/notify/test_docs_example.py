"""The receiver example in docs/webhooks.md runs, and accepts exactly what igtoken signs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx

from igtoken.core.secret import Secret
from igtoken.notify import WebhookEventType, build_event, sign

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"


def load_example() -> tuple[str, dict[str, object]]:
    text = DOC.read_text()
    section = text[text.index("## Receiver example") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return code.group(1), namespace


def test_the_example_imports_only_public_names():
    """No underscore modules or names, from igtoken or anywhere else."""
    source, _ = load_example()
    imports = re.findall(r"^(?:from|import) .*$", source, re.M)
    assert imports
    assert not [line for line in imports if re.search(r"\b_\w", line)]


async def test_the_documented_receiver_accepts_a_signed_event_and_rejects_tampering():
    """The doc's receiver, on the standardwebhooks package, answers 204 to a good request and 400 to a
    changed body or a signature from another secret."""
    _, example = load_example()
    secret = Secret(str(example["SIGNING_SECRET"]))
    now = datetime.now(UTC)  # the library reads the real clock, as a receiver must
    event = build_event(WebhookEventType.TOKEN_EXPIRING, {"account_id": "1", "threshold_days": 7}, now)
    body = event.body()
    headers = {**sign(event.id, body, secret, now), "Content-Type": "application/json"}
    other = sign(event.id, body, Secret("whsec_" + "A" * 44), now)
    transport = httpx.ASGITransport(app=example["app"])  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        ok = await client.post("/hooks/igtoken", content=body, headers=headers)
        tampered = await client.post("/hooks/igtoken", content=body.replace(b"7", b"8"), headers=headers)
        wrong = await client.post("/hooks/igtoken", content=body, headers={**headers, **other})
    assert ok.status_code == 204
    assert tampered.status_code == 400
    assert wrong.status_code == 400
