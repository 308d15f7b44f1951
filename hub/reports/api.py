"""JSON routes of reach reports (officers)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hub.auth.dependencies import ApiStaffDep
from hub.dependencies import SessionDep
from hub.errors import InvalidInput
from hub.i18n import _
from hub.models import MEASURE_KIND, Measure, OrganisationKind
from hub.reports import service
from hub.reports.service import Dimension, Filters
from hub.schemas import MAX_DB_ID

router = APIRouter(prefix="/api/v1/reach", tags=["reach reports"])


class ReachRowRead(BaseModel):
    key: str = Field(description="The value of the dimension: a channel, an id, a day...")
    label: str
    measures: dict[Measure, int]


class ReachRead(BaseModel):
    by: Dimension
    measure_kinds: dict[Measure, str] = Field(
        description="sent, engaged, reported or measured: never add measures of two kinds"
    )
    rows: list[ReachRowRead]
    totals: dict[Measure, int]


@router.get("", response_model=ReachRead)
async def reach(
    _staff: ApiStaffDep,
    session: SessionDep,
    by: Dimension = Dimension.channel,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    kind: Annotated[list[OrganisationKind] | None, Query(max_length=10)] = None,
    organisation_id: Annotated[list[int] | None, Query(max_length=100)] = None,
    area_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    language: Annotated[str | None, Query(min_length=2, max_length=8)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
) -> ReachRead:
    """Every measure per channel, partner kind, partner, area (with the areas below it),
    language, item, day or week, within the filters."""
    if start and end and start > end:
        raise InvalidInput(_("The start date is after the end date."))
    if any(not 1 <= i <= MAX_DB_ID for i in organisation_id or []):
        raise InvalidInput(_("No such organisation."))
    rows = await service.reach(
        session,
        by=by,
        filters=Filters(
            campaign_id=campaign_id,
            start=start,
            end=end,
            kinds=tuple(kind or ()),
            organisation_ids=tuple(organisation_id or ()),
            area_id=area_id,
            language=language,
            channel=channel,
        ),
    )
    names = await service.labels(session, by, [r.key for r in rows])
    return ReachRead(
        by=by,
        measure_kinds={m: MEASURE_KIND[m] for m in Measure},
        rows=[
            ReachRowRead(key=r.key, label=names.get(r.key, r.key), measures=r.values) for r in rows
        ],
        totals=service.totals(rows),
    )
