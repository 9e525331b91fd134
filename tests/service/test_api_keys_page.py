"""The dashboard's API keys page: create a key with chosen capabilities (shown once), see each key's
capabilities, revoke; the key made there is held to its capabilities by the real /v1 API."""

from __future__ import annotations

import html
import re

from .conftest import Wired, csrf_from, sign_in_wired


async def form_token(w: Wired) -> str:
    page = await w.service.get("/dashboard/api-keys")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


def row_of(page: str, prefix: str) -> str:
    match = re.search(rf"<tr>(?:(?!</tr>).)*<code>{prefix}</code>.*?</tr>", page, re.S)
    assert match is not None, page
    return match.group(0)


async def test_a_key_made_with_chosen_capabilities_can_do_only_those(wired) -> None:
    """Ticking links:create and accounts:read makes a key shown once (201) that the API lets create
    links and list accounts, and refuses (403) a token read; the list shows its capabilities."""
    await sign_in_wired(wired)
    csrf = await form_token(wired)
    page = await wired.service.get("/dashboard/api-keys")
    for capability in ("accounts:read", "tokens:read", "graph", "refresh", "links:create"):
        assert f'name="capability" value="{capability}"' in page.text
    made = await wired.service.post(
        "/dashboard/api-keys",
        data={
            "csrf_token": csrf,
            "name": "onboarding",
            "access": "chosen",
            "capability": ["links:create", "accounts:read"],
        },
    )
    assert made.status_code == 201, made.text
    key = re.search(r'id="created-key" class="copy" type="text" readonly value="([^"]+)"', made.text).group(1)  # type: ignore[union-attr]
    [record] = [r for r in wired.vault.api_keys.list_all() if r.name == "onboarding"]
    assert record.capabilities == ("accounts:read", "links:create")
    row = html.unescape(re.sub(r"<[^>]+>", "", row_of(made.text, record.prefix)))
    assert "accounts:read, links:create" in row and "active" in row

    auth = {"authorization": f"Bearer {key}", "accept": "application/json"}
    assert (await wired.service.get("/v1/accounts", headers=auth)).status_code == 200
    link = await wired.service.post("/v1/connect-links", json={"app": "demo"}, headers=auth)
    assert link.status_code == 201, link.text
    # The capability is checked before the account is looked up, so any id shows it.
    refused = await wired.service.get("/v1/accounts/any-account/token", headers=auth)
    assert refused.status_code == 403 and "tokens:read" in refused.text

    again = await wired.service.get("/dashboard/api-keys")
    assert key not in again.text  # shown once


async def test_a_key_allowed_everything_is_listed_as_such(wired) -> None:
    """The default choice makes a key with every capability ("everything")."""
    await sign_in_wired(wired)
    made = await wired.service.post(
        "/dashboard/api-keys", data={"csrf_token": await form_token(wired), "name": "all-in", "access": "all"}
    )
    assert made.status_code == 201
    [record] = [r for r in wired.vault.api_keys.list_all() if r.name == "all-in"]
    assert record.capabilities is None
    assert "everything" in row_of(made.text, record.prefix)


async def test_bad_choices_are_422_with_the_reason_and_nothing_is_made(wired) -> None:
    """ "Only what is ticked" with nothing ticked, or a capability that does not exist: 422, the form
    again with the reason; no key. Without the CSRF token: 403."""
    await sign_in_wired(wired)
    before = len(wired.vault.api_keys.list_all())
    csrf = await form_token(wired)
    none = await wired.service.post(
        "/dashboard/api-keys", data={"csrf_token": csrf, "name": "x", "access": "chosen"}
    )
    assert none.status_code == 422 and "choose at least one capability" in none.text
    odd = await wired.service.post(
        "/dashboard/api-keys",
        data={"csrf_token": csrf, "name": "x", "access": "chosen", "capability": ["tokens:write"]},
    )
    assert odd.status_code == 422 and "unknown capabilities: tokens:write" in odd.text
    forged = await wired.service.post("/dashboard/api-keys", data={"name": "x", "access": "all"})
    assert forged.status_code == 403
    assert len(wired.vault.api_keys.list_all()) == before


async def test_revoking_from_the_dashboard_ends_the_key(wired) -> None:
    """Revoke: 303 back with a notice; the list says revoked; the API refuses the key (401)."""
    await sign_in_wired(wired)
    auth = {"authorization": f"Bearer {wired.key}", "accept": "application/json"}
    assert (await wired.service.get("/v1/accounts", headers=auth)).status_code == 200
    [record] = wired.vault.api_keys.list_all()
    done = await wired.service.post(
        f"/dashboard/api-keys/{record.id}/revoke", data={"csrf_token": await form_token(wired)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/dashboard/api-keys"
    page = await wired.service.get("/dashboard/api-keys")
    assert "is revoked" in page.text and "revoked" in row_of(page.text, record.prefix)
    assert (await wired.service.get("/v1/accounts", headers=auth)).status_code == 401
