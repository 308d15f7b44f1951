"""JSON routes of forward reports: partners report and correct, officers read and flag."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status

from hub.auth.dependencies import ApiStaffDep, ApiUserDep
from hub.campaigns.dependencies import ApiCampaignDep
from hub.dependencies import SessionDep, StateDep
from hub.forwards import service
from hub.forwards.dependencies import ApiReportDep, evidence_response, report_campaign
from hub.forwards.schemas import (
    DoorToDoorCreate,
    Flag,
    ForwardCreate,
    KindTotalRead,
    MeetingCreate,
    PostersCreate,
    ReportPage,
    ReportRead,
    ReportUpdate,
    SermonCreate,
)
from hub.materials.api import StorageDep, receive_request_upload
from hub.materials.upload import discard_upload
from hub.models import ForwardReport, ReportKind, User
from hub.schemas import MAX_DB_ID, problems

router = APIRouter(prefix="/api/v1", tags=["forward reports"])

EVIDENCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A photo: JPEG, PNG or WebP, at most HUB_MAX_UPLOAD_MB",
                        }
                    },
                }
            }
        },
    }
}


async def _read(session: SessionDep, report: ForwardReport, principal: User) -> ReportRead:
    [view] = await service.views_of(session, [report])
    return ReportRead.of(view, principal)


@router.post(
    "/campaigns/{campaign_id}/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportRead,
    responses=problems(404),
)
async def create_report(
    body: Annotated[
        ForwardCreate | MeetingCreate | SermonCreate | DoorToDoorCreate | PostersCreate,
        Body(discriminator="kind"),
    ],
    campaign: ApiCampaignDep,
    principal: ApiUserDep,
    session: SessionDep,
) -> ReportRead:
    """A partner reports what it did with the campaign; ``kind`` decides the fields. Add a
    photo afterwards with ``PUT /api/v1/reports/{id}/evidence``."""
    values = body.model_dump(exclude={"kind"})
    report = await service.create_report(
        session,
        principal=principal,
        campaign=campaign,
        kind=ReportKind(body.kind),
        values=values,
    )
    return await _read(session, report, principal)


@router.get("/campaigns/{campaign_id}/reports", response_model=ReportPage, responses=problems(404))
async def list_reports(
    campaign: ApiCampaignDep,
    principal: ApiUserDep,
    session: SessionDep,
    kind: ReportKind | None = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    flagged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ReportPage:
    """Officers: every organisation's reports (filter by kind, organisation, flagged);
    partners: their own organisation's (filter by kind)."""
    staff = service.is_staff(principal)
    if not staff:
        organisation_id, flagged = principal.organisation_id, None
    views, total = await service.list_reports(
        session,
        principal=principal,
        campaign=campaign,
        kind=kind,
        organisation_id=organisation_id,
        flagged=flagged,
        limit=limit,
        offset=offset,
    )
    totals = await service.kind_totals(
        session, campaign=campaign, organisation_id=organisation_id, separate_flagged=staff
    )
    return ReportPage(
        items=[ReportRead.of(v, principal) for v in views],
        total=total,
        limit=limit,
        offset=offset,
        totals=[KindTotalRead.of(t, staff=staff) for t in totals],
    )


@router.get("/reports/{report_id}", response_model=ReportRead, responses=problems(404))
async def read_report(report: ApiReportDep, principal: ApiUserDep, session: SessionDep) -> Any:
    return await _read(session, report, principal)


@router.patch(
    "/reports/{report_id}",
    response_model=ReportRead,
    responses=problems(
        403, 404, 409, notes={403: "Not the caller's to correct", 409: "Older than 14 days"}
    ),
)
async def update_report(
    body: ReportUpdate, report: ApiReportDep, principal: ApiUserDep, session: SessionDep
) -> Any:
    """Correct a report within 14 days of making it: a coordinator any of the organisation's
    reports, a member its own."""
    service.check_correctable(report, principal)
    campaign = await report_campaign(session, report)
    await service.update_report(
        session,
        report,
        principal=principal,
        campaign=campaign,
        changes=body.model_dump(exclude_unset=True),
    )
    return await _read(session, report, principal)


@router.delete(
    "/reports/{report_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404, 409)
)
async def delete_report(report: ApiReportDep, principal: ApiUserDep, session: SessionDep) -> None:
    """Withdraw a report (under the same rule as a correction)."""
    await service.delete_report(session, report, principal=principal)


@router.put(
    "/reports/{report_id}/evidence",
    response_model=ReportRead,
    responses=problems(
        400, 404, 409, 413, notes={413: "The file is larger than HUB_MAX_UPLOAD_MB"}
    ),
    openapi_extra=EVIDENCE_BODY,
)
async def put_evidence(
    request: Request,
    report: ApiReportDep,
    principal: ApiUserDep,
    session: SessionDep,
    storage: StorageDep,
) -> Any:
    """Attach a photo (multipart/form-data, field ``file``; JPEG, PNG or WebP), replacing any
    earlier one. A refused photo is not stored."""
    service.check_correctable(report, principal)  # before a byte of the body is read
    upload = await receive_request_upload(request, session, storage)
    try:
        await service.set_evidence(
            session, report, principal=principal, upload=upload, storage=storage
        )
    finally:
        await discard_upload(storage, upload)
    return await _read(session, report, principal)


@router.delete(
    "/reports/{report_id}/evidence", response_model=ReportRead, responses=problems(404, 409)
)
async def delete_evidence(report: ApiReportDep, principal: ApiUserDep, session: SessionDep) -> Any:
    await service.remove_evidence(session, report, principal=principal)
    return await _read(session, report, principal)


@router.get(
    "/reports/{report_id}/evidence",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        **problems(404),
    },
    name="report_evidence",
)
async def read_evidence(
    request: Request,
    report: ApiReportDep,
    session: SessionDep,
    storage: StorageDep,
    state: StateDep,
) -> Response:
    """The report's photo, for officers and the report's organisation."""
    return await evidence_response(request, session, report, storage=storage, state=state)


@router.post("/reports/{report_id}/flag", response_model=ReportRead, responses=problems(404))
async def flag_report(
    body: Flag, report: ApiReportDep, staff: ApiStaffDep, session: SessionDep
) -> Any:
    """Mark a report as implausible, with the reason (officers)."""
    await service.flag_report(session, report, officer=staff, reason=body.reason)
    return await _read(session, report, staff)


@router.delete("/reports/{report_id}/flag", response_model=ReportRead, responses=problems(404))
async def unflag_report(report: ApiReportDep, staff: ApiStaffDep, session: SessionDep) -> Any:
    """Take the flag off a report (officers)."""
    await service.unflag_report(session, report, officer=staff)
    return await _read(session, report, staff)
