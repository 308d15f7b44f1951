"""The audit log as JSON, for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hub.audit import service
from hub.auth.dependencies import ApiAdminDep
from hub.dependencies import SessionDep
from hub.models import AuditAction, AuditEntry

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: AuditAction
    target_type: str
    target_id: int | None
    summary: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryRead:
        return cls(
            id=entry.id or 0,
            at=entry.at,
            actor_id=entry.actor_id,
            actor=entry.actor_label,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            summary=entry.summary,
        )


class AuditPage(BaseModel):
    total: int
    entries: list[AuditEntryRead]


@router.get("", response_model=AuditPage)
async def list_audit_entries(
    _admin: ApiAdminDep,
    session: SessionDep,
    action: AuditAction | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    """What officers and administrators did, newest first (administrators)."""
    entries, total = await service.entries(session, action=action, limit=limit, offset=offset)
    return AuditPage(total=total, entries=[AuditEntryRead.of(e) for e in entries])
