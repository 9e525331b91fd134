"""``appsecret_proof``: the HMAC that proves a graph.facebook.com call comes from the app's server."""

from __future__ import annotations

import hashlib
import hmac

from igtoken.core.config import AppCredentials
from igtoken.core.secret import Secret


def appsecret_proof(app_secret: Secret, access_token: Secret) -> str:
    """``hex(HMAC-SHA256(key=app_secret, msg=access_token))``, as Meta checks it.

    Sent with every graph.facebook.com call that carries an access token, so an
    app with "Require App Secret" on accepts it and a stolen token alone is not
    enough to call the API.
    """
    return hmac.new(
        app_secret.reveal().encode("utf-8"), access_token.reveal().encode("utf-8"), hashlib.sha256
    ).hexdigest()


def app_access_token(app: AppCredentials) -> Secret:
    """The ``APP_ID|APP_SECRET`` form of an app access token, which Graph accepts without a round trip.

    ``app`` is the Meta app; the value contains the app secret, so it is a :class:`Secret`.
    """
    return Secret(f"{app.app_id}|{app.app_secret.reveal()}")
