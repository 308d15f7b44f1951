"""The dashboard (home page after sign-in), and what browsers and crawlers ask for."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from hub.auth.dependencies import PageUserDep
from hub.dependencies import SessionDep
from hub.models import Role
from hub.system import service
from hub.templating import STATIC_DIR, render

router = APIRouter(include_in_schema=False)


@router.get("/", name="dashboard")
async def dashboard(request: Request, user: PageUserDep, session: SessionDep) -> Response:
    overview = None
    if user.role in (Role.admin, Role.officer):
        overview = await service.registry_overview(session)
    return render(
        request,
        "system/dashboard.html",
        {
            "overview": overview,
            "low_uptake_percent": service.LOW_UPTAKE_PERCENT,
        },
    )


ICON = STATIC_DIR / "favicon.png"
# Crawlers may index the sign-in page, never the citizens' pages or anybody's data.
ROBOTS = "User-agent: *\nDisallow: /s/\nDisallow: /c/\nDisallow: /portal/\nDisallow: /api/\n"


@router.get("/favicon.ico", name="favicon")
async def favicon() -> Response:
    """The icon browsers ask for by themselves (so it is never a 404 with a page around it)."""
    return FileResponse(
        ICON, media_type="image/png", headers={"Cache-Control": "public, max-age=604800"}
    )


@router.get("/robots.txt", name="robots")
async def robots() -> Response:
    return PlainTextResponse(ROBOTS, headers={"Cache-Control": "public, max-age=86400"})
