"""Checking a stored Facebook page token with Meta: the service (on demand) and the worker (on schedule).

Page tokens have no refresh grant and never expire, but die when the person changes their
password, loses their role on the Page or removes the app. The only way to know is to ask
Meta's ``debug_token`` with the Meta app's own token; :func:`check_page_token` does that and
judges the answer with :func:`~igtoken.refresh.facebook_accounts.page_token_verdict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from igtoken.refresh.facebook_accounts import PageTokenVerdict, page_token_verdict

if TYPE_CHECKING:
    from igtoken.client.clients import AsyncClient
    from igtoken.core.models import AccessToken

__all__ = ["check_page_token", "checked_event_data"]


async def check_page_token(client: AsyncClient, token: AccessToken, page_id: str | None) -> PageTokenVerdict:
    """Ask Meta (``debug_token``, app token from ``client``) about ``token``, the page token of ``page_id``.

    Transport and server errors are raised as the client raises them (the caller retries);
    an invalid token is not an error here but a verdict with ``needs_reauth`` set.
    """
    info = await client.debug_token(token, app_token=await client.facebook_app_token())
    return page_token_verdict(info, page_id)


def checked_event_data(verdict: PageTokenVerdict, trigger: str) -> dict[str, Any]:
    """The data of a ``token_checked`` event for ``verdict``; ``trigger`` says who asked."""
    return {"trigger": trigger, "valid": verdict.ok, "detail": verdict.detail}
