"""Files a browser asks for on its own: ``/favicon.ico`` (an unanswered one fills logs with 404s)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from igtoken.service.pages import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon browsers show in the tab; cached for a day."""
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )
