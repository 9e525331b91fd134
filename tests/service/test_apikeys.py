"""API keys: who may read which account's token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from igtoken.core.secret import Secret
from igtoken.service import ApiKeyPrincipal, ServiceDeps, create_app
from igtoken.service.apikeys import api_principal, require_scope

from .conftest import client_for, make_config


class DictVerifier:
    """A test double of the vault's API-key check."""

    def __init__(self) -> None:
        self.keys = {
            "key-all": ApiKeyPrincipal(id="k1"),
            "key-acc1": ApiKeyPrincipal(id="k2", account_ids=frozenset({"acc1"})),
        }
        self.seen: list[Secret] = []

    async def verify(self, key: Secret) -> ApiKeyPrincipal | None:
        self.seen.append(key)
        return self.keys.get(key.reveal())


def _app(verifier: DictVerifier | None):
    app = create_app(make_config(), deps=ServiceDeps(api_keys=verifier))
    router = APIRouter()

    @router.get("/api/accounts/{account_id}/token")
    async def token(account_id: str, principal: Annotated[ApiKeyPrincipal, Depends(api_principal)]) -> dict:
        require_scope(principal, account_id)
        return {"account_id": account_id, "principal": principal.id}

    app.include_router(router)
    return app


async def test_no_key_and_unknown_key_are_401():
    """Without a key, or with one the verifier does not know, the answer is 401 with a fix."""
    async with client_for(_app(DictVerifier())) as client:
        missing = await client.get("/api/accounts/acc1/token")
        unknown = await client.get("/api/accounts/acc1/token", headers={"authorization": "Bearer nope"})
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["error"]["fix"]
    assert (
        unknown.status_code == 401
        and unknown.json()["error"]["message"] == "the API key is unknown or revoked"
    )


async def test_a_key_scoped_to_another_account_is_403():
    """A valid key not scoped to the account is refused before any token is read."""
    async with client_for(_app(DictVerifier())) as client:
        response = await client.get("/api/accounts/acc2/token", headers={"authorization": "Bearer key-acc1"})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"


async def test_scoped_and_unscoped_keys_are_accepted_in_either_header():
    """A key scoped to the account (or to all) works as Bearer or X-API-Key and arrives as a Secret."""
    verifier = DictVerifier()
    async with client_for(_app(verifier)) as client:
        scoped = await client.get("/api/accounts/acc1/token", headers={"Authorization": "bearer key-acc1"})
        unscoped = await client.get("/api/accounts/acc9/token", headers={"x-api-key": "key-all"})
    assert scoped.json() == {"account_id": "acc1", "principal": "k2"}
    assert unscoped.json() == {"account_id": "acc9", "principal": "k1"}
    assert all(isinstance(key, Secret) for key in verifier.seen)


async def test_without_a_verifier_token_routes_are_unavailable():
    """An instance with no API-key verifier wired answers 503, never an unauthenticated token."""
    async with client_for(_app(None)) as client:
        response = await client.get("/api/accounts/acc1/token", headers={"x-api-key": "key-all"})
    assert response.status_code == 503
