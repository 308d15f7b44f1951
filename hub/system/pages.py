"""The dashboard (home page after sign-in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.auth.dependencies import PageUserDep
from hub.dependencies import SessionDep
from hub.models import Role
from hub.system import service
from hub.templating import render

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
