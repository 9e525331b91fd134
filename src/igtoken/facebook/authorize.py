"""The browser leg of Facebook Login for Business: the versioned OAuth dialog URL.

The callback is read by :func:`~igtoken.parse_callback`, which already strips
Facebook's ``#_=_``. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlencode

from igtoken.core.config import AppCredentials
from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import ConfigurationError
from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES, check_facebook_scopes

_CONFIG_ID = re.compile(r"\d{1,32}")


def facebook_authorization_url(
    app: AppCredentials,
    *,
    state: str,
    scopes: str | Iterable[str] | None = None,
    config_id: str | None = None,
    endpoints: Endpoints | None = None,
    rerequest: bool = False,
) -> str:
    """Build the Facebook Login dialog URL (``www.facebook.com/vNN.N/dialog/oauth``).

    ``app`` is the Meta app (``ClientConfig.facebook``). Pass either ``scopes``
    (checked against the Facebook Login set, sent comma-joined) or ``config_id``
    (a Facebook Login for Business configuration, which fixes the permissions
    itself); with neither, :data:`~igtoken.DEFAULT_FACEBOOK_SCOPES` are asked for.
    ``rerequest`` adds ``auth_type=rerequest`` to ask again for declined permissions.
    """
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
    if rerequest:
        params.append(("auth_type", "rerequest"))
    query = urlencode(params, safe=",", quote_via=quote)
    return f"{(endpoints or Endpoints()).facebook_dialog}?{query}"
