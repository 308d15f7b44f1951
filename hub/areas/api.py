"""JSON routes for areas and their vaccination uptake."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hub.areas import service
from hub.areas.dependencies import AreaDep
from hub.areas.schemas import AreaCreate, AreaPage, AreaRead, AreaUpdate, UptakeRead, UptakeWrite
from hub.auth.dependencies import ApiStaffDep, ApiUserDep
from hub.dependencies import SessionDep
from hub.models import Area, AreaKind
from hub.schemas import problems

router = APIRouter(prefix="/api/v1/areas", tags=["areas"])


def area_read(area: Area, latest: service.UptakePoint | None) -> AreaRead:
    return AreaRead(
        id=area.id,  # type: ignore[arg-type]
        code=area.code,
        name=area.name,
        kind=area.kind,
        parent_id=area.parent_id,
        population=area.population,
        latest_uptake=UptakeRead(measured_on=latest.measured_on, share_percent=latest.share_percent)
        if latest
        else None,
    )


@router.get("", response_model=AreaPage)
async def list_areas(
    _user: ApiUserDep,
    session: SessionDep,
    kind: AreaKind | None = None,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AreaPage:
    rows, total = await service.list_areas(session, search=q, kind=kind, limit=limit, offset=offset)
    latest = await service.latest_uptake(session, {a.id for a in rows})  # type: ignore[misc]
    return AreaPage(
        items=[area_read(a, latest.get(a.id)) for a in rows],  # type: ignore[arg-type]
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "", response_model=AreaRead, status_code=status.HTTP_201_CREATED, responses=problems(409)
)
async def create_area(body: AreaCreate, _staff: ApiStaffDep, session: SessionDep) -> AreaRead:
    area = await service.create_area(
        session,
        code=body.code,
        name=body.name,
        kind=body.kind,
        parent_id=body.parent_id,
        population=body.population,
    )
    return area_read(area, None)


@router.get("/{area_id}", response_model=AreaRead, responses=problems(404))
async def read_area(area: AreaDep, _user: ApiUserDep, session: SessionDep) -> AreaRead:
    latest = await service.latest_uptake(session, {area.id})  # type: ignore[arg-type]
    return area_read(area, latest.get(area.id))  # type: ignore[arg-type]


@router.patch("/{area_id}", response_model=AreaRead, responses=problems(404))
async def update_area(
    body: AreaUpdate, area: AreaDep, _staff: ApiStaffDep, session: SessionDep
) -> AreaRead:
    updated = await service.update_area(session, area, body.model_dump(exclude_unset=True))
    latest = await service.latest_uptake(session, {area.id})  # type: ignore[arg-type]
    return area_read(updated, latest.get(area.id))  # type: ignore[arg-type]


@router.get("/{area_id}/uptake", response_model=list[UptakeRead], responses=problems(404))
async def list_uptake(
    area: AreaDep,
    _user: ApiUserDep,
    session: SessionDep,
    age_band: Annotated[str, Query(max_length=20)] = "",
) -> list[UptakeRead]:
    series = await service.uptake_series(session, {area.id}, age_band=age_band)  # type: ignore[arg-type]
    return [
        UptakeRead(measured_on=p.measured_on, share_percent=p.share_percent, age_band=age_band)
        for p in series.get(area.id or 0, [])
    ]


@router.put("/{area_id}/uptake", response_model=UptakeRead, responses=problems(404))
async def record_uptake(
    body: UptakeWrite, area: AreaDep, _staff: ApiStaffDep, session: SessionDep
) -> UptakeRead:
    """Set the uptake on a date (and age band); the same date again replaces the value."""
    row, _changed = await service.record_uptake(
        session,
        area,
        measured_on=body.measured_on,
        share_percent=body.share_percent,
        age_band=body.age_band,
    )
    return UptakeRead(
        measured_on=row.measured_on, share_percent=row.share_percent, age_band=row.age_band
    )
