"""The dashboard's "Meta apps" page: the apps, the URLs to register for them, the last permission audit,
and "Add a Meta app" — the same guide and checks as ``igtoken setup``.

The form takes the product, a name, the app id and secret (and optionally default scopes); the
redirect URI, deauthorize URL and data-deletion URL are the service's own. What Meta would refuse
later is refused with its fix, then the id, secret and redirect URI are checked live with Meta (or
the emulator, in sandbox) before the app is saved. Mounted by :func:`igtoken.service.assembly.build_app`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from igtoken.app.meta_setup import Check, check_live, check_values, guide, meta_urls
from igtoken.app.permission_audit import last_audit
from igtoken.core.exceptions import ConfigurationError, ConflictError
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.service.app_state import service_state
from igtoken.service.security import require_admin, require_csrf, session_of
from igtoken.service.wiring import wiring_of

pages = APIRouter(prefix="/dashboard", dependencies=[Depends(require_admin)], include_in_schema=False)
actions = APIRouter(
    prefix="/dashboard", dependencies=[Depends(require_admin), Depends(require_csrf)], include_in_schema=False
)

Flow = Literal["instagram_login", "facebook_login"]


async def _render(
    request: Request,
    flow: str,
    *,
    form: dict[str, str] | None = None,
    findings: list[Check] | None = None,
    status_code: int = 200,
) -> Response:
    wiring = wiring_of(request)
    state = service_state(request)
    kind = FlowKind(flow)
    urls = meta_urls(wiring.public_url)
    vault = wiring.runtime.vault
    now = wiring.clock()
    apps = await anyio.to_thread.run_sync(vault.list_apps)
    audit = await anyio.to_thread.run_sync(lambda: last_audit(vault, now=now))
    sandbox_hint: dict[str, str] | None = None
    if wiring.sandbox:
        from igtoken.emulator import demo

        facebook = kind is FlowKind.FACEBOOK_LOGIN
        sandbox_hint = {
            "app_id": demo.DEMO_FB_APP_ID if facebook else demo.DEMO_IG_APP_ID,
            "secret": demo.DEMO_FB_APP_SECRET if facebook else demo.DEMO_IG_APP_SECRET,
        }
    context: dict[str, Any] = {
        "flow": kind.value,
        "urls": urls,
        "steps": guide(kind, urls),
        "apps": apps,
        "audit": audit,
        "form": form or {},
        "findings": findings or [],
        "failed": [f for f in findings or [] if not f.ok],
        "sandbox_hint": sandbox_hint,
    }
    return state.pages.render(request, "meta_apps.html", context, status_code=status_code)


@pages.get("/apps")
async def meta_apps_page(request: Request, flow: Flow = "instagram_login") -> Response:
    """The registered apps with their three URLs, the last permission audit, and the add form."""
    return await _render(request, flow)


@actions.post("/apps")
async def add_meta_app(
    request: Request,
    flow: Annotated[Flow, Form()],
    name: Annotated[str, Form(min_length=1, max_length=64)],
    app_id: Annotated[str, Form(max_length=32)],
    app_secret: Annotated[str, Form(min_length=1, max_length=256)],
    scopes: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Check the values (what Meta would refuse, then live), and save the app only if all pass."""
    from igtoken.instagram.scopes import split_scopes

    wiring = wiring_of(request)
    kind = FlowKind(flow)
    uri = meta_urls(wiring.public_url).redirect_uri
    names = split_scopes(scopes)
    form = {"name": name.strip(), "app_id": app_id.strip(), "scopes": scopes}
    findings = check_values(
        kind, app_id.strip(), [uri], names, dev=wiring.runtime.settings.dev or wiring.sandbox
    )
    secret = Secret(app_secret.strip())
    if all(f.ok for f in findings):
        findings += await check_live(kind, app_id.strip(), secret, [uri], wiring.http, wiring.endpoints)
    if not all(f.ok for f in findings):
        return await _render(request, flow, form=form, findings=findings, status_code=422)
    vault = wiring.runtime.vault
    facebook = kind is FlowKind.FACEBOOK_LOGIN

    def save() -> Any:
        return vault.add_app(
            name.strip(),
            instagram_app_id=app_id.strip(),
            app_secret=secret,
            redirect_uris=[uri],
            now=wiring.clock(),
            default_scopes=names,
            flow_kind=kind,
            meta_app_id=app_id.strip() if facebook else None,
            meta_app_secret=secret if facebook else None,
        )

    try:
        record = await anyio.to_thread.run_sync(save)
    except (ConflictError, ConfigurationError) as exc:
        taken = Check("name", name, False, exc.message, "choose another name")
        return await _render(request, flow, form=form, findings=[taken], status_code=422)
    session_of(request).flash(
        "success", f"Meta accepted app {record.name!r}; it is saved. Create a connect link for it."
    )
    return RedirectResponse("/dashboard/apps", status_code=303)
