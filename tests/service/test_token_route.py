"""The token route's answer, built without the response model, is byte for byte what the model says."""

from __future__ import annotations

from igtoken.service.routes.api import TokenOut

from .conftest import bearer
from .test_wired_service import connect


async def test_token_answer_is_the_models_json(wired):
    account_id = await connect(wired)
    answer = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    model = TokenOut.model_validate_json(answer.content)
    assert answer.content == model.model_dump_json().encode()
    assert list(answer.json()) == list(TokenOut.model_fields)
    assert model.token_type == "bearer" and model.access_token
