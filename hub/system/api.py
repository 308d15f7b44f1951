"""`/healthz` (the process answers) and `/readyz` (it can do its work)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from hub.dependencies import StateDep
from hub.system import service

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is down"}})
async def readyz(state: StateDep) -> JSONResponse:
    checks = await service.readiness(state)
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return JSONResponse(
        body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"}
    )
