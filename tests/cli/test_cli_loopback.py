"""The loopback receiver over real sockets, and the paste helper (src/igtoken/cli/_loopback.py)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509

from igtoken.cli._loopback import LoopbackReceiver, parse_pasted_url
from igtoken.core.exceptions import CallbackError, CallbackTimeout, ConfigurationError

STATE = "st4te-Xy9_abc"


@pytest.fixture
def http_receiver():
    with LoopbackReceiver("http://127.0.0.1:0/callback", state=STATE, timeout=5) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def https_receiver_factory():
    return lambda: LoopbackReceiver("https://localhost:0/ig/callback", state=STATE, timeout=5)


def get(url: str, **kwargs) -> httpx.Response:
    with httpx.Client(timeout=5, **kwargs) as client:
        return client.get(url)


def test_success_returns_the_full_callback_url(http_receiver):
    """A callback with the right state shows the success page and hands back redirect URI + query."""
    assert http_receiver.port > 0
    assert http_receiver.redirect_uri == f"http://127.0.0.1:{http_receiver.port}/callback"
    response = get(f"{http_receiver.redirect_uri}?code=AQBx-code&state={STATE}")
    assert response.status_code == 200
    assert "Logged in" in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    url = http_receiver.wait(timeout=1)
    assert f"{http_receiver.redirect_uri}?code=AQBx-code&state={STATE}" == url


def test_wrong_or_missing_state_is_400_and_keeps_waiting(http_receiver):
    """Wrong, missing or duplicated state gets a 400 page; the receiver still accepts the real callback."""
    base = http_receiver.redirect_uri
    for query in (
        f"code=evil&state={STATE}x",
        "code=evil",
        f"code=evil&state={STATE}&state={STATE}",
        "state=",
    ):
        response = get(f"{base}?{query}")
        assert response.status_code == 400, query
        assert "not for the login in progress" in response.text
    with pytest.raises(CallbackTimeout):
        http_receiver.wait(timeout=0.1)
    assert get(f"{base}?code=good&state={STATE}").status_code == 200
    assert "code=good" in http_receiver.wait(timeout=1)


@pytest.mark.parametrize(
    "path", ["/favicon.ico", "/", "/callback/", "/callbackx", "/other?code=x&state=" + STATE]
)
def test_other_paths_are_404_and_do_not_end_the_wait(http_receiver, path):
    """Only the callback path is served; everything else is a 404 and consumes nothing."""
    response = get(f"http://127.0.0.1:{http_receiver.port}{path}")
    assert response.status_code == 404
    with pytest.raises(CallbackTimeout):
        http_receiver.wait(timeout=0.05)


def test_timeout_raises_callback_timeout():
    """With no callback, wait() raises CallbackTimeout after the receiver's own timeout."""
    with LoopbackReceiver("http://127.0.0.1:0/cb", state=STATE, timeout=0.2) as receiver:
        started = time.monotonic()
        with pytest.raises(CallbackTimeout) as info:
            receiver.wait()
        assert 0.2 <= time.monotonic() - started < 2
    assert "0.2 seconds" in info.value.message
    assert info.value.fix


@pytest.mark.parametrize("with_state", [True, False])
def test_denial_shows_denied_page_and_returns_the_url(http_receiver, with_state):
    """error=access_denied (with our state, or with none, as Meta may send) ends the wait with that URL."""
    query = "error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request"
    if with_state:
        query += f"&state={STATE}"
    response = get(f"{http_receiver.redirect_uri}?{query}")
    assert response.status_code == 200
    assert "Authorization not given" in response.text
    returned = parse_qs(urlsplit(http_receiver.wait(timeout=1)).query)
    assert returned["error"] == ["access_denied"]


def test_denial_with_wrong_state_is_rejected(http_receiver):
    """An error callback carrying a foreign state is refused like any other wrong state."""
    assert get(f"{http_receiver.redirect_uri}?error=access_denied&state=nope").status_code == 400


def test_first_callback_wins(http_receiver):
    """A reload after success shows the page again but does not replace the first result."""
    get(f"{http_receiver.redirect_uri}?code=first&state={STATE}")
    get(f"{http_receiver.redirect_uri}?code=second&state={STATE}")
    assert "code=first" in http_receiver.wait(timeout=1)


def test_idle_connection_does_not_block_the_callback(http_receiver):
    """A speculative browser connection that never sends a request does not stall the real one."""
    with socket.create_connection(("127.0.0.1", http_receiver.port)) as idle:
        assert idle.fileno() >= 0
        response = get(f"{http_receiver.redirect_uri}?code=c&state={STATE}")
        assert response.status_code == 200
    assert "code=c" in http_receiver.wait(timeout=1)


def test_https_with_generated_certificate(https_receiver_factory):
    """An https redirect URI is served over TLS with a fresh self-signed cert for localhost and 127.0.0.1."""
    with https_receiver_factory() as receiver:
        assert receiver.redirect_uri == f"https://localhost:{receiver.port}/ig/callback"
        assert receiver.certificate_pem is not None
        context = ssl.create_default_context(cadata=receiver.certificate_pem.decode())
        # The certificate names both loopback spellings, so either host verifies.
        for host in ("localhost", "127.0.0.1"):
            response = get(
                f"https://{host}:{receiver.port}/ig/callback?code=tls-{host}&state={STATE}", verify=context
            )
            assert response.status_code == 200
        url = receiver.wait(timeout=1)
        assert url == f"https://localhost:{receiver.port}/ig/callback?code=tls-localhost&state={STATE}"

    cert = x509.load_pem_x509_certificate(receiver.certificate_pem)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime <= timedelta(days=1, minutes=1)
    assert cert.not_valid_before_utc <= datetime.now(UTC) < cert.not_valid_after_utc


def test_https_survives_plain_http_and_failed_handshakes(https_receiver_factory):
    """A client that rejects the certificate or speaks plain HTTP does not break the receiver."""
    with https_receiver_factory() as receiver:
        with pytest.raises(httpx.ConnectError):
            get(f"{receiver.redirect_uri}?code=x&state={STATE}")  # default trust store: rejected
        with pytest.raises(httpx.HTTPError):
            get(f"http://127.0.0.1:{receiver.port}/ig/callback?code=x&state={STATE}")
        assert get(f"https://127.0.0.1:{receiver.port}/favicon.ico", verify=False).status_code == 404
        response = get(f"{receiver.redirect_uri}?code=after&state={STATE}", verify=False)
        assert response.status_code == 200
        assert "code=after" in receiver.wait(timeout=1)


def test_port_in_use_is_a_configuration_error():
    """Binding a port someone else holds fails with a ConfigurationError naming the port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiver = LoopbackReceiver(f"http://127.0.0.1:{port}/cb", state=STATE)
        with pytest.raises(ConfigurationError) as info:
            receiver.start()
        assert f"127.0.0.1:{port}" in info.value.message


def test_close_releases_the_socket():
    """After close (twice is fine), nothing listens on the port any more."""
    receiver = LoopbackReceiver("http://127.0.0.1:0/cb", state=STATE)
    receiver.start()
    port = receiver.port
    receiver.close()
    receiver.close()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_wait_from_another_thread():
    """wait() blocks until a browser (here, another thread) delivers the callback."""
    with LoopbackReceiver("http://localhost:0/cb", state=STATE, timeout=5) as receiver:
        target = f"http://127.0.0.1:{receiver.port}/cb?code=late&state={STATE}"
        sender = threading.Timer(0.1, lambda: get(target))
        sender.start()
        try:
            assert receiver.wait().endswith("code=late&state=" + STATE)
        finally:
            sender.join()


@pytest.mark.parametrize(
    "uri",
    [
        "http://example.com:0/cb",
        "ftp://127.0.0.1/cb",
        "http://127.0.0.1:0/cb?x=1",
        "http://127.0.0.1:99999/cb",
    ],
)
def test_non_loopback_redirect_uris_are_refused(uri):
    """The receiver only accepts http(s) redirect URIs on 127.0.0.1 or localhost."""
    with pytest.raises(ConfigurationError):
        LoopbackReceiver(uri, state=STATE)


def test_empty_state_is_refused():
    """A receiver without a state to check would accept anyone's code: refused."""
    with pytest.raises(ConfigurationError):
        LoopbackReceiver("http://127.0.0.1:0/cb", state="")


REDIRECT = "https://localhost:8443/ig/callback"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (f"  {REDIRECT}?code=AQB1&state=s#_\n", f"{REDIRECT}?code=AQB1&state=s"),
        (f"{REDIRECT}?code=AQB1&state=s#_=_", f"{REDIRECT}?code=AQB1&state=s"),
        (f"{REDIRECT}?code=AQB1", f"{REDIRECT}?code=AQB1"),
        (
            f"{REDIRECT}?error=access_denied&error_reason=user_denied",
            f"{REDIRECT}?error=access_denied&error_reason=user_denied",
        ),
    ],
)
def test_paste_strips_meta_suffixes(pasted, expected):
    """A pasted final URL loses whitespace and Meta's '#_' / '#_=_' and is returned for parsing."""
    assert expected == parse_pasted_url(pasted, REDIRECT)


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("AQB1secretcode", "not a URL"),
        ("https://evil.example/ig/callback?code=AQB1secretcode", "goes to https://evil.example/ig/callback"),
        ("https://localhost:8444/ig/callback?code=AQB1secretcode", "not to the redirect URI"),
        ("https://localhost:8443/ig/other?code=AQB1secretcode", "not to the redirect URI"),
        ("http://localhost:8443/ig/callback?code=AQB1secretcode", "not to the redirect URI"),
        (f"{REDIRECT}?state=AQB1secretcode", "neither a code nor an error"),
        (f"{REDIRECT}#access_token=AQB1secretcode", "after '#'"),
        ("https://localhost:xx/ig/callback?code=AQB1secretcode", "not a URL"),
    ],
)
def test_paste_rejects_other_urls_without_echoing_the_code(pasted, message):
    """A pasted URL that is not the callback is a CallbackError whose message never repeats the code."""
    with pytest.raises(CallbackError) as info:
        parse_pasted_url(pasted, REDIRECT)
    assert message in info.value.message
    assert "AQB1secretcode" not in str(info.value)
    assert REDIRECT in info.value.fix
