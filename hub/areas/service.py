"""Areas (municipality, districts, parishes, housing areas) and their vaccination uptake."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Conflict, FieldError, InvalidInput
from hub.i18n import _
from hub.models import Area, AreaKind, AreaUptake
from hub.text import clean, search_text

ALL_AGES = ""


@dataclass(frozen=True)
class UptakePoint:
    measured_on: date
    share_percent: float


async def all_areas(session: AsyncSession) -> list[Area]:
    return list((await session.exec(select(Area).order_by(col(Area.code)))).all())


async def area_by_code(session: AsyncSession, code: str) -> Area | None:
    return (await session.exec(select(Area).where(Area.code == code.strip()))).first()


def descendants(areas: list[Area], roots: set[int]) -> set[int]:
    """The given area ids and every area below them (a parent includes its children)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for area in areas:
        children[area.parent_id].append(area.id)  # type: ignore[arg-type]
    found: set[int] = set()
    stack = [r for r in roots]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


async def expand_areas(session: AsyncSession, roots: set[int]) -> set[int]:
    if not roots:
        return set()
    return descendants(await all_areas(session), roots)


def _check_parent(areas: list[Area], area_id: int | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    known = {a.id for a in areas}
    if parent_id not in known:
        raise InvalidInput(
            _("The parent area does not exist."),
            errors=[FieldError("parent_id", _("The parent area does not exist."))],
        )
    if area_id is not None and parent_id in descendants(areas, {area_id}):
        raise InvalidInput(
            _("An area cannot lie inside itself."),
            errors=[FieldError("parent_id", _("An area cannot lie inside itself."))],
        )


async def create_area(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: AreaKind,
    parent_id: int | None = None,
    population: int | None = None,
) -> Area:
    code = clean(code, field="code", max_length=40)
    name = clean(name, field="name", max_length=200)
    errors = []
    if not code:
        errors.append(FieldError("code", _("Give the area a code.")))
    if not name:
        errors.append(FieldError("name", _("Give the area a name.")))
    if population is not None and population < 0:
        errors.append(FieldError("population", _("The population cannot be negative.")))
    if errors:
        raise InvalidInput(errors[0].message, errors=errors)
    if await area_by_code(session, code) is not None:
        raise Conflict(
            _("An area with this code exists already."),
            errors=[FieldError("code", _("An area with this code exists already."))],
        )
    _check_parent(await all_areas(session), None, parent_id)
    area = Area(
        code=code, name=name, kind=AreaKind(kind), parent_id=parent_id, population=population
    )
    session.add(area)
    await session.flush()
    return area


async def update_area(session: AsyncSession, area: Area, changes: dict[str, Any]) -> Area:
    """Apply the given field changes (name, kind, parent_id, population) to an area."""
    if "name" in changes:
        name = clean(changes["name"], field="name", max_length=200)
        if not name:
            raise InvalidInput(
                _("Give the area a name."), errors=[FieldError("name", _("Give the area a name."))]
            )
        area.name = name
    if changes.get("kind") is not None:
        area.kind = AreaKind(changes["kind"])
    if "parent_id" in changes:
        _check_parent(await all_areas(session), area.id, changes["parent_id"])
        area.parent_id = changes["parent_id"]
    if "population" in changes:
        population = changes["population"]
        if population is not None and population < 0:
            raise InvalidInput(
                _("The population cannot be negative."),
                errors=[FieldError("population", _("The population cannot be negative."))],
            )
        area.population = population
    session.add(area)
    await session.flush()
    return area


async def record_uptake(
    session: AsyncSession,
    area: Area,
    *,
    measured_on: date,
    share_percent: float,
    age_band: str = ALL_AGES,
) -> tuple[AreaUptake, bool]:
    """Set the uptake of an area on a date (and age band); returns (row, changed)."""
    if measured_on > date.today() + timedelta(days=1):
        message = _("The date is in the future.")
        raise InvalidInput(message, errors=[FieldError("measured_on", message)])
    if not 0 <= share_percent <= 100:
        raise InvalidInput(
            _("Uptake is a share between 0 and 100 %."),
            errors=[FieldError("share_percent", _("Uptake is a share between 0 and 100 %."))],
        )
    age_band = age_band.strip()
    existing = (
        await session.exec(
            select(AreaUptake).where(
                AreaUptake.area_id == area.id,
                AreaUptake.measured_on == measured_on,
                AreaUptake.age_band == age_band,
            )
        )
    ).first()
    if existing is not None:
        if abs(existing.share_percent - share_percent) < 1e-9:
            return existing, False
        existing.share_percent = share_percent
        session.add(existing)
        await session.flush()
        return existing, True
    row = AreaUptake(
        area_id=area.id,  # type: ignore[arg-type]
        measured_on=measured_on,
        share_percent=share_percent,
        age_band=age_band,
    )
    session.add(row)
    await session.flush()
    return row, True


async def latest_uptake(
    session: AsyncSession, area_ids: set[int] | None = None
) -> dict[int, UptakePoint]:
    """The newest all-ages uptake of each area."""
    newest = (
        select(AreaUptake.area_id, func.max(AreaUptake.measured_on).label("measured_on"))
        .where(AreaUptake.age_band == ALL_AGES)
        .group_by(col(AreaUptake.area_id))
        .subquery()
    )
    query = (
        select(AreaUptake)
        .join(
            newest,
            sa.and_(
                col(AreaUptake.area_id) == newest.c.area_id,
                col(AreaUptake.measured_on) == newest.c.measured_on,
            ),
        )
        .where(AreaUptake.age_band == ALL_AGES)
    )
    if area_ids is not None:
        query = query.where(col(AreaUptake.area_id).in_(area_ids))
    rows = (await session.exec(query)).all()
    return {r.area_id: UptakePoint(r.measured_on, r.share_percent) for r in rows}


async def uptake_series(
    session: AsyncSession, area_ids: set[int] | None = None, age_band: str = ALL_AGES
) -> dict[int, list[UptakePoint]]:
    query = select(AreaUptake).where(AreaUptake.age_band == age_band)
    if area_ids is not None:
        query = query.where(col(AreaUptake.area_id).in_(area_ids))
    series: dict[int, list[UptakePoint]] = defaultdict(list)
    for row in (await session.exec(query.order_by(col(AreaUptake.measured_on)))).all():
        series[row.area_id].append(UptakePoint(row.measured_on, row.share_percent))
    return dict(series)


async def uptake_rows(session: AsyncSession, area_id: int) -> list[AreaUptake]:
    """Every uptake figure of an area, all age bands, newest first."""
    query = (
        select(AreaUptake)
        .where(AreaUptake.area_id == area_id)
        .order_by(col(AreaUptake.measured_on).desc(), col(AreaUptake.age_band))
    )
    return list((await session.exec(query)).all())


def effective_uptake(areas: list[Area], latest: dict[int, UptakePoint]) -> dict[int, UptakePoint]:
    """Each area's latest uptake: its own figure, else the nearest parent's.

    A housing area without figures of its own is as far behind as its district; one with its
    own figures is judged by them, whatever its district shows.
    """
    parent = {a.id: a.parent_id for a in areas}
    result: dict[int, UptakePoint] = {}
    for area in areas:
        current: int | None = area.id
        seen: set[int] = set()
        while current is not None and current not in seen:
            if current in latest:
                result[area.id] = latest[current]  # type: ignore[index]
                break
            seen.add(current)
            current = parent.get(current)
    return result


async def areas_below(session: AsyncSession, threshold: float) -> set[int]:
    """Areas whose latest all-ages uptake (their own, else their parent's) is below
    ``threshold`` percent."""
    effective = effective_uptake(await all_areas(session), await latest_uptake(session))
    return {area_id for area_id, point in effective.items() if point.share_percent < threshold}


async def list_areas(
    session: AsyncSession,
    *,
    search: str = "",
    kind: AreaKind | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Area], int]:
    query = select(Area)
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        query = query.where(
            sa.or_(
                func.lower(col(Area.name)).like(pattern), func.lower(col(Area.code)).like(pattern)
            )
        )
    if kind is not None:
        query = query.where(Area.kind == kind)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(col(Area.code)).limit(limit).offset(offset))
    return list(rows.all()), int(total)
