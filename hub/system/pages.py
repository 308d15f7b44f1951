"""The dashboard (home page after sign-in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hub.auth.dependencies import PageUserDep
from hub.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="dashboard")
async def dashboard(request: Request, user: PageUserDep) -> Response:
    return render(request, "system/dashboard.html")
