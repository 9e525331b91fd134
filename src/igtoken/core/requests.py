"""The request a flow yields: an :class:`httpx.Request` whose ``repr`` masks every credential.

Flows put Meta's credentials where Meta wants them (``client_secret``,
``access_token`` and ``fb_exchange_token`` in some queries, ``appsecret_proof``
beside every Facebook token), so a request printed while driving a flow by hand,
or shown by a debugger or a test failure, must not show them. ``str(request.url)``
still gives the real URL: asking for it is deliberate.
"""

from __future__ import annotations

import httpx

from igtoken.core.redact import redact_url


class MaskedRequest(httpx.Request):
    """An :class:`httpx.Request` whose ``repr`` shows the URL with credentials replaced by ``[redacted]``.

    Everything else is httpx's: send it with any :class:`httpx.Client`. The
    ``Authorization`` header is already masked by httpx's own ``Headers`` repr.
    """

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {redact_url(self.url)!r})>"
