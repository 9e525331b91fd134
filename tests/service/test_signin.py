"""Dashboard sign-in, session cookies and CSRF."""

from __future__ import annotations

from datetime import timedelta

from igtoken.core.secret import Secret
from igtoken.service.security import Session, SessionCodec

from .conftest import ADMIN_PASSWORD, NOW, client_for, csrf_from, make_config, sign_in


async def test_dashboard_redirects_to_sign_in_without_a_session(client):
    """An anonymous page request is sent to /signin, remembering where it was going."""
    response = await client.get("/dashboard/accounts/acc1")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/dashboard/accounts/acc1"
    assert response.text == ""


async def test_wrong_password_is_401_and_the_form_again(client):
    """A wrong password re-renders the form with a message and a 401, and signs nobody in."""
    response = await sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "That password is not right." in response.text
    assert 'name="password"' in response.text
    assert (await client.get("/dashboard")).status_code == 303


async def test_right_password_signs_in_with_a_hardened_cookie(client):
    """The session cookie is HttpOnly, SameSite=Lax, Path=/, and not Secure on a dev http URL."""
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("igtoken_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert (await client.get("/dashboard")).status_code == 200


async def test_https_public_url_gives_a_secure_host_prefixed_cookie(build_app):
    """Behind HTTPS the cookie is Secure and __Host- prefixed, and HSTS is sent."""
    app = build_app(make_config(public_url="https://tokens.example", dev=False))
    async with client_for(app, base_url="https://tokens.example") as client:
        page = await client.get("/signin")
        assert "strict-transport-security" in page.headers
        response = await client.post(
            "/signin", data={"password": ADMIN_PASSWORD, "csrf_token": csrf_from(page.text)}
        )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-igtoken_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert (await client.get("/dashboard")).status_code == 200


async def test_sign_in_rotates_the_session_and_its_csrf_token(client):
    """The CSRF token seen before signing in is not valid after (no session fixation)."""
    before = csrf_from((await client.get("/signin")).text)
    await client.post("/signin", data={"password": ADMIN_PASSWORD, "csrf_token": before})
    after = csrf_from((await client.get("/dashboard")).text)
    assert after != before
    response = await client.post("/dashboard/accounts/acc0/refresh", data={"csrf_token": before})
    assert response.status_code == 403


async def test_sign_out_ends_the_session(admin):
    """After signing out the dashboard asks for sign-in again."""
    token = csrf_from((await admin.get("/dashboard")).text)
    response = await admin.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303
    assert (await admin.get("/dashboard")).status_code == 303
    assert "You are signed out." in (await admin.get("/signin")).text


async def test_a_forged_cookie_is_ignored(app):
    """A cookie signed with another secret, or edited, does not sign anybody in."""
    other = SessionCodec(Secret("o" * 40), max_age=3600, secure=False)
    forged = other.dumps(Session(csrf="x", issued_at=int(NOW.timestamp()), user="admin"))
    async with client_for(app) as client:
        client.cookies.set("igtoken_session", forged)
        assert (await client.get("/dashboard")).status_code == 303
    async with client_for(app) as client:
        await sign_in(client)
        good = client.cookies["igtoken_session"]
        version, payload, mac = good.split(".")
        client.cookies.set("igtoken_session", f"{version}.{payload[:-2]}AA.{mac}")
        assert (await client.get("/dashboard")).status_code == 303


async def test_session_expires_after_its_max_age(build_app):
    """A session older than session_max_age no longer counts."""
    now = [NOW]
    app = build_app(make_config(session_max_age=600), clock=lambda: now[0])
    async with client_for(app) as client:
        await sign_in(client)
        now[0] = NOW + timedelta(seconds=599)
        assert (await client.get("/dashboard")).status_code == 200
        now[0] = NOW + timedelta(seconds=601)
        assert (await client.get("/dashboard")).status_code == 303


async def test_sign_in_without_or_with_a_wrong_csrf_token_is_403(client):
    """The sign-in form is CSRF-protected too (login CSRF): missing or wrong token is 403."""
    await client.get("/signin")
    missing = await client.post("/signin", data={"password": ADMIN_PASSWORD})
    wrong = await client.post("/signin", data={"password": ADMIN_PASSWORD, "csrf_token": "nope"})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert missing.json()["error"]["type"] == "forbidden"
    assert (await client.get("/dashboard")).status_code == 303


async def test_dashboard_form_without_csrf_is_403_and_does_nothing(admin, board):
    """A dashboard action posted without the session's CSRF token is refused before it runs."""
    for data in ({}, {"csrf_token": "x" * 43}):
        response = await admin.post(
            "/dashboard/accounts/acc0/disconnect", data=data, headers={"accept": "text/html"}
        )
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert board.calls == []


async def test_csrf_token_of_another_session_is_refused(app, board):
    """A token taken from one browser's page does not work in another's session."""
    async with client_for(app) as first, client_for(app) as second:
        await sign_in(first)
        await sign_in(second)
        stolen = csrf_from((await first.get("/dashboard")).text)
        response = await second.post("/dashboard/accounts/acc0/refresh", data={"csrf_token": stolen})
        assert response.status_code == 403
    assert board.calls == []


async def test_post_without_a_session_is_401(client, board):
    """A dashboard form post from someone not signed in is 401, not a redirect."""
    response = await client.post("/dashboard/accounts/acc0/refresh", data={"csrf_token": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_required"
    assert board.calls == []


async def test_next_cannot_redirect_off_site(client):
    """The ``next`` target is kept on the dashboard: no open redirect after sign-in."""
    token = csrf_from((await client.get("/signin")).text)
    for target in ("https://evil.example/", "//evil.example", "/dashboard//evil.example"):
        response = await client.post(
            "/signin", data={"password": ADMIN_PASSWORD, "csrf_token": token, "next": target}
        )
        assert response.headers["location"] == "/dashboard"
        token = csrf_from((await client.get("/dashboard")).text)


async def test_signed_in_user_visiting_signin_goes_to_the_dashboard(admin):
    """Signing in twice is not needed: /signin redirects a signed-in user."""
    response = await admin.get("/signin")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"


async def test_password_compare_uses_digests():
    """password_matches compares equal-length digests (constant time, no length leak)."""
    from igtoken.service.security import password_matches

    assert password_matches("x" * 30, Secret("x" * 30))
    assert not password_matches("x" * 29, Secret("x" * 30))
    assert not password_matches("", Secret("x" * 30))


async def test_cookie_is_not_sent_to_plain_api_calls(client):
    """Endpoints that never touch the session set no cookie (probes, metrics)."""
    for path in ("/healthz", "/metrics"):
        response = await client.get(path)
        assert "set-cookie" not in response.headers
