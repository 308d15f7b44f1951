"""JSON routes of distribution: a campaign's sending progress, the officer's controls, and the
list of its deliveries (also as CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import Response

from hub.auth.dependencies import ApiStaffDep
from hub.campaigns.dependencies import ApiCampaignDep
from hub.dependencies import SessionDep
from hub.distribution import service
from hub.distribution.service import DeliveryRow, Progress
from hub.imports import export
from hub.imports.api import Delimiter, csv_response
from hub.models import DeliveryChannel, DeliveryState
from hub.schemas import CSV_CONTENT, DbId, problems

router = APIRouter(prefix="/api/v1/campaigns/{campaign_id}", tags=["distribution"])


class ProgressRead(BaseModel):
    started: bool
    paused: bool
    cancelled: bool
    total: int
    done: int
    percent: int
    counts: dict[str, int]

    @classmethod
    def of(cls, progress: Progress) -> ProgressRead:
        return cls(
            started=progress.started,
            paused=progress.paused,
            cancelled=progress.cancelled,
            total=progress.total,
            done=progress.done,
            percent=progress.percent,
            counts=progress.counts,
        )


class DeliveryRead(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    contact_id: int | None
    contact_name: str | None
    channel: DeliveryChannel
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryRead:
        d = row.delivery
        return cls(
            id=d.id or 0,
            organisation_id=d.organisation_id,
            organisation_name=row.organisation.name,
            contact_id=d.contact_id,
            contact_name=(row.contact.name or row.contact.email) if row.contact else None,
            channel=d.channel,
            state=d.state,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_error=d.last_error,
            sent_at=d.sent_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    limit: int
    offset: int


class Changed(BaseModel):
    changed: int
    progress: ProgressRead


@router.get("/sending", response_model=ProgressRead, responses=problems(404))
async def read_progress(
    campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> ProgressRead:
    """Deliveries per state (queued, sending, sent, retrying, failed, cancelled)."""
    return ProgressRead.of(await service.progress(session, campaign.id or 0))


async def _changed(session: SessionDep, campaign_id: int, changed: int) -> Changed:
    await session.flush()
    return Changed(
        changed=changed, progress=ProgressRead.of(await service.progress(session, campaign_id))
    )


@router.post("/sending/pause", response_model=Changed, responses=problems(404, 409))
async def pause_sending(campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep) -> Any:
    """Stop handing out deliveries (those being sent right now still finish)."""
    await service.pause(session, campaign)
    return await _changed(session, campaign.id or 0, 0)


@router.post("/sending/resume", response_model=Changed, responses=problems(404, 409))
async def resume_sending(campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep) -> Any:
    await service.resume(session, campaign)
    return await _changed(session, campaign.id or 0, 0)


@router.post("/sending/retry-failed", response_model=Changed, responses=problems(404, 409))
async def retry_failed(campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep) -> Any:
    """Try the failed deliveries again (and only those)."""
    changed = await service.retry_failed(session, campaign)
    return await _changed(session, campaign.id or 0, changed)


@router.post("/sending/cancel", response_model=Changed, responses=problems(404, 409))
async def cancel_sending(campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep) -> Any:
    """Cancel every delivery not yet sent."""
    changed = await service.cancel(session, campaign)
    return await _changed(session, campaign.id or 0, changed)


@router.get("/deliveries", response_model=DeliveryPage, responses=problems(404))
async def list_deliveries(
    campaign: ApiCampaignDep,
    _staff: ApiStaffDep,
    session: SessionDep,
    state: DeliveryState | None = None,
    channel: DeliveryChannel | None = None,
    organisation_id: DbId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeliveryPage:
    rows, total = await service.list_deliveries(
        session,
        campaign.id or 0,
        state=state,
        channel=channel,
        organisation_id=organisation_id,
        limit=limit,
        offset=offset,
    )
    return DeliveryPage(
        items=[DeliveryRead.of(r) for r in rows], total=total, limit=limit, offset=offset
    )


DELIVERY_COLUMNS = (
    "delivery_id",
    "organisation",
    "contact",
    "channel",
    "state",
    "attempts",
    "sent_at",
    "next_attempt_at",
    "last_error",
)


@router.get(
    "/deliveries.csv", response_class=Response, responses={**problems(404), 200: CSV_CONTENT}
)
async def export_deliveries(
    campaign: ApiCampaignDep,
    _staff: ApiStaffDep,
    session: SessionDep,
    state: DeliveryState | None = None,
    channel: DeliveryChannel | None = None,
    organisation_id: DbId | None = None,
    delimiter: Delimiter = "semicolon",
) -> Response:
    """The delivery list with the same filters, for Excel (UTF-8 with BOM)."""
    rows, _total = await service.list_deliveries(
        session,
        campaign.id or 0,
        state=state,
        channel=channel,
        organisation_id=organisation_id,
        limit=None,
    )

    def cells(row: DeliveryRow) -> list[str]:
        d = row.delivery
        return [
            str(d.id),
            row.organisation.name,
            (row.contact.name or row.contact.email) if row.contact else "",
            str(d.channel),
            str(d.state),
            str(d.attempts),
            d.sent_at.isoformat() if d.sent_at else "",
            d.next_attempt_at.isoformat() if d.next_attempt_at else "",
            d.last_error or "",
        ]

    content = export.write_csv(
        DELIVERY_COLUMNS, (cells(r) for r in rows), delimiter=export.DELIMITERS[delimiter]
    )
    return csv_response(content, f"deliveries-campaign-{campaign.id}")
