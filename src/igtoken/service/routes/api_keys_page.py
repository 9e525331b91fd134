"""The dashboard's "API keys" page: every key with its scope and capabilities, a form to create one
with the capabilities chosen (shown once), and revoking.

The same keys as ``igtoken apikeys``; a key made here may be limited to some of
:data:`~igtoken.vault.records.CAPABILITIES` (or allowed everything, as keys made before
capabilities existed). Mounted by :func:`igtoken.service.assembly.build_app`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import anyio
from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from igtoken.service.app_state import service_state
from igtoken.service.security import require_admin, require_csrf, session_of
from igtoken.service.wiring import wiring_of
from igtoken.vault.records import CAPABILITIES

pages = APIRouter(prefix="/dashboard", dependencies=[Depends(require_admin)], include_in_schema=False)
actions = APIRouter(
    prefix="/dashboard", dependencies=[Depends(require_admin), Depends(require_csrf)], include_in_schema=False
)

#: What each capability lets a key do, for the form and the list.
CAPABILITY_HELP: Final = {
    "accounts:read": "list accounts and read their details (GET /v1/accounts)",
    "tokens:read": "read an account's access token (GET /v1/accounts/{id}/token)",
    "graph": "call Meta's Graph API through the proxy (/v1/accounts/{id}/graph/…)",
    "refresh": "refresh an account's token now (POST /v1/accounts/{id}/refresh)",
    "links:create": "create connect links (POST /v1/connect-links)",
}
assert set(CAPABILITY_HELP) == set(CAPABILITIES)

KeyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the key's id or prefix")]


async def _render(
    request: Request,
    *,
    created: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    vault = wiring_of(request).runtime.vault
    keys = await anyio.to_thread.run_sync(vault.api_keys.list_all)
    context: dict[str, Any] = {
        "keys": keys,
        "capabilities": CAPABILITY_HELP,
        "created": created,
        "form": form or {"access": "all", "capability": []},
        "error": error,
    }
    return service_state(request).pages.render(request, "api_keys.html", context, status_code=status_code)


@pages.get("/api-keys")
async def api_keys_page(request: Request) -> Response:
    """Every API key (newest first) with what it may do, and the form to create one."""
    return await _render(request)


@actions.post("/api-keys")
async def create_api_key(
    request: Request,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    access: Annotated[Literal["all", "chosen"], Form()] = "all",
    capability: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a key with every capability or the chosen ones; its value is shown on this answer only."""
    chosen = sorted(set(capability or []))
    form = {"name": name, "access": access, "capability": chosen}
    unknown = [c for c in chosen if c not in CAPABILITIES]
    if unknown:
        error = f"unknown capabilities: {', '.join(unknown)}; choose among {', '.join(CAPABILITIES)}"
        return await _render(request, form=form, error=error, status_code=422)
    if access == "chosen" and not chosen:
        error = "choose at least one capability, or allow everything"
        return await _render(request, form=form, error=error, status_code=422)
    if not name.strip():
        return await _render(request, form=form, error="give the key a name", status_code=422)
    wiring = wiring_of(request)
    vault = wiring.runtime.vault
    record, key = await anyio.to_thread.run_sync(
        lambda: vault.api_keys.create(
            name.strip(), now=wiring.clock(), capabilities=chosen if access == "chosen" else None
        )
    )
    created = {"name": record.name, "prefix": record.prefix, "key": key.reveal()}
    return await _render(request, created=created, status_code=201)


@actions.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(request: Request, key_id: KeyId) -> Response:
    """Revoke a key: the API refuses it from now on."""
    wiring = wiring_of(request)
    vault = wiring.runtime.vault
    # An unknown id is NotFoundError: the error page, 404.
    record = await anyio.to_thread.run_sync(lambda: vault.api_keys.revoke(key_id, now=wiring.clock()))
    session_of(request).flash("success", f"API key {record.name!r} ({record.prefix}) is revoked.")
    return RedirectResponse("/dashboard/api-keys", status_code=303)
