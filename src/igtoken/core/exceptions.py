"""Every error igtoken raises, in one tree.

::

    IGTokenError                           base of everything igtoken raises
    ├── ConfigurationError (ValueError)    bad app id, secret, redirect URI, scope, key material
    │   ├── ScopeError                     a scope name from the wrong product or a retired API
    │   └── AmbiguousError                 a name matches several accounts or apps: say which (CLI: 2)
    ├── TransportError                     the network failed talking to Meta                  retryable
    │   └── RequestTimeout (TimeoutError)                                                      retryable
    ├── APIError                           Meta answered with an error body (wire fields as attributes)
    │   ├── InvalidRequestError            code 100, 101 and the OAuth host's messages: fix the request
    │   │   └── InvalidGrantError          the code is unknown, used, expired or its redirect_uri differs
    │   ├── NeedsReauthorizationError      190 (any subcode), 102: the token is dead; a LoginRequiredError
    │   ├── PermissionDeniedError          3, 10, 200–299: a permission is missing or not granted
    │   ├── ThrottledError                 4, 17, 32, 341, 613, 80000–80014: wait ``retry_after``   retryable
    │   └── TransientError                 1, 2 and 5xx without a known code                       retryable
    ├── LoginRequiredError                 the person must log in again, whoever found out: catch this one
    │   ├── NeedsReauthorizationError      (an APIError too) Meta said so: 190 or 102
    │   └── TokenExpiredError              (a RefreshError too) the expiry passed; nothing was sent
    ├── UnexpectedResponseError            a 2xx whose body lacks what Meta documents
    ├── AuthorizationError                 the browser leg of the flow
    │   ├── AuthorizationDenied            the callback carried ``error=access_denied``
    │   │   ├── DevelopmentModeError       Facebook's ``error_code=200``: app in development mode, no role
    │   │   └── PersonalAccountError       a personal account: the Instagram API needs Business or Creator
    │   ├── PermissionsDeclinedError       a permission the login needs was declined or not granted
    │   ├── CallbackError (ValueError)     the callback URL is malformed or lacks a code
    │   ├── StateMismatchError             the ``state`` did not match the one we sent
    │   └── CallbackTimeout (TimeoutError) the loopback receiver got nothing in time
    ├── RefreshError                       a lifecycle rule is broken, found before any request
    │   ├── TokenTooNewError               a long-lived token under 24 hours old
    │   └── TokenExpiredError              already expired; also a LoginRequiredError
    ├── StorageError                       the vault could not do what was asked
    │   ├── NotFoundError (LookupError)    no such app, account, token, link or key
    │   │   └── NotConnectedError          no account is connected yet: log in first (CLI: 3)
    │   ├── ConflictError                  a uniqueness rule or a lease held by someone else
    │   ├── DecryptionError                tampered ciphertext or wrong associated data
    │   ├── MissingKeyError                a row is encrypted under a key id we do not have
    │   └── DatabaseUnavailableError       the database cannot be used now (unreachable, I/O error)
    │       ├── DatabaseLockedError        another process holds the SQLite file's lock         retryable
    │       ├── DatabaseCorruptError       the file is not a SQLite database, or it is damaged
    │       └── DatabaseRefusedError       the server refused the credentials, or has no such database
    ├── SignedRequestError (ValueError)    Meta's ``signed_request`` did not verify
    │   ├── MalformedSignedRequest         not ``<sig>.<payload>``, bad base64url or JSON
    │   ├── UnsupportedAlgorithm           an algorithm other than HMAC-SHA256
    │   ├── InvalidSignature               the HMAC does not match
    │   └── StaleSignedRequest             ``issued_at`` is too far from now
    ├── AccessError                        igtoken's own service refused a caller
    │   ├── AuthenticationError            no, unknown or revoked API key or admin credential
    │   ├── ForbiddenError                 a caller may not do this (API key scope, CSRF, signature)
    │   └── RateLimitedError               too many requests from one client: wait ``retry_after``
    └── WebhookSignatureError (ValueError) an igtoken webhook did not verify (raised to receivers)
        ├── MalformedSignatureHeader       header missing, too long, or without ``t=`` and ``v1=``
        ├── SignatureMismatch              no ``v1`` matches the raw body under the secret
        ├── StaleSignature                 ``t`` is too far from now
        └── ReplayedSignature              this exact signature was accepted before

Two classes have two parents: :class:`NeedsReauthorizationError` (Meta answered 190 or 102)
and :class:`TokenExpiredError` (igtoken saw the expiry pass before sending anything) are both
:class:`LoginRequiredError`, so one ``except LoginRequiredError`` handles every "the person must
log in again", whichever side found it. :class:`PersonalAccountError` is an
:class:`AuthorizationDenied`: Meta refuses a personal account in the callback, and igtoken
raises it the same way when ``/me`` says ``PERSONAL``.

``retryable`` is a class attribute: the retry policy reads it, never the class name,
so adding a subclass never silently changes what is retried. Messages never contain
a token or a secret; URLs are redacted before they are put into one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from datetime import datetime

    from igtoken.core.usage import Usage


class IGTokenError(Exception):
    """Base class of every error igtoken raises."""

    retryable: ClassVar[bool] = False
    #: A hint for humans: what to do next. Empty when the message says it all.
    fix: str = ""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        if fix:
            self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message


class ConfigurationError(IGTokenError, ValueError):
    """The configuration cannot work: a bad app id, secret, redirect URI, scope or key."""


class ScopeError(ConfigurationError):
    """A scope name belongs to another product or to a retired API."""

    def __init__(self, message: str, *, scope: str, replacement: str | None, fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.scope = scope
        self.replacement = replacement


class AmbiguousError(ConfigurationError):
    """A name matches several accounts or apps: the caller must say which (the CLI's usage error, 2)."""


class TransportError(IGTokenError):
    """The network failed while talking to Meta; the request may be retried."""

    retryable = True


class RequestTimeout(TransportError, TimeoutError):
    """Meta did not answer in time."""


class APIError(IGTokenError):
    """Meta answered with an error body.

    The wire fields are kept as attributes so that callers can log them and
    match on them; classification into subclasses uses ``code`` and
    ``error_subcode``, never the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        error_subcode: int | None = None,
        error_type: str | None = None,
        fbtrace_id: str | None = None,
        usage: Usage | None = None,
        fix: str = "",
    ) -> None:
        super().__init__(message, fix=fix)
        self.status_code = status_code
        self.code = code
        self.error_subcode = error_subcode
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.usage = usage


class InvalidRequestError(APIError):
    """The request itself is wrong (code 100, 101, the OAuth host's 400s): fix it, do not retry."""


class InvalidGrantError(InvalidRequestError):
    """The authorization code is unknown, already used, expired, or bound to another redirect URI."""


class LoginRequiredError(IGTokenError):
    """The person must log in again: the token is dead, whether Meta said so or igtoken saw it expire.

    Catch this one class for every such case; its two subclasses say who found out
    (:class:`NeedsReauthorizationError`: Meta, with its wire fields;
    :class:`TokenExpiredError`: igtoken, before sending anything).
    """


class NeedsReauthorizationError(APIError, LoginRequiredError):
    """The token is expired, revoked or invalidated (190, 102): the account must log in again."""


class PermissionDeniedError(APIError):
    """A permission the call needs is missing or was not granted (3, 10, 200–299)."""


class ThrottledError(APIError):
    """Meta throttled the app or the account; ``retry_after`` seconds is Meta's own hint, if any."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TransientError(APIError):
    """A temporary fault on Meta's side (1, 2, 5xx): retry with backoff."""

    retryable = True


class UnexpectedResponseError(IGTokenError):
    """A successful response whose body lacks what Meta documents."""


class AuthorizationError(IGTokenError):
    """The browser leg of the flow failed."""


class AuthorizationDenied(AuthorizationError):
    """The person refused, or Meta refused for them: the callback carried ``error=…``."""

    def __init__(self, message: str, *, error: str, reason: str | None, description: str | None) -> None:
        super().__init__(message)
        self.error = error
        self.reason = reason
        self.description = description


class DevelopmentModeError(AuthorizationDenied):
    """Facebook refused the login with ``error_code=200`` ("Permissions error").

    Meta answers so when the app is in development mode and the person has no role on it
    (administrator, developer or tester): the dialog completes, then the redirect carries the error.
    """


class PermissionsDeclinedError(AuthorizationError):
    """A permission the login needs was declined in the dialog or is otherwise not granted.

    ``permissions`` are the required ones missing, ``declined`` those of them the person
    declined (``/me/permissions`` says ``status: declined``). Declined permissions are asked
    for again only when the dialog URL carries ``auth_type=rerequest`` (``rerequest=True``).
    """

    def __init__(
        self, message: str, *, permissions: tuple[str, ...], declined: tuple[str, ...] = (), fix: str = ""
    ) -> None:
        super().__init__(message, fix=fix)
        self.permissions = permissions
        self.declined = declined


class CallbackError(AuthorizationError, ValueError):
    """The callback URL is malformed or carries neither a code nor an error."""


class StateMismatchError(AuthorizationError):
    """The ``state`` in the callback is not the one that was sent: possible CSRF."""


class PersonalAccountError(AuthorizationDenied):
    """The account is a personal one; the Instagram API serves only Business and Creator accounts.

    Raised for the callback Meta sends when a personal account tries Instagram Login
    (``error=access_denied`` whose description asks for a professional account), and
    when ``/me`` says ``account_type=PERSONAL``. ``fix`` says how to switch.
    """

    def __init__(
        self,
        message: str,
        *,
        fix: str = "",
        error: str = "access_denied",
        reason: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message, error=error, reason=reason, description=description)
        if fix:
            self.fix = fix


class CallbackTimeout(AuthorizationError, TimeoutError):
    """No callback arrived in time."""


class RefreshError(IGTokenError):
    """A refresh would break one of Meta's lifecycle rules; nothing was sent."""


class TokenTooNewError(RefreshError):
    """Meta refreshes a long-lived token only once it is at least 24 hours old.

    ``refreshable_at`` says when it becomes refreshable, if known.
    """

    def __init__(self, message: str, *, fix: str = "", refreshable_at: datetime | None = None) -> None:
        super().__init__(message, fix=fix)
        self.refreshable_at = refreshable_at


class TokenExpiredError(RefreshError, LoginRequiredError):
    """The token has expired; only a new login gives a new one. ``expired_at`` says when, if known."""

    def __init__(self, message: str, *, fix: str = "", expired_at: datetime | None = None) -> None:
        super().__init__(message, fix=fix)
        self.expired_at = expired_at


class StorageError(IGTokenError):
    """The vault could not do what was asked."""


class NotFoundError(StorageError, LookupError):
    """No such app, account, token, link or key."""


class NotConnectedError(NotFoundError):
    """No account is connected yet, so there is nothing to act on: log in first (the CLI exits 3)."""


class ConflictError(StorageError):
    """A uniqueness rule was hit, or a lease is held by another worker."""


class DecryptionError(StorageError):
    """A ciphertext did not authenticate: tampered, or moved to another row."""


class MissingKeyError(StorageError):
    """A row is encrypted under a key id that is not configured."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"no encryption key with id {key_id!r} is configured",
            fix=f"add key {key_id!r} to IGTOKEN_KEYS or the key file",
        )
        self.key_id = key_id


class DatabaseUnavailableError(StorageError):
    """The database cannot be used right now: unreachable, read-only, an I/O error, locked or damaged.

    The service answers 503 with ``Retry-After``; the CLI exits 5 with the fix.
    """


class DatabaseLockedError(DatabaseUnavailableError):
    """Another process held the SQLite file's lock for longer than the busy timeout."""

    retryable = True


class DatabaseCorruptError(DatabaseUnavailableError):
    """The database file is not a SQLite database, or its pages are damaged."""


class DatabaseRefusedError(DatabaseUnavailableError):
    """The database server answered but refused us: wrong user or password, no such database.

    A setting to fix, not an outage: waiting does not help, so workers exit at once.
    """


class SignedRequestError(IGTokenError, ValueError):
    """Meta's ``signed_request`` did not verify."""


class MalformedSignedRequest(SignedRequestError):
    """Not ``<signature>.<payload>``, or bad base64url, or bad JSON."""


class UnsupportedAlgorithm(SignedRequestError):
    """The payload names an algorithm other than HMAC-SHA256."""


class InvalidSignature(SignedRequestError):
    """The HMAC-SHA256 over the payload does not match the signature."""


class StaleSignedRequest(SignedRequestError):
    """``issued_at`` is too far in the past or the future."""


class AccessError(IGTokenError):
    """igtoken's own service refused a caller; Meta was not asked."""


class AuthenticationError(AccessError):
    """The caller did not prove who it is: no, unknown or revoked API key or admin credential."""


class ForbiddenError(AccessError):
    """The caller may not do this: an API key's scope, a CSRF check or a signature says no."""


class RateLimitedError(AccessError):
    """Too many requests from one client; ``retry_after`` seconds until the next one is allowed."""

    def __init__(self, message: str, *, retry_after: float, fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.retry_after = retry_after


class WebhookSignatureError(IGTokenError, ValueError):
    """A webhook igtoken sent did not verify; raised by ``igtoken.notify.verify`` in receivers."""


class MalformedSignatureHeader(WebhookSignatureError):
    """The signature header is missing, too long, or lacks ``t=<unix>`` and ``v1=<hex>``."""


class SignatureMismatch(WebhookSignatureError):
    """No ``v1`` signature matches the raw body under the configured secret(s)."""


class StaleSignature(WebhookSignatureError):
    """The signed timestamp is further from now than the tolerance allows."""


class ReplayedSignature(WebhookSignatureError):
    """The exact same signed request was accepted before: a replay."""
