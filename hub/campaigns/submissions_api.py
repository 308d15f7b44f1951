"""JSON routes of partners' own films: submit (partners), read, and review (officers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from hub.auth.dependencies import ApiPartnerDep, ApiStaffDep, ApiUserDep
from hub.campaigns import service, submissions
from hub.campaigns.submissions import SubmissionView
from hub.dependencies import SessionDep
from hub.errors import FieldError, InvalidInput
from hub.forms import parse_id
from hub.i18n import _
from hub.materials.api import StorageDep, receive_request_upload
from hub.materials.upload import discard_upload
from hub.models import CampaignItem, SubmissionStatus
from hub.schemas import MAX_DB_ID, ApiInput, IdPath, problems

router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])


class SubmissionRead(BaseModel):
    id: int
    campaign_id: int
    item_id: int
    item_title: str
    organisation_id: int
    organisation_name: str
    language: str
    material_id: int
    processing_status: str
    status: SubmissionStatus
    reason: str | None
    created_at: Any
    reviewed_at: Any | None

    @classmethod
    def of(cls, view: SubmissionView) -> SubmissionRead:
        s = view.submission
        return cls(
            id=s.id or 0,
            campaign_id=view.campaign.id or 0,
            item_id=s.item_id,
            item_title=view.item.title,
            organisation_id=s.organisation_id,
            organisation_name=view.organisation.name,
            language=s.language,
            material_id=s.material_id,
            processing_status=str(view.material.processing_status),
            status=s.status,
            reason=s.reason,
            created_at=s.created_at,
            reviewed_at=s.reviewed_at,
        )


class SubmissionPage(BaseModel):
    items: list[SubmissionRead]
    total: int
    limit: int
    offset: int


class Approval(ApiInput):
    # A film item of the campaign without a film in this language; none: a new film item.
    item_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)


class Rejection(ApiInput):
    reason: str = Field(min_length=1, max_length=2000)


class Approved(SubmissionRead):
    film_item_id: int


SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["item_id", "language", "file"],
                    "properties": {
                        "item_id": {"type": "integer", "description": "The script item"},
                        "language": {"type": "string", "description": "ISO 639-1 code"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The film (mp4, webm, mov), at most HUB_MAX_UPLOAD_MB",
                        },
                    },
                }
            }
        },
    }
}


async def submission_or_404(
    submission_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> SubmissionView:
    return await submissions.get_submission(
        session, principal=principal, submission_id=submission_id
    )


SubmissionDep = Annotated[SubmissionView, Depends(submission_or_404)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionRead,
    responses=problems(
        400,
        404,
        409,
        413,
        422,
        notes={
            409: "The item is not a script",
            413: "The file is larger than HUB_MAX_UPLOAD_MB",
        },
    ),
    openapi_extra=SUBMIT_BODY,
)
async def submit_film(
    request: Request, principal: ApiPartnerDep, session: SessionDep, storage: StorageDep
) -> Any:
    """A partner sends the film it recorded for a script (multipart: item_id, language, file);
    it waits for an officer's review. Staff are refused before the body is read."""
    upload = await receive_request_upload(request, session, storage)
    try:
        item_id = parse_id(upload.fields.get("item_id", ""))
        item = await session.get(CampaignItem, item_id) if item_id else None
        campaign = (
            await service.get_visible_campaign(
                session, principal=principal, campaign_id=item.campaign_id
            )
            if item
            else None
        )
        if item is None or campaign is None:
            message = _("No such item.")
            raise InvalidInput(message, errors=[FieldError("item_id", message)])
        submission = await submissions.submit_upload(
            session, upload, storage=storage, principal=principal, campaign=campaign, item=item
        )
    finally:
        await discard_upload(storage, upload)
    view = await submissions.get_submission(
        session, principal=principal, submission_id=submission.id or 0
    )
    return SubmissionRead.of(view)


@router.get("", response_model=SubmissionPage)
async def list_submissions(
    principal: ApiUserDep,
    session: SessionDep,
    status: SubmissionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SubmissionPage:
    """Officers: every submission (the review queue is ``status=pending``); partners: their
    organisation's own."""
    if service.is_staff(principal):
        views, total = await submissions.list_submissions(
            session, status=status, limit=limit, offset=offset
        )
    else:
        own = await submissions.for_organisation(
            session, organisation_id=principal.organisation_id or 0, status=status
        )
        views, total = own[offset : offset + limit], len(own)
    return SubmissionPage(
        items=[SubmissionRead.of(v) for v in views], total=total, limit=limit, offset=offset
    )


@router.get("/{submission_id}", response_model=SubmissionRead, responses=problems(404))
async def read_submission(view: SubmissionDep) -> SubmissionRead:
    return SubmissionRead.of(view)


@router.post("/{submission_id}/approve", response_model=Approved, responses=problems(404, 409))
async def approve_submission(
    submission_id: IdPath, staff: ApiStaffDep, session: SessionDep, body: Approval | None = None
) -> Approved:
    """The film becomes a variant credited to the organisation (of ``item_id``, or of a new
    film item); the partner is told."""
    view = await submissions.get_submission(session, principal=staff, submission_id=submission_id)
    target = await submissions.approve(
        session, view, reviewer=staff, target_item_id=body.item_id if body else None
    )
    return Approved(**SubmissionRead.of(view).model_dump(), film_item_id=target.id or 0)


@router.post("/{submission_id}/reject", response_model=SubmissionRead, responses=problems(404, 409))
async def reject_submission(
    submission_id: IdPath, body: Rejection, staff: ApiStaffDep, session: SessionDep
) -> SubmissionRead:
    """Reject with a reason; the partner reads it and may send a new film."""
    view = await submissions.get_submission(session, principal=staff, submission_id=submission_id)
    await submissions.reject(session, view, reviewer=staff, reason=body.reason)
    return SubmissionRead.of(view)
