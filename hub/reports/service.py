"""Reach by channel, partner kind, partner, area, language, item and over time, read from the
``reach_day`` rollups (never from per-event rows).

Every measure stays apart: a row carries each measure under its own name, and nothing here
adds a reported number to a measured one, or one kind of report to another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas.service import descendants
from hub.models import (
    Area,
    CampaignItem,
    Measure,
    Organisation,
    OrganisationArea,
    OrganisationKind,
    ReachDay,
)


class Dimension(StrEnum):
    channel = "channel"
    partner_kind = "partner_kind"
    partner = "partner"
    area = "area"
    language = "language"
    item = "item"
    day = "day"
    week = "week"


@dataclass(frozen=True)
class Filters:
    campaign_id: int | None = None
    start: date | None = None
    end: date | None = None
    kinds: tuple[OrganisationKind, ...] = ()
    organisation_ids: tuple[int, ...] = ()
    area_id: int | None = None  # with the areas below it
    language: str | None = None
    channel: str | None = None


@dataclass
class ReachRow:
    key: str
    values: dict[Measure, int] = field(default_factory=dict)
    # Of the clicks, those on links citizens shared on from a partner's own.
    shared_clicks: int = 0


def _dimension_column(by: Dimension) -> Any:
    match by:
        case Dimension.channel:
            # Deliveries go out by e-mail, SMS or webhook; partners pass things on by theirs.
            return sa.case(
                (col(ReachDay.measure) == Measure.sent, col(ReachDay.detail)),
                else_=col(ReachDay.channel),
            )
        case Dimension.partner_kind:
            return col(Organisation.kind)
        case Dimension.partner:
            return col(ReachDay.organisation_id)
        case Dimension.area:
            return col(OrganisationArea.area_id)
        case Dimension.language:
            return col(ReachDay.language)
        case Dimension.item:
            return col(ReachDay.item_id)
    return col(ReachDay.day)  # day and week (weeks are made from days)


async def _area_partners(session: AsyncSession, area_id: int) -> list[int]:
    areas = list((await session.exec(select(Area))).all())
    wanted = descendants(areas, {area_id})
    rows = await session.exec(
        select(OrganisationArea.organisation_id)
        .where(col(OrganisationArea.area_id).in_(wanted))
        .distinct()
    )
    return list(rows.all())


async def reach(session: AsyncSession, *, by: Dimension, filters: Filters) -> list[ReachRow]:
    """Each measure per value of ``by`` (a partner serving two areas counts in both)."""
    key = _dimension_column(by)
    # Clicks on links citizens shared on (the second hop and further) are told apart too.
    shared = sa.case(
        (sa.and_(col(ReachDay.measure) == Measure.clicks, col(ReachDay.detail) == "2+"), 1),
        else_=0,
    )
    query: Any = sa.select(key, col(ReachDay.measure), shared, sa.func.sum(col(ReachDay.value)))
    if by is Dimension.partner_kind or filters.kinds:
        query = query.join(Organisation, col(Organisation.id) == col(ReachDay.organisation_id))
    if by is Dimension.area:
        query = query.join(
            OrganisationArea,
            col(OrganisationArea.organisation_id) == col(ReachDay.organisation_id),
        )
    conditions: list[Any] = []
    if filters.campaign_id is not None:
        conditions.append(col(ReachDay.campaign_id) == filters.campaign_id)
    if filters.start is not None:
        conditions.append(col(ReachDay.day) >= filters.start)
    if filters.end is not None:
        conditions.append(col(ReachDay.day) <= filters.end)
    if filters.kinds:
        conditions.append(col(Organisation.kind).in_(filters.kinds))
    if filters.organisation_ids:
        conditions.append(col(ReachDay.organisation_id).in_(filters.organisation_ids))
    if filters.area_id is not None:
        partners = await _area_partners(session, filters.area_id)
        conditions.append(col(ReachDay.organisation_id).in_(partners or [-1]))
    if filters.language:
        conditions.append(col(ReachDay.language) == filters.language)
    if filters.channel:
        conditions.append(_dimension_column(Dimension.channel) == filters.channel)
    if conditions:
        query = query.where(*conditions)
    query = query.group_by(key, col(ReachDay.measure), shared)
    rows: dict[str, ReachRow] = {}
    for value, measure, shared_on, total in (await session.exec(query)).all():
        if by is Dimension.week and value is not None:
            value = value - timedelta(days=value.weekday())  # the Monday of its ISO week
        name = "" if value is None else str(value)
        row = rows.setdefault(name, ReachRow(key=name))
        measure = Measure(measure)
        row.values[measure] = row.values.get(measure, 0) + int(total or 0)
        if shared_on:
            row.shared_clicks += int(total or 0)
    ordered = sorted(rows.values(), key=lambda r: r.key)
    if by not in (Dimension.day, Dimension.week):
        # The largest reach first: measured clicks, then what partners reported, then sent.
        ordered.sort(
            key=lambda r: (
                -r.values.get(Measure.clicks, 0),
                -r.values.get(Measure.reported, 0),
                -r.values.get(Measure.sent, 0),
            )
        )
    return ordered


def totals(rows: list[ReachRow]) -> dict[Measure, int]:
    """Each measure summed over the rows (for areas a partner may count more than once)."""
    summed: dict[Measure, int] = defaultdict(int)
    for row in rows:
        for measure, value in row.values.items():
            summed[measure] += value
    return dict(summed)


async def labels(session: AsyncSession, by: Dimension, keys: list[str]) -> dict[str, str]:
    """Names for the keys of partners, areas and items (the others are labelled by callers)."""
    ids = [int(k) for k in keys if k.isdigit()]
    if not ids:
        return {}
    model: Any = {
        Dimension.partner: Organisation,
        Dimension.area: Area,
        Dimension.item: CampaignItem,
    }.get(by)
    if model is None:
        return {}
    found = await session.exec(select(model).where(col(model.id).in_(ids)))
    return {str(obj.id): getattr(obj, "name", None) or obj.title for obj in found.all()}
