"""`igtoken doctor` on a Facebook Login app with "Require App Secret" on: its Graph calls with the page
token (debug_token, the Page node) carry ``appsecret_proof``, so every check passes."""

from __future__ import annotations

import asyncio
import json

import httpx

from igtoken.emulator import demo
from tests.support.cli import invoke

from .test_cmd_fblogin import change_sandbox_world, sandbox_login


def test_doctor_passes_with_require_app_secret_on() -> None:
    sandbox_login()
    change_sandbox_world(lambda world: world.update_app(demo.DEMO_FB_APP_ID, require_appsecret_proof=True))
    doctor = invoke(["--sandbox", "doctor", "--app", "demo-facebook", "--json"])
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert doctor.exit_code == 0, doctor.stdout
    assert checks["page token"]["ok"] and checks["Page link"]["ok"], checks


def test_doctor_without_the_proof_would_fail() -> None:
    """The switch bites: the same Page read without a proof is refused (so the test above means it)."""
    sandbox_login()
    change_sandbox_world(lambda world: world.update_app(demo.DEMO_FB_APP_ID, require_appsecret_proof=True))
    from igtoken.app.runtime import SandboxEmulator
    from igtoken.cli._context import AppContext
    from igtoken.core.models import TokenKind

    context = AppContext(sandbox=True)
    token = context.vault.current_token(
        context.vault.list_accounts()[0].id, TokenKind.FB_PAGE
    ).token.value.reveal()
    context.close()

    async def read_page() -> httpx.Response:
        transport = httpx.ASGITransport(app=SandboxEmulator().app())
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
            return await http.get(
                f"/graph.facebook.com/v25.0/{demo.DEMO_PAGE_LINKED_ID}",
                headers={"authorization": f"Bearer {token}"},
            )

    answer = asyncio.run(read_page())
    assert answer.status_code == 400 and "appsecret_proof" in answer.text
