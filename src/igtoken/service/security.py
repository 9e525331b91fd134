"""Dashboard sessions, sign-in and CSRF, with nothing but the standard library's ``hmac``.

The session lives in one signed cookie, so any number of instances sharing
``session_secret`` accept it: ``v1.<payload>.<mac>``, the payload base64url JSON,
the MAC HMAC-SHA256 over ``v1.<payload>``. Every visitor gets a session on first
need, even before signing in, so the sign-in form has a CSRF token too; signing in
or out starts a new session with a new token.

Two things end a signed-in session before its cookie expires. Signing out records
the session's random id with :class:`~igtoken.service.interfaces.SessionRevocations`
(the vault, shared by every instance), and a cookie naming a recorded id is refused,
so a copy taken before sign-out stops working. And the cookie carries a fingerprint
of the admin password it signed in with: after a password change every session
signed in with the old one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from igtoken.core.exceptions import AuthenticationError, ForbiddenError
from igtoken.core.secret import Secret
from igtoken.service.asgi import HTTPMiddleware

if TYPE_CHECKING:
    from igtoken.service.interfaces import SessionRevocations

log = logging.getLogger("igtoken.service.security")

_VERSION: Final = "v1"
_SCOPE_KEY: Final = "igtoken.session"
#: The form field every POST form carries.
CSRF_FIELD: Final = "csrf_token"
#: The one dashboard user; the field exists so audit events can name who acted.
ADMIN_USER: Final = "admin"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(slots=True)
class Session:
    """One browser's session: its CSRF token, who signed in (if anyone), and pending notices."""

    csrf: str
    issued_at: int
    user: str | None = None
    flashes: list[tuple[str, str]] = field(default_factory=list)
    #: A random id, what sign-out revokes server-side.
    sid: str = ""

    @classmethod
    def fresh(cls, now: int, user: str | None = None) -> Session:
        """A new session with a new CSRF token and a new id."""
        return cls(csrf=secrets.token_urlsafe(32), issued_at=now, user=user, sid=secrets.token_urlsafe(18))


class InMemorySessionRevocations:
    """:class:`~igtoken.service.interfaces.SessionRevocations` for one process (no vault wired in)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._until: dict[str, float] = {}
        self._clock = clock

    async def revoke(self, session_id: str, *, until: datetime) -> None:
        """Refuse ``session_id`` until ``until``."""
        now = self._clock()
        self._until = {sid: t for sid, t in self._until.items() if t > now}
        self._until[session_id] = until.timestamp()

    async def is_revoked(self, session_id: str) -> bool:
        """Whether ``session_id`` was revoked."""
        return self._until.get(session_id, 0.0) > self._clock()


class SessionCodec:
    """Turns a :class:`Session` into a signed cookie value and back."""

    def __init__(self, secret: Secret, *, max_age: int, secure: bool, password: Secret | None = None) -> None:
        self._key = hashlib.sha256(b"igtoken-session\x00" + secret.reveal().encode()).digest()
        self.max_age = max_age
        self.secure = secure
        # Which admin password a signed-in session signed in with (a MAC, so it tells nothing about it).
        self._password_mark = (
            "" if password is None else self._mac(b"admin-password\x00" + password.reveal().encode())[:22]
        )
        # __Host- binds the cookie to this exact origin (no Domain, Path=/), which only Secure allows.
        self.cookie_name = "__Host-igtoken_session" if secure else "igtoken_session"

    def _mac(self, signed: bytes) -> str:
        return _b64encode(hmac.new(self._key, signed, hashlib.sha256).digest())

    def dumps(self, session: Session) -> str:
        """The cookie value for ``session``."""
        data = {
            "c": session.csrf,
            "i": session.issued_at,
            "u": session.user,
            "f": session.flashes,
            "s": session.sid,
            "p": self._password_mark if session.user is not None else "",
        }
        payload = _b64encode(json.dumps(data, separators=(",", ":")).encode())
        signed = f"{_VERSION}.{payload}"
        return f"{signed}.{self._mac(signed.encode())}"

    def loads(self, value: str, *, now: int) -> Session | None:
        """The session in a cookie value, or ``None`` if it is forged, malformed or too old."""
        try:
            version, payload, mac = value.split(".")
        except ValueError:
            return None
        if version != _VERSION or not hmac.compare_digest(mac, self._mac(f"{version}.{payload}".encode())):
            return None
        try:
            data: dict[str, Any] = json.loads(_b64decode(payload))
            session = Session(
                csrf=str(data["c"]),
                issued_at=int(data["i"]),
                user=None if data["u"] is None else str(data["u"]),
                flashes=[(str(level), str(text)) for level, text in data.get("f", [])],
                sid=str(data.get("s") or ""),
            )
            mark = str(data.get("p") or "")
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= now - session.issued_at <= self.max_age:
            return None
        if session.user is not None and (
            not session.sid or not hmac.compare_digest(mark, self._password_mark)
        ):
            return None  # signed in before sessions had ids, or with a password that has changed since
        return session

    def expires_at(self, session: Session) -> datetime:
        """When ``session``'s cookie stops being accepted anyway."""
        return datetime.fromtimestamp(session.issued_at + self.max_age, UTC)

    def set_cookie_header(self, session: Session | None) -> str:
        """A ``Set-Cookie`` value storing ``session``, or expiring the cookie when ``None``."""
        value = "" if session is None else self.dumps(session)
        max_age = 0 if session is None else self.max_age
        parts = [f"{self.cookie_name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


class SessionHolder:
    """The session of one request, loaded lazily and written back only if it changed."""

    def __init__(self, codec: SessionCodec, loaded: Session | None, now: int) -> None:
        self._codec = codec
        self._session = loaded
        self._now = now
        self.dirty = False

    @property
    def exists(self) -> bool:
        """Whether the browser sent a valid session (or one was started in this request)."""
        return self._session is not None

    def get(self) -> Session:
        """The session, started now if the browser had none."""
        if self._session is None:
            self._session = Session.fresh(self._now)
            self.dirty = True
        return self._session

    def peek(self) -> Session | None:
        """The session if there is one, without starting one."""
        return self._session

    def restart(self, user: str | None) -> Session:
        """Replace the session (sign-in, sign-out) so no token from before survives."""
        self._session = Session.fresh(self._now, user)
        self.dirty = True
        return self._session

    def flash(self, level: str, text: str) -> None:
        """Queue a notice for the next page this browser sees."""
        self.get().flashes.append((level, text))
        self.dirty = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        """Take the queued notices (rendering a page shows them once)."""
        session = self._session
        if session is None or not session.flashes:
            return []
        flashes, session.flashes = session.flashes, []
        self.dirty = True
        return flashes

    def cookie(self) -> str:
        """The ``Set-Cookie`` value for the current session."""
        return self._codec.set_cookie_header(self._session)


class SessionMiddleware(HTTPMiddleware):
    """Loads the session cookie into the request scope and writes it back when it changed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        codec: SessionCodec,
        clock: Callable[[], float],
        revocations: SessionRevocations | None = None,
    ) -> None:
        self.app = app
        self.codec = codec
        self.clock = clock
        self.revocations = revocations

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = int(self.clock())
        loaded = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                raw = cookie_parser(value.decode("latin-1")).get(self.codec.cookie_name)
                if raw:
                    loaded = self.codec.loads(raw, now=now)
                break
        if loaded is not None and loaded.user is not None and await self._revoked(loaded):
            loaded = None
        holder = SessionHolder(self.codec, loaded, now)
        scope[_SCOPE_KEY] = holder

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and holder.dirty:
                MutableHeaders(scope=message).append("set-cookie", holder.cookie())
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _revoked(self, session: Session) -> bool:
        if self.revocations is None:
            return False
        try:
            return await self.revocations.is_revoked(session.sid)
        except Exception as exc:
            # Fail closed: when it cannot be told whether the session was ended, it is not trusted.
            log.warning(
                "could not check the session against sign-outs", extra={"error_class": type(exc).__name__}
            )
            return True


def maybe_session_of(request: Request) -> SessionHolder | None:
    """The session holder of this request, or ``None`` outside the session middleware (error pages)."""
    holder = request.scope.get(_SCOPE_KEY)
    return holder if isinstance(holder, SessionHolder) else None


def session_of(request: Request) -> SessionHolder:
    """The session holder the middleware put on this request."""
    holder = maybe_session_of(request)
    if holder is None:
        raise RuntimeError("SessionMiddleware is not installed")
    return holder


def password_matches(given: str, expected: Secret) -> bool:
    """Compare in constant time; hashing first hides the expected length too."""
    given_digest = hashlib.sha256(given.encode()).digest()
    expected_digest = hashlib.sha256(expected.reveal().encode()).digest()
    return hmac.compare_digest(given_digest, expected_digest)


def signed_in_user(request: Request) -> str | None:
    """Who is signed in on this request, if anyone."""
    session = session_of(request).peek()
    return None if session is None else session.user


async def require_admin(request: Request) -> str:
    """Dependency for dashboard routes: pages redirect to sign-in, form posts get 401."""
    user = signed_in_user(request)
    if user is not None:
        return user
    if request.method in ("GET", "HEAD"):
        target = request.url.path
        raise HTTPException(303, "sign in first", headers={"Location": f"/signin?next={target}"})
    raise AuthenticationError("sign in to the dashboard first", fix="open /signin and sign in")


async def require_csrf(request: Request) -> None:
    """Dependency for every POST form: its ``csrf_token`` must match the session's, in constant time."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    session = session_of(request).peek()
    if session is None or not isinstance(sent, str) or not sent:
        raise ForbiddenError("the form carried no valid CSRF token", fix="reload the page and submit again")
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise ForbiddenError("the form's CSRF token does not match", fix="reload the page and submit again")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path on this site, never an open redirect."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return "/dashboard"
