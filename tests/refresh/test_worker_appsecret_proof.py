"""The worker's scheduled page-token check with "Require App Secret" on: its debug_token call carries
the ``appsecret_proof`` of the Meta app's token, computed by the library's helper."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from igtoken.emulator import demo
from igtoken.refresh.outcomes import Outcome
from tests.support.fleet import Rig

from .test_worker_facebook import connect_demo_page


def caller_token(rig: Rig, token_id: str) -> str:
    for token in rig.world.tokens.values():
        if token.token_id == token_id:
            return str(token.value)
    assert token_id == f"app-{demo.DEMO_FB_APP_ID}", token_id
    return f"{demo.DEMO_FB_APP_ID}|{demo.DEMO_FB_APP_SECRET}"


async def test_scheduled_page_check_sends_the_proof(rig):
    account = await connect_demo_page(rig)
    rig.world.update_app(demo.DEMO_FB_APP_ID, require_appsecret_proof=True)
    rig.advance(rig.worker.policy.page_check_interval)
    (result,) = (await rig.worker.run_once()).results
    assert result.outcome is Outcome.CHECKED and result.account_id == account.id
    (entry,) = rig.world.log.entries(endpoint="fb_debug_token")
    assert entry.status == 200 and entry.token_id
    proof = dict(parse_qsl(entry.query))["appsecret_proof"]
    expected = hmac.new(
        demo.DEMO_FB_APP_SECRET.encode(), caller_token(rig, entry.token_id).encode(), hashlib.sha256
    ).hexdigest()
    assert proof == expected
