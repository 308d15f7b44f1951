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
    ReachChannelDay,
    ReachDay,
    ReachTotal,
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


def _dimension_column(by: Dimension, table: Any = ReachDay) -> Any:
    match by:
        case Dimension.channel:
            # Deliveries go out by e-mail, SMS or webhook; partners pass things on by theirs.
            return sa.case(
                (col(table.measure) == Measure.sent, col(table.detail)),
                else_=col(table.channel),
            )
        case Dimension.partner_kind:
            return col(Organisation.kind)
        case Dimension.partner:
            return col(table.organisation_id)
        case Dimension.area:
            return col(OrganisationArea.area_id)
        case Dimension.language:
            return col(table.language)
        case Dimension.item:
            return col(table.item_id)
    return col(table.day)  # day and week (weeks are made from days)


async def _area_partners(session: AsyncSession, area_id: int) -> list[int]:
    areas = list((await session.exec(select(Area))).all())
    wanted = descendants(areas, {area_id})
    rows = await session.exec(
        select(OrganisationArea.organisation_id)
        .where(col(OrganisationArea.area_id).in_(wanted))
        .distinct()
    )
    return list(rows.all())


def rollup_for(by: Dimension, filters: Filters) -> Any:
    """The smallest rollup that can answer: campaign totals when no day matters, channel days
    when nothing but campaign, dates and channel is asked for, else the full daily rows."""
    if by not in (Dimension.day, Dimension.week) and filters.start is None and filters.end is None:
        return ReachTotal
    narrow = filters.kinds or filters.organisation_ids or filters.area_id or filters.language
    if not narrow and by in (Dimension.day, Dimension.week, Dimension.channel):
        return ReachChannelDay
    return ReachDay


async def covers_everything(session: AsyncSession, filters: Filters) -> bool:
    """Whether the date range holds every day with numbers (a campaign's whole span, say):
    then the campaign totals answer as well as the daily rows, and much faster."""
    if filters.start is None and filters.end is None:
        return True
    query: Any = sa.select(
        sa.func.min(col(ReachChannelDay.day)), sa.func.max(col(ReachChannelDay.day))
    )
    if filters.campaign_id is not None:
        query = query.where(col(ReachChannelDay.campaign_id) == filters.campaign_id)
    first, last = (await session.exec(query)).one()
    if first is None:
        return True  # no numbers at all
    return (filters.start is None or filters.start <= first) and (
        filters.end is None or filters.end >= last
    )


async def choose_rollup(session: AsyncSession, by: Dimension, filters: Filters) -> Any:
    """:func:`rollup_for`, with a date range that covers every day treated as none."""
    if by not in (Dimension.day, Dimension.week) and await covers_everything(session, filters):
        return ReachTotal
    return rollup_for(by, filters)


async def reach(session: AsyncSession, *, by: Dimension, filters: Filters) -> list[ReachRow]:
    """Each measure per value of ``by`` (a partner serving two areas counts in both)."""
    table = await choose_rollup(session, by, filters)
    key = _dimension_column(by, table)
    # Clicks on links citizens shared on (the second hop and further) are told apart too.
    shared = sa.case(
        (sa.and_(col(table.measure) == Measure.clicks, col(table.detail) == "2+"), 1),
        else_=0,
    )
    query: Any = sa.select(key, col(table.measure), shared, sa.func.sum(col(table.value)))
    if by is Dimension.partner_kind or filters.kinds:
        query = query.join(Organisation, col(Organisation.id) == col(table.organisation_id))
    if by is Dimension.area:
        query = query.join(
            OrganisationArea,
            col(OrganisationArea.organisation_id) == col(table.organisation_id),
        )
    conditions: list[Any] = []
    if filters.campaign_id is not None:
        conditions.append(col(table.campaign_id) == filters.campaign_id)
    if table is not ReachTotal and filters.start is not None:
        conditions.append(col(table.day) >= filters.start)
    if table is not ReachTotal and filters.end is not None:
        conditions.append(col(table.day) <= filters.end)
    if filters.kinds:
        conditions.append(col(Organisation.kind).in_(filters.kinds))
    if filters.organisation_ids:
        conditions.append(col(table.organisation_id).in_(filters.organisation_ids))
    if filters.area_id is not None:
        partners = await _area_partners(session, filters.area_id)
        conditions.append(col(table.organisation_id).in_(partners or [-1]))
    if filters.language:
        conditions.append(col(table.language) == filters.language)
    if filters.channel:
        conditions.append(_dimension_column(Dimension.channel, table) == filters.channel)
    if conditions:
        query = query.where(*conditions)
    query = query.group_by(key, col(table.measure), shared)
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
    name: Any = {
        Dimension.partner: Organisation.name,
        Dimension.area: Area.name,
        Dimension.item: CampaignItem.title,
    }.get(by)
    if name is None:
        return {}
    # Two columns, not whole rows: a report by partner names five hundred of them.
    model: Any = name.class_
    query: Any = sa.select(col(model.id), col(name)).where(col(model.id).in_(ids))
    return {str(key): str(label) for key, label in (await session.exec(query)).all()}
