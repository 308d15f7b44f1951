"""JSON routes for CSV imports (a dry run unless asked to commit) and CSV exports, staff only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.dependencies import ApiStaffDep
from hub.dependencies import SessionDep
from hub.errors import PayloadTooLarge
from hub.i18n import _
from hub.imports import export, service
from hub.imports.csvfile import MAX_BYTES
from hub.imports.schemas import ImportPlan
from hub.models import User, utcnow
from hub.schemas import CSV_CONTENT, problems

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
export_router = APIRouter(prefix="/api/v1/exports", tags=["exports"])

CSV_FILE = File(description="The CSV file (UTF-8 or Windows-1252; ; , or tab separated)")
CommitQuery = Annotated[
    bool, Query(description="Write the import (all or nothing); without it, a dry run")
]
CommitForm = Annotated[bool | None, Form(alias="commit", description="The same as ?commit")]
Delimiter = Annotated[
    export.DelimiterName,
    Query(description="semicolon (Danish Excel, the default), comma or tab"),
]

Planner = Callable[[AsyncSession, bytes], Awaitable[ImportPlan]]
Applier = Callable[..., Awaitable[ImportPlan]]


async def _read_upload(upload: UploadFile) -> bytes:
    content = await upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise PayloadTooLarge(
            _("The file is larger than %(size)d MiB. Split it into smaller files.")
            % {"size": MAX_BYTES // (1024 * 1024)}
        )
    return content


async def _import(
    session: AsyncSession,
    upload: UploadFile,
    *,
    principal: User,
    commit: bool,
    plan: Planner,
    apply: Applier,
) -> ImportPlan:
    content = await _read_upload(upload)
    if commit:
        return await apply(session, content, principal=principal)
    return await plan(session, content)


@router.post("/partners", response_model=ImportPlan, responses=problems(413))
async def import_partners(
    principal: ApiStaffDep,
    session: SessionDep,
    file: Annotated[UploadFile, CSV_FILE],
    commit: CommitQuery = False,
    commit_form: CommitForm = None,
) -> ImportPlan:
    """Organisations with their contacts: a dry run, or with commit=true the import itself
    (422 with every bad row when the file has errors; then nothing is written)."""
    return await _import(
        session,
        file,
        principal=principal,
        commit=commit or bool(commit_form),
        plan=service.plan_partners,
        apply=service.apply_partners,
    )


@router.post("/areas", response_model=ImportPlan, responses=problems(413))
async def import_areas(
    principal: ApiStaffDep,
    session: SessionDep,
    file: Annotated[UploadFile, CSV_FILE],
    commit: CommitQuery = False,
    commit_form: CommitForm = None,
) -> ImportPlan:
    """Areas with their uptake: a dry run, or with commit=true the import itself."""
    return await _import(
        session,
        file,
        principal=principal,
        commit=commit or bool(commit_form),
        plan=service.plan_areas,
        apply=service.apply_areas,
    )


def csv_response(content: bytes, name: str) -> Response:
    filename = f"{name}-{utcnow().date().isoformat()}.csv"
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # Contact persons are personal data: no copies in caches along the way.
            "Cache-Control": "no-store",
        },
    )


@export_router.get("/partners.csv", response_class=Response, responses={200: CSV_CONTENT})
async def export_partners(
    _staff: ApiStaffDep, session: SessionDep, delimiter: Delimiter = "semicolon"
) -> Response:
    """The partner registry in the import format (one row per contact), for Excel."""
    return csv_response(await export.export_partners(session, delimiter=delimiter), "partners")


@export_router.get("/areas.csv", response_class=Response, responses={200: CSV_CONTENT})
async def export_areas(
    _staff: ApiStaffDep, session: SessionDep, delimiter: Delimiter = "semicolon"
) -> Response:
    """Areas and their uptake in the import format (one row per uptake figure), for Excel."""
    return csv_response(await export.export_areas(session, delimiter=delimiter), "areas")
