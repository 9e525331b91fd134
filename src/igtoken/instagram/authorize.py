"""The browser leg of Instagram Login: the authorize URL, the CSRF state, and the callback.

Pure: the only input besides arguments is :func:`secrets.token_urlsafe` for
fresh states.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from igtoken.core.config import AppCredentials
from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import (
    AuthorizationDenied,
    CallbackError,
    ConfigurationError,
    DevelopmentModeError,
    PersonalAccountError,
    StateMismatchError,
)
from igtoken.core.secret import Secret
from igtoken.instagram.scopes import DEFAULT_SCOPES, check_scopes

#: Facebook's ``error_code`` on a dialog redirect when the app is in development mode and the
#: person has no role on it (the dialog completes, then reports "Permissions error").
FACEBOOK_DEVELOPMENT_MODE_CODE: Final = "200"
DEVELOPMENT_MODE_FIX: Final = (
    "the Meta app is in development mode and this person has no role on it: add them under "
    "App roles > Roles (administrator, developer or tester, who must accept the invitation), "
    "or switch the app to Live in the app dashboard"
)

#: How a personal account becomes one the Instagram API serves.
SWITCH_TO_PROFESSIONAL: Final = (
    "in the Instagram app open Settings and activity > Account type and tools > Switch to professional "
    "account, choose Creator or Business, then log in again"
)
# Words in the denial Meta sends when a personal account tries Instagram Login.
_PERSONAL_ACCOUNT_MARKERS: Final = ("professional", "business or creator", "personal account")

#: Bytes of randomness in a state from :func:`new_state` (256 bits).
STATE_BYTES: Final = 32
_MAX_CALLBACK_LEN: Final = 16_384
# Meta's codes are base64url-ish; anything outside visible ASCII is not a code.
_CODE = re.compile(r"[\x21-\x7e]{1,2048}")
# The fragments Instagram (#_) and Facebook (#_=_) append to redirects, when they
# end up inside a copied value instead of after it.
_FRAGMENT_SUFFIXES: Final = ("#_=_", "#_")


def new_state() -> str:
    """Return a fresh, unguessable ``state`` value (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(STATE_BYTES)


def states_match(expected: str, received: str | None) -> bool:
    """Compare two states in constant time; ``False`` if ``received`` is missing or empty."""
    if not received or not expected:
        return False
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), received.encode("utf-8", "surrogatepass")
    )


def authorization_url(
    app: AppCredentials,
    *,
    state: str,
    scopes: str | Iterable[str] = DEFAULT_SCOPES,
    endpoints: Endpoints | None = None,
    force_reauth: bool = False,
    enable_fb_login: bool | None = None,
) -> str:
    """Build the Instagram Login authorize URL to send the person's browser to.

    Scopes are checked against the Instagram Login set first (see
    :func:`~igtoken.check_scopes`) and sent comma-joined, as Meta's own examples
    do. ``force_reauth`` makes Instagram ask for credentials again (the parameter
    the dashboard's embed URL uses since 2026); ``enable_fb_login`` sets whether
    a person may log in through a linked Facebook account (omitted when ``None``).
    """
    if not isinstance(state, str) or not state or not state.isascii() or not state.isprintable():
        raise ConfigurationError("state must be a non-empty printable ASCII string", fix="use new_state()")
    checked = check_scopes(scopes)
    params: list[tuple[str, str]] = []
    if force_reauth:
        params.append(("force_reauth", "true"))
    params += [
        ("client_id", app.app_id),
        ("redirect_uri", app.redirect_uri),
        ("response_type", "code"),
        ("scope", ",".join(checked)),
        ("state", state),
    ]
    if enable_fb_login is not None:
        params.append(("enable_fb_login", "1" if enable_fb_login else "0"))
    # quote_via=quote: spaces as %20, and ',' left readable the way Meta writes scope lists.
    query = urlencode(params, safe=",", quote_via=quote)
    return f"{(endpoints or Endpoints()).authorize}?{query}"


@dataclass(frozen=True, slots=True)
class Callback:
    """What a successful redirect back from Instagram carried."""

    #: The single-use authorization code (valid one hour), without Meta's ``#_`` suffix.
    code: Secret
    state: str | None = None


def _strip_fragment_suffix(code: str) -> str:
    for suffix in _FRAGMENT_SUFFIXES:
        if code.endswith(suffix):
            return code[: -len(suffix)]
    return code


def _query_of(value: str) -> str:
    value = value.strip()
    if "://" in value or value.startswith("/"):
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise CallbackError(f"the callback URL does not parse: {exc}") from None
        return parts.query
    # A bare query string, with or without its '?'; drop any fragment ourselves.
    return value.removeprefix("?").split("#", 1)[0]


def parse_callback(url_or_query: str, *, expected_state: str | None = None) -> Callback:
    """Read the redirect Instagram sent back: a full URL, a path with query, or the query string alone.

    Returns the code (Meta's trailing ``#_`` stripped). Raises
    :class:`AuthorizationDenied` for ``error=…`` callbacks (its subclass
    :class:`DevelopmentModeError` for Facebook's ``error_code=200``, and
    :class:`PersonalAccountError` when the denial says a professional account is needed),
    :class:`CallbackError` when there is neither a usable code nor an error, and, when
    ``expected_state`` is given, :class:`StateMismatchError` unless the callback
    carries exactly that state.
    """
    if not isinstance(url_or_query, str):
        raise CallbackError(f"the callback must be a string, not {type(url_or_query).__name__}")
    if len(url_or_query) > _MAX_CALLBACK_LEN:
        raise CallbackError(f"the callback is {len(url_or_query)} characters long; that is not a redirect")
    query = _query_of(url_or_query)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=64)
    except ValueError:
        raise CallbackError("the callback query has too many fields") from None
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    for key in ("code", "state", "error"):
        if len(fields.get(key, [])) > 1:
            raise CallbackError(f"the callback carries {key!r} more than once")
    state = fields.get("state", [None])[0]

    error = fields.get("error", [None])[0]
    if error is not None:
        # Meta may not echo state on a denial; refuse only a state that is present and wrong.
        if expected_state is not None and state is not None and not states_match(expected_state, state):
            raise StateMismatchError("the callback's state does not match the one sent")
        reason = fields.get("error_reason", [None])[0]
        description = fields.get("error_description", [None])[0]
        if fields.get("error_code", [None])[0] == FACEBOOK_DEVELOPMENT_MODE_CODE:
            denied = DevelopmentModeError(
                "Facebook refused the login (error_code 200, "
                f"{description or 'Permissions error'}): the app is in development mode and this "
                "person is not one of its administrators, developers or testers",
                error=error,
                reason=reason,
                description=description,
            )
            denied.fix = DEVELOPMENT_MODE_FIX
            raise denied
        detail = description or reason or error
        if description and any(m in description.lower() for m in _PERSONAL_ACCOUNT_MARKERS):
            raise PersonalAccountError(
                f"authorization was refused: {description} (a personal Instagram account cannot use "
                "the Instagram API)",
                fix=SWITCH_TO_PROFESSIONAL,
                error=error,
                reason=reason,
                description=description,
            )
        raise AuthorizationDenied(
            f"authorization was refused: {error}" + (f" ({detail})" if detail != error else ""),
            error=error,
            reason=reason,
            description=description,
        )

    raw_code = fields.get("code", [None])[0]
    if raw_code is None:
        raise CallbackError(
            "the callback carries neither 'code' nor 'error'",
            fix="pass the full URL Instagram redirected to, including its query string",
        )
    code = _strip_fragment_suffix(raw_code.strip())
    if not _CODE.fullmatch(code):
        raise CallbackError("the callback's 'code' is empty or not a valid authorization code")
    if expected_state is not None and not states_match(expected_state, state):
        raise StateMismatchError(
            "the callback's state is missing or does not match the one sent",
            fix="start the login again; if it repeats, someone may be forging callbacks",
        )
    return Callback(code=Secret(code), state=state)


def code_from(value: str | Secret, *, expected_state: str | None = None) -> Secret:
    """Accept a bare authorization code, or any form :func:`parse_callback` reads, and return the code."""
    if isinstance(value, Secret):
        value = value.reveal()
    # Strip Meta's suffix first: Facebook's '#_=_' has an '=' that would look like a query.
    if isinstance(value, str) and not any(c in _strip_fragment_suffix(value.strip()) for c in "?=/&"):
        code = _strip_fragment_suffix(value.strip())
        if not _CODE.fullmatch(code):
            raise CallbackError("that is not a valid authorization code")
        if expected_state is not None:
            raise StateMismatchError("a bare code carries no state to check; pass the full callback URL")
        return Secret(code)
    return parse_callback(value, expected_state=expected_state).code
