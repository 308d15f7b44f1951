"""JSON routes of reach reports (officers)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from hub.auth.dependencies import ApiStaffDep
from hub.dependencies import SessionDep, SettingsDep
from hub.errors import InvalidInput
from hub.i18n import _
from hub.models import MEASURE_KIND, Measure, OrganisationKind
from hub.reports import equity, service
from hub.reports.service import Dimension, Filters
from hub.schemas import MAX_DB_ID, DbId, IsoDate

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
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
    kind: Annotated[list[OrganisationKind] | None, Query(max_length=10)] = None,
    organisation_id: Annotated[list[DbId] | None, Query(max_length=100)] = None,
    area_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    language: Annotated[str | None, Query(min_length=2, max_length=8)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
) -> ReachRead:
    """Every measure per channel, partner kind, partner, area (with the areas below it),
    language, item, day or week, within the filters."""
    if start and end and start > end:
        raise InvalidInput(_("The start date is after the end date."))
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


class FunnelStepRead(BaseModel):
    name: str = Field(description="addressed, notified, opened_or_downloaded, reported or clicked")
    partners: int = Field(description="Partners at this step that also passed every step before")
    alone: int = Field(description="Partners at this step, whatever the steps before")
    drop: int = Field(description="Partners lost since the step before")


@router.get("/funnel", response_model=list[FunnelStepRead])
async def reach_funnel(
    _staff: ApiStaffDep,
    session: SessionDep,
    campaign_id: Annotated[int, Query(ge=1, le=MAX_DB_ID)],
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> list[FunnelStepRead]:
    """Partners addressed → notified → opened or downloaded → reported a forward → whose links
    were clicked, with the drop at each step."""
    steps = await equity.funnel(
        session, campaign_id=campaign_id, filters=Filters(start=start, end=end)
    )
    return [FunnelStepRead(**vars(step)) for step in steps]


class AreaEquityRead(BaseModel):
    area_id: int
    name: str
    population: int | None
    uptake: float | None
    uptake_change: float | None = Field(description="Percentage points since the figure before")
    partners: int = Field(description="Active partners serving the area or an area below it")
    languages: list[str]
    clicks: int
    uniques: int
    reported: int
    measured_per_1000: float | None = Field(description="Unique visitors per 1,000 residents")
    reported_per_1000: float | None
    flagged: bool


class LanguageEquityRead(BaseModel):
    language: str
    partners: int
    variants: int
    clicks: int
    uniques: int
    reported: int


class NextWaveRead(BaseModel):
    area_ids: list[int]
    audience_spec: dict[str, object] = Field(description="Ready for POST /api/v1/audiences")
    audience_url: str = Field(description="The audience builder with these areas chosen")


class EquityRead(BaseModel):
    threshold: float
    low_reach_per_1000: float
    areas: list[AreaEquityRead]
    next_wave: list[AreaEquityRead]
    next_wave_audience: NextWaveRead
    languages: list[LanguageEquityRead]


@router.get("/equity", response_model=EquityRead)
async def reach_equity(
    request: Request,
    _staff: ApiStaffDep,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
    threshold: Annotated[float | None, Query(gt=0, le=100)] = None,
    low_reach_per_1000: Annotated[float | None, Query(ge=0, le=1000)] = None,
) -> EquityRead:
    """Per area: uptake and its trend, active partners, their languages, reach per 1,000
    residents, and a flag where uptake is low and reach is low or nobody serves the area;
    the flagged areas ranked as the next wave's audience. Per language: partners, variants,
    reach."""
    view = await equity.equity(
        session,
        filters=Filters(campaign_id=campaign_id, start=start, end=end),
        threshold=threshold if threshold is not None else settings.equity_uptake_threshold,
        low_reach_per_1000=(
            low_reach_per_1000
            if low_reach_per_1000 is not None
            else settings.equity_low_reach_per_1000
        ),
    )
    wave = view.next_wave
    spec: dict[str, object] = {
        "area_ids": [a.area.id for a in wave],
        "uptake_below": view.threshold,
        "only_active": True,
    }
    query = urlencode(
        [("area_ids", a.area.id) for a in wave]
        + [("uptake_below", view.threshold), ("only_active", "1")]
    )
    return EquityRead(
        threshold=view.threshold,
        low_reach_per_1000=view.low_reach_per_1000,
        areas=[_area_read(a) for a in view.areas],
        next_wave=[_area_read(a) for a in wave],
        next_wave_audience=NextWaveRead(
            area_ids=[a.area.id or 0 for a in wave],
            audience_spec=spec,
            audience_url=f"{request.url_for('audiences_page')}?{query}",
        ),
        languages=[LanguageEquityRead(**vars(row)) for row in view.languages],
    )


def _area_read(row: equity.AreaEquity) -> AreaEquityRead:
    return AreaEquityRead(
        area_id=row.area.id or 0,
        name=row.area.name,
        population=row.area.population,
        uptake=row.uptake,
        uptake_change=row.uptake_change,
        partners=row.partners,
        languages=row.languages,
        clicks=row.clicks,
        uniques=row.uniques,
        reported=row.reported,
        measured_per_1000=row.measured_per_1000,
        reported_per_1000=row.reported_per_1000,
        flagged=row.flagged,
    )
