"""Programmatic onboarding: POST /v1/connect-links, accounts carrying the link's external_id and
label, and GET /v1/accounts?external_id=…"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

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


async def test_a_link_with_a_redirect_url_sends_the_person_back_with_the_account_id(wired):
    """After connecting through a link with redirect_url, the callback answers 303 to it, with the new
    account's id and the link's external_id appended beside the URL's own query; no token in it."""
    made = await wired.service.post(
        "/v1/connect-links",
        json={
            "app": "demo",
            "external_id": "cust 42/é",
            "redirect_url": "https://app.example.com/instagram/done?step=3&account_id=forged",
        },
        headers=_auth(wired.key),
    )
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["redirect_url"] == "https://app.example.com/instagram/done?step=3&account_id=forged"
    callback = await start(wired, urlsplit(link["url"]).path.rsplit("/", 1)[1])
    done = await wired.service.get(callback)
    assert done.status_code == 303, done.text
    assert done.headers["cache-control"] == "no-store"
    target = urlsplit(done.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "app.example.com", "/instagram/done")
    [account] = wired.vault.list_accounts(external_id="cust 42/é")
    assert parse_qsl(target.query) == [
        ("step", "3"),
        ("account_id", account.id),
        ("external_id", "cust 42/é"),
    ]
    token = wired.vault.current_token(account.id).token.value.reveal()
    assert token not in done.headers["location"]


async def test_a_link_without_a_redirect_url_still_shows_the_success_page(wired):
    """No redirect_url: the success page, as before (200, HTML)."""
    made = await wired.service.post("/v1/connect-links", json={"app": "demo"}, headers=_auth(wired.key))
    assert made.json()["redirect_url"] is None
    done = await wired.service.get(await start(wired, urlsplit(made.json()["url"]).path.rsplit("/", 1)[1]))
    assert done.status_code == 200 and "text/html" in done.headers["content-type"]


async def test_bad_redirect_urls_are_422_naming_the_field(wired):
    """Plain http off loopback, not absolute, a fragment, credentials, too long: 422 on body.redirect_url
    with a message saying why; loopback http is fine."""
    bad = {
        "http://app.example.com/done": "plain http",
        "/relative/done": "not an absolute http(s) URL",
        "javascript:alert(1)": "not an absolute http(s) URL",
        "https://app.example.com/done#frag": "fragment",
        "https://user:pw@app.example.com/done": "user name or password",
        "https://app.example.com/" + "a" * 2100: "at most 2048 characters",
    }
    for url, why in bad.items():
        answer = await wired.service.post(
            "/v1/connect-links", json={"app": "demo", "redirect_url": url}, headers=_auth(wired.key)
        )
        assert answer.status_code == 422, (url, answer.text)
        error = ErrorOut.model_validate(answer.json()).error
        assert error.fields is not None and error.fields[0].field == "body.redirect_url", url
        assert why in error.fields[0].message, (url, error.fields[0].message)
    assert wired.vault.links.list_all() == []  # nothing was made for a refused one
    loopback = await wired.service.post(
        "/v1/connect-links",
        json={"app": "demo", "redirect_url": "http://127.0.0.1:3000/done"},
        headers=_auth(wired.key),
    )
    assert loopback.status_code == 201, loopback.text
