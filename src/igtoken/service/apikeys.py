"""API-key authentication for program callers, and the scope check every token read makes.

The vault stores keys hashed and implements :class:`ApiKeyVerifier`; this module only
takes the key off the request and says no clearly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.exceptions import HTTPException

from igtoken.core.exceptions import AuthenticationError, ForbiddenError
from igtoken.core.secret import Secret
from igtoken.service.interfaces import ApiKeyPrincipal

_BEARER = "bearer "


def _key_from(request: Request) -> Secret | None:
    authorization = request.headers.get("authorization", "")
    if authorization[: len(_BEARER)].lower() == _BEARER:
        key = authorization[len(_BEARER) :].strip()
        return Secret(key) if key else None
    header = request.headers.get("x-api-key", "").strip()
    return Secret(header) if header else None


def required_key(request: Request) -> Secret:
    """The request's API key (``Authorization: Bearer`` or ``X-API-Key``), not yet verified; 401 if none.

    A plain function, not a dependency: FastAPI runs a plain ``def`` dependency on a worker
    thread, and that hop alone cost the token route more than everything else it does.
    """
    key = _key_from(request)
    if key is None:
        raise AuthenticationError(
            "this endpoint needs an API key",
            fix="send it as `Authorization: Bearer <key>`; create one with `igtoken apikeys create`",
        )
    return key


def known_principal(principal: ApiKeyPrincipal | None) -> ApiKeyPrincipal:
    """``principal``, or the 401 for a key the verifier did not accept."""
    if principal is None:
        raise AuthenticationError("the API key is unknown or revoked", fix="create a new API key")
    return principal


async def api_principal(request: Request) -> ApiKeyPrincipal:
    """Dependency: the principal of the request's API key (``Authorization: Bearer`` or ``X-API-Key``)."""
    verifier = request.app.state.igtoken.deps.api_keys
    if verifier is None:
        raise HTTPException(503, "API keys are not available on this instance")
    key = required_key(request)
    return known_principal(await verifier.verify(key))


def require_scope(principal: ApiKeyPrincipal, account_id: str) -> None:
    """Refuse unless ``principal`` may read ``account_id``'s token; call before every token read."""
    if not principal.may_read(account_id):
        raise ForbiddenError(
            f"API key {principal.id!r} is not scoped to account {account_id!r}",
            fix="use a key scoped to this account, or create one with that scope",
        )


def require_capability(principal: ApiKeyPrincipal, capability: str) -> None:
    """Refuse (403) unless ``principal``'s key has ``capability``."""
    if not principal.may(capability):
        raise ForbiddenError(
            f"API key {principal.id!r} does not have the {capability!r} capability",
            fix=f"use a key with it (igtoken apikeys create --capability {capability})",
        )


def capable(capability: str) -> Callable[..., Awaitable[ApiKeyPrincipal]]:
    """Dependency: the request's principal, refused (403) without ``capability``."""

    async def principal_with(request: Request) -> ApiKeyPrincipal:
        principal = await api_principal(request)
        require_capability(principal, capability)
        return principal

    return principal_with
