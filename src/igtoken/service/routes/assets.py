"""Files a browser asks for on its own (``/favicon.ico``), and the interactive API docs.

The API docs (sandbox and dev mode) are Swagger UI from the package's own copy
(``static/swagger``, swagger-ui-dist 5.35.0), so they work with no network. They are
the one page that runs scripts: its CSP allows this origin's scripts, nothing else.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from igtoken.service.app_state import service_state
from igtoken.service.pages import STATIC_DIR

router = APIRouter(include_in_schema=False)
docs = APIRouter(include_in_schema=False)

#: The docs page's policy: scripts and styles from here only (Swagger UI sets inline styles).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'; form-action 'self'"
)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon browsers show in the tab; cached for a day."""
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@docs.get("/api/docs")
async def api_docs(request: Request) -> Response:
    """Swagger UI over ``/api/openapi.json``, from igtoken's own files."""
    pages = service_state(request).pages
    # Straight from the templates, not Pages.render: this page has no session and shows no notices
    # (rendering would take a pending notice away from the dashboard page it was meant for).
    return pages.templates.TemplateResponse(
        request, "api_docs.html", {"app_name": pages.app_name}, headers={"Content-Security-Policy": DOCS_CSP}
    )
