"""The async adapter runs the same vault in a thread."""

from __future__ import annotations

from datetime import timedelta

from igtoken.core.secret import Secret
from igtoken.vault import AsyncVault, Vault

from .conftest import T0, profile, token


async def test_async_vault_roundtrip(vault: Vault, app_name: str) -> None:
    """Storing, reading, claiming and refreshing work through AsyncVault."""
    av = AsyncVault(vault)
    acct = await av.save_login(app_name, profile(), token("t-async"), now=T0, next_refresh_at=T0)
    stored = await av.current_token(acct.id)
    assert stored.token.value == Secret("t-async")
    (claim,) = await av.claim_due(now=T0, owner="async-worker")
    await av.record_refresh_success(claim, token("t-async-2"), now=T0, next_refresh_at=T0 + timedelta(days=1))
    assert (await av.current_token(acct.id)).token.value == Secret("t-async-2")
    link, _code = await av.links.create(app_name, now=T0, expires_at=T0 + timedelta(hours=1))
    assert (await av.links.get_by_id(link.id)).id == link.id
    assert [k.key_id for k in await av.keys_status() if k.active] == ["k1"]
    assert av.sync is vault
