"""Receive the OAuth redirect on 127.0.0.1, or take the final URL pasted by hand.

:class:`LoopbackReceiver` is the browser-to-terminal bridge of ``igtoken login``
(after gh's ``cli/oauth/webapp`` and google-auth-oauthlib's ``run_local_server``):

- it binds ``127.0.0.1`` exactly once, on the redirect URI's port or on port 0, and
  reads the port back, so there is no check-then-bind race;
- it answers only the callback path; anything else (``/favicon.ico``, probes) gets a
  404 and does not end the wait;
- it compares ``state`` in constant time; a wrong or missing state gets a 400 page
  and the wait goes on, so a stray request cannot end or hijack the login;
- it hands back the whole callback URL; parsing ``code`` and ``error`` belongs to the
  core, which turns them into tokens or the right exception;
- for an ``https`` redirect URI it serves TLS with a self-signed certificate for
  127.0.0.1 and localhost, made on the fly and valid for one day (Meta requires https
  redirect URIs; the browser warns once about the certificate).

Each connection is handled on its own thread with a short socket timeout, because
browsers open speculative connections they never use, and a one-connection server
would sit waiting on one of those while the real redirect queues behind it.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import queue
import socket
import ssl
import tempfile
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

from igtoken.core.exceptions import CallbackError, CallbackTimeout, ConfigurationError

__all__ = [
    "DENIED_HTML",
    "SUCCESS_HTML",
    "LoopbackReceiver",
    "parse_pasted_url",
]

logger = logging.getLogger(__name__)

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost"})
#: Seconds a connection may sit idle before its thread drops it.
_CONNECTION_TIMEOUT: Final = 5.0


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{title}</title>"
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto">'
        f"<h1>{title}</h1><p>{body}</p></body></html>"
    )


SUCCESS_HTML: Final = _page("Logged in", "igtoken received the authorization. You can close this tab.")
DENIED_HTML: Final = _page(
    "Authorization not given", "Instagram did not authorize igtoken. Return to the terminal for details."
)
_INCOMPLETE_HTML: Final = _page("Something went wrong", "Return to the terminal for details.")
_WRONG_STATE_HTML: Final = _page(
    "This link is not for the login in progress",
    "The state does not match. Start the login again from the terminal.",
)
_NOT_FOUND_HTML: Final = _page("Not found", "This address only receives igtoken's login redirect.")


class LoopbackReceiver:
    """A one-shot HTTP(S) server on 127.0.0.1 that waits for the OAuth redirect.

    Use it as a context manager::

        with LoopbackReceiver("http://127.0.0.1:0/callback", state=state) as receiver:
            url = build_authorize_url(redirect_uri=receiver.redirect_uri, state=state)
            open_in_browser(url)
            callback_url = receiver.wait()

    Args:
        redirect_uri: the registered redirect URI; its host must be ``127.0.0.1`` or
            ``localhost``. Port 0 picks a free port (see :attr:`redirect_uri`); an
            ``https`` scheme serves TLS with a fresh self-signed certificate.
        state: the ``state`` sent in the authorize URL; callbacks must carry it.
        timeout: seconds :meth:`wait` waits before raising ``CallbackTimeout``.
        success_html: the page shown after a ``code`` arrives.
        denied_html: the page shown after an ``error`` arrives.

    Raises:
        ConfigurationError: the redirect URI is not a loopback http(s) URI.
    """

    def __init__(
        self,
        redirect_uri: str,
        *,
        state: str,
        timeout: float = 300.0,
        success_html: str = SUCCESS_HTML,
        denied_html: str = DENIED_HTML,
    ) -> None:
        parts = _split_loopback_uri(redirect_uri)
        if not state:
            raise ConfigurationError(
                "the loopback receiver needs a non-empty state", fix="pass the state you sent"
            )
        self._scheme = parts.scheme
        self._hostname = parts.hostname or "127.0.0.1"
        self._requested_port = (
            parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
        )
        self._path = parts.path or "/"
        self._state = state.encode()
        self.timeout = timeout
        self._success_html = success_html.encode()
        self._denied_html = denied_html.encode()
        self._results: queue.Queue[str] = queue.Queue(maxsize=1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._certificate_pem: bytes | None = None
        self._port: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1 and start serving in a background thread.

        Raises:
            ConfigurationError: the port is taken or cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the loopback receiver is already started")
        context = self._tls_context() if self._scheme == "https" else None
        try:
            server = _Server(("127.0.0.1", self._requested_port), _Handler, receiver=self, tls=context)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on 127.0.0.1:{self._requested_port} for the login redirect: {exc.strerror}",
                fix="stop whatever uses that port, or register a loopback redirect URI with another port",
            ) from exc
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="igtoken-loopback", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> LoopbackReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what the caller needs --------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port actually bound (the chosen one when the redirect URI said 0); kept after close."""
        if self._port is None:
            raise RuntimeError("start the loopback receiver first")
        return self._port

    @property
    def redirect_uri(self) -> str:
        """The redirect URI with the bound port: put exactly this in the authorize URL."""
        default = 443 if self._scheme == "https" else 80
        netloc = self._hostname if self.port == default else f"{self._hostname}:{self.port}"
        return urlunsplit((self._scheme, netloc, self._path, "", ""))

    @property
    def certificate_pem(self) -> bytes | None:
        """The self-signed certificate served over https (PEM), or ``None`` for http."""
        return self._certificate_pem

    def wait(self, timeout: float | None = None) -> str:
        """Block until a callback with the right state arrives; return its full URL.

        The URL is :attr:`redirect_uri` plus the callback's query string; parse it
        with the core's callback parser (which raises on ``error=…``).

        Raises:
            CallbackTimeout: nothing arrived within ``timeout`` (default: :attr:`timeout`).
        """
        if self._server is None:
            raise RuntimeError("start the loopback receiver first")
        seconds = self.timeout if timeout is None else timeout
        try:
            return self._results.get(timeout=seconds)
        except queue.Empty:
            raise CallbackTimeout(
                f"no login redirect arrived within {seconds:g} seconds",
                fix="run the login again and finish it in the browser, or use --no-browser and paste the URL",
            ) from None

    # -- request handling (called on handler threads) ----------------------------------------

    def _respond_to(self, raw_path: str) -> tuple[int, bytes]:
        parts = urlsplit(raw_path)
        if parts.path != self._path:
            return 404, _NOT_FOUND_HTML.encode()
        query = parse_qs(parts.query, keep_blank_values=True)
        if not self._state_ok(query):
            return 400, _WRONG_STATE_HTML.encode()
        url = urlunsplit(urlsplit(self.redirect_uri)._replace(query=parts.query))
        # A reload of the same page finds the queue full: the first callback is the one that counts.
        with contextlib.suppress(queue.Full):
            self._results.put_nowait(url)
        if "error" in query:
            return 200, self._denied_html
        if "code" in query:
            return 200, self._success_html
        return 200, _INCOMPLETE_HTML.encode()

    def _state_ok(self, query: Mapping[str, list[str]]) -> bool:
        states = query.get("state", [])
        if not states:
            # Meta may leave ``state`` off an error redirect. Accepting it can only end the
            # login with an error, never complete it, so it cannot be used to plant a code.
            return "error" in query and "code" not in query
        if len(states) != 1:
            return False
        return hmac.compare_digest(states[0].encode(), self._state)

    def _tls_context(self) -> ssl.SSLContext:
        cert_pem, key_pem = _self_signed_certificate(datetime.now(UTC))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain reads files only; the directory is private and removed at once.
        with tempfile.TemporaryDirectory(prefix="igtoken-tls-") as tmp:
            cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert_file.write_bytes(cert_pem)
            key_file.touch(mode=0o600)
            key_file.write_bytes(key_pem)
            context.load_cert_chain(cert_file, key_file)
        self._certificate_pem = cert_pem
        return context


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for idle speculative browser connections when closing.
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        receiver: LoopbackReceiver,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.receiver = receiver
        self.tls = tls
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs here, on the connection's own thread, so a client that
        # connects and never speaks cannot stall the accept loop.
        request.settimeout(_CONNECTION_TIMEOUT)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            logger.debug("TLS handshake failed: %s", exc)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            with contextlib.suppress(OSError):
                wrapped.shutdown(socket.SHUT_RDWR)
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a dropped browser connection is not news.
        logger.debug("loopback connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = _CONNECTION_TIMEOUT
    server_version = "igtoken"
    sys_version = ""

    def do_GET(self) -> None:
        status, body = self.server.receiver._respond_to(self.path)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # The callback URL carries the code: never let it leak through a Referer.
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line, code included, to stderr.
        pass


def _split_loopback_uri(redirect_uri: str) -> SplitResult:
    fix = "use a redirect URI like http://127.0.0.1:0/callback or https://localhost:8443/callback"
    try:
        parts = urlsplit(redirect_uri)
        parts.port  # noqa: B018 -- property access validates the port
    except ValueError:
        raise ConfigurationError(f"the redirect URI {redirect_uri!r} is not a valid URL", fix=fix) from None
    if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK_HOSTS:
        raise ConfigurationError(
            f"the redirect URI {redirect_uri!r} is not a loopback http(s) URI",
            fix=fix + "; otherwise paste the final URL by hand",
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"the redirect URI {redirect_uri!r} must not have a query or fragment", fix=fix
        )
    return parts


def _self_signed_certificate(now: datetime) -> tuple[bytes, bytes]:
    """A P-256 certificate for 127.0.0.1 and localhost, valid from a minute ago for one day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "igtoken loopback")])
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def parse_pasted_url(text: str, redirect_uri: str) -> str:
    """Check a final URL pasted from the browser and return it cleaned for the callback parser.

    Strips surrounding whitespace and the ``#_`` / ``#_=_`` Meta appends, then checks
    the URL goes to ``redirect_uri`` (scheme, host, port and path) and carries a
    ``code`` or an ``error``. ``state`` is left to the callback parser.

    Raises:
        CallbackError: the text is not the callback URL, or it lacks code and error.
            The message never repeats the query, which holds the code.
    """
    url = text.strip()
    for suffix in ("#_=_", "#_", "#"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    expected = urlsplit(redirect_uri)
    where = urlunsplit((expected.scheme, expected.netloc, expected.path, "", ""))
    fix = f"paste the whole address from the browser's address bar; it starts with {where}?"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackError("the pasted text is not a URL", fix=fix) from None
    if not parts.scheme or not parts.netloc:
        raise CallbackError("the pasted text is not a URL", fix=fix)
    if parts.fragment:
        raise CallbackError("the pasted URL carries its result after '#', not in a ?code= query", fix=fix)
    defaults = {"http": 80, "https": 443}
    same_place = (
        parts.scheme.lower() == expected.scheme.lower()
        and (parts.hostname or "") == (expected.hostname or "")
        and (port or defaults.get(parts.scheme.lower()))
        == (expected.port or defaults.get(expected.scheme.lower()))
        and (parts.path or "/") == (expected.path or "/")
    )
    if not same_place:
        got = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        raise CallbackError(f"the pasted URL goes to {got}, not to the redirect URI {where}", fix=fix)
    query = parse_qs(parts.query, keep_blank_values=True)
    if "code" not in query and "error" not in query:
        raise CallbackError("the pasted URL has neither a code nor an error", fix=fix)
    return url
