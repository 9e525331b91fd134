"""The browser leg of Facebook Login for Business: the versioned OAuth dialog URL.

The callback is read by :func:`~igtoken.parse_callback`, which already strips
Facebook's ``#_=_``. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, urlencode

from igtoken._config import AppCredentials
from igtoken._endpoints import Endpoints
from igtoken._exceptions import ConfigurationError
from igtoken._fb_scopes import DEFAULT_FACEBOOK_SCOPES, check_facebook_scopes

_CONFIG_ID = re.compile(r"\d{1,32}")
#: The ``auth_type`` values Meta's dialog takes: ask again for declined permissions, ask for the
#: password again, or re-confirm data access after it expired.
AUTH_TYPES: Final = ("rerequest", "reauthenticate", "reauthorize")


def facebook_authorization_url(
    app: AppCredentials,
    *,
    state: str,
    scopes: str | Iterable[str] | None = None,
    config_id: str | None = None,
    endpoints: Endpoints | None = None,
    rerequest: bool = False,
    auth_type: str | None = None,
) -> str:
    """Build the Facebook Login dialog URL (``www.facebook.com/vNN.N/dialog/oauth``).

    ``app`` is the Meta app (``ClientConfig.facebook``). Pass either ``scopes``
    (checked against the Facebook Login set, sent comma-joined) or ``config_id``
    (a Facebook Login for Business configuration, which fixes the permissions
    itself); with neither, :data:`~igtoken.DEFAULT_FACEBOOK_SCOPES` are asked for.
    ``auth_type="rerequest"`` (or ``rerequest=True``) asks again for permissions the person
    declined before: without it Meta's dialog does not offer them again. ``reauthenticate`` and
    ``reauthorize`` are passed through as well.
    """
    if auth_type is not None and auth_type not in AUTH_TYPES:
        raise ConfigurationError(
            f"auth_type must be one of {', '.join(AUTH_TYPES)}, got {auth_type!r}",
            fix="use auth_type='rerequest' to ask again for declined permissions",
        )
    if rerequest:
        if auth_type not in (None, "rerequest"):
            raise ConfigurationError(f"rerequest=True contradicts auth_type={auth_type!r}")
        auth_type = "rerequest"
    if not isinstance(state, str) or not state or not state.isascii() or not state.isprintable():
        raise ConfigurationError("state must be a non-empty printable ASCII string", fix="use new_state()")
    params: list[tuple[str, str]] = [
        ("client_id", app.app_id),
        ("redirect_uri", app.redirect_uri),
        ("response_type", "code"),
        ("state", state),
    ]
    if config_id is not None:
        if scopes is not None:
            raise ConfigurationError(
                "pass either scopes or config_id, not both",
                fix="a Facebook Login for Business configuration fixes the permissions itself; drop scopes",
            )
        if not isinstance(config_id, str) or not _CONFIG_ID.fullmatch(config_id):
            raise ConfigurationError(
                f"config_id must be the configuration's numeric id, got {config_id!r}",
                fix="copy it from Facebook Login for Business > Configurations in the app dashboard",
            )
        params.append(("config_id", config_id))
    else:
        checked = check_facebook_scopes(DEFAULT_FACEBOOK_SCOPES if scopes is None else scopes)
        params.append(("scope", ",".join(checked)))
    if auth_type is not None:
        params.append(("auth_type", auth_type))
    query = urlencode(params, safe=",", quote_via=quote)
    return f"{(endpoints or Endpoints()).facebook_dialog}?{query}"
