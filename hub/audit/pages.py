"""The audit log for administrators: who published, imported, offboarded, erased …"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hub.audit import service
from hub.auth.dependencies import AdminPageDep
from hub.dependencies import SessionDep
from hub.models import AuditAction
from hub.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/audit", name="audit_page")
async def audit_page(
    request: Request,
    _admin: AdminPageDep,
    session: SessionDep,
    action: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    chosen = AuditAction(action) if action in set(AuditAction) else None
    entries, total = await service.entries(
        session, action=chosen, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "audit/list.html",
        {
            "entries": entries,
            "total": total,
            "action": chosen.value if chosen else "",
            "actions": list(AuditAction),
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
        },
    )
