"""Programmatic onboarding: POST /v1/connect-links, accounts carrying the link's external_id and
label, and GET /v1/accounts?external_id=…"""

from __future__ import annotations

from urllib.parse import urlsplit

from igtoken.service.openapi import ErrorOut

from .test_wired_service import start


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "accept": "application/json"}


async def test_a_link_made_over_the_api_connects_an_account_that_carries_its_external_id(wired):
    """The URL is answered once and its page opens; the account connected through it carries the
    external_id and label, and the accounts list filters on the external_id."""
    made = await wired.service.post(
        "/v1/connect-links",
        json={"app": "demo", "label": "Acme trial", "external_id": "cust-42", "expires_in_hours": 24},
        headers=_auth(wired.key),
    )
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    link = made.json()
    assert (link["external_id"], link["label"], link["max_uses"]) == ("cust-42", "Acme trial", 1)
    url = urlsplit(link["url"])
    assert link["url"].startswith("http://service.test/connect/")
    code = url.path.rsplit("/", 1)[1]
    callback = await start(wired, code)
    done = await wired.service.get(callback)
    assert done.status_code == 200, done.text

    mine = await wired.service.get(
        "/v1/accounts", params={"external_id": "cust-42"}, headers=_auth(wired.key)
    )
    [account] = mine.json()["accounts"]
    assert (account["username"], account["external_id"], account["label"]) == (
        "demo_business",
        "cust-42",
        "Acme trial",
    )
    other = await wired.service.get(
        "/v1/accounts", params={"external_id": "cust-7"}, headers=_auth(wired.key)
    )
    assert other.json() == {"accounts": []}
    one = await wired.service.get(f"/v1/accounts/{account['id']}", headers=_auth(wired.key))
    assert one.json()["external_id"] == "cust-42"
    spent = await wired.service.get(link["url"].removeprefix("http://service.test"))
    assert spent.status_code == 410  # single use by default


async def test_links_need_an_unscoped_key_a_known_app_and_sane_values(wired):
    """403 for an account-scoped key, 404 for an unknown app, 422 (ErrorOut, with fields) for bad
    values, 401 without a key."""
    account_ids = ["acc-1"]
    _, scoped = wired.vault.api_keys.create("scoped", now=wired.now(), account_ids=account_ids)
    answers = {
        "scoped": await wired.service.post(
            "/v1/connect-links", json={"app": "demo"}, headers=_auth(scoped.reveal())
        ),
        "unknown": await wired.service.post(
            "/v1/connect-links", json={"app": "nope"}, headers=_auth(wired.key)
        ),
        "invalid": await wired.service.post(
            "/v1/connect-links", json={"app": "demo", "expires_in_hours": 0}, headers=_auth(wired.key)
        ),
        "anonymous": await wired.service.post(
            "/v1/connect-links", json={"app": "demo"}, headers={"accept": "application/json"}
        ),
    }
    assert {k: v.status_code for k, v in answers.items()} == {
        "scoped": 403,
        "unknown": 404,
        "invalid": 422,
        "anonymous": 401,
    }
    for answer in answers.values():
        ErrorOut.model_validate(answer.json())
    fields = ErrorOut.model_validate(answers["invalid"].json()).error.fields
    assert fields and fields[0].field == "body.expires_in_hours"
    assert wired.vault.links.list_all() == []
