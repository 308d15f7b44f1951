"""The equity view: which areas and language groups are behind on uptake and not yet reached,
so the next wave goes there; and the funnel from partners addressed to links clicked.

Reach per area counts what the partners serving the area (or an area below it) measured and
reported; a partner serving two areas counts in both, since nobody knows where a click came
from. Reported and measured reach stay apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas import service as areas
from hub.models import (
    Area,
    AreaUptake,
    CampaignItem,
    CampaignRecipient,
    ItemVariant,
    Measure,
    Organisation,
    OrganisationArea,
    OrganisationLanguage,
    OrganisationStatus,
    ReachTotal,
)
from hub.reports.service import Dimension, Filters, choose_rollup


@dataclass
class AreaEquity:
    area: Area
    uptake: float | None
    uptake_change: float | None  # percentage points since the figure before
    partners: int  # active partners serving it or an area below it
    languages: list[str]
    clicks: int
    uniques: int
    reported: int
    flagged: bool = False
    # People below the uptake threshold: how much a wave here could matter.
    gap: float = 0.0

    def per_1000(self, value: int) -> float | None:
        population = self.area.population
        return round(value * 1000 / population, 1) if population else None

    @property
    def measured_per_1000(self) -> float | None:
        return self.per_1000(self.uniques)

    @property
    def reported_per_1000(self) -> float | None:
        return self.per_1000(self.reported)


@dataclass
class LanguageEquity:
    language: str
    partners: int
    variants: int
    clicks: int
    uniques: int
    reported: int


@dataclass
class FunnelStep:
    name: str
    partners: int  # those that also passed every step before
    alone: int  # those at this step, whatever the steps before
    drop: int = 0


@dataclass
class Equity:
    threshold: float
    low_reach_per_1000: float
    areas: list[AreaEquity] = field(default_factory=list)
    languages: list[LanguageEquity] = field(default_factory=list)

    @property
    def next_wave(self) -> list[AreaEquity]:
        """Flagged areas, those with the most people below the threshold first."""
        return sorted(
            (a for a in self.areas if a.flagged),
            key=lambda a: (-a.gap, a.uptake if a.uptake is not None else 0, a.area.name),
        )


async def _rollup(session: AsyncSession, filters: Filters) -> Any:
    """Campaign totals unless a date range needs the daily rows (as for a report by partner)."""
    return await choose_rollup(session, Dimension.partner, filters)


def _conditions(filters: Filters, table: Any) -> list[Any]:
    found: list[Any] = []
    if filters.campaign_id is not None:
        found.append(col(table.campaign_id) == filters.campaign_id)
    if table is not ReachTotal and filters.start is not None:
        found.append(col(table.day) >= filters.start)
    if table is not ReachTotal and filters.end is not None:
        found.append(col(table.day) <= filters.end)
    return found


async def _partner_measures(
    session: AsyncSession, filters: Filters, measures: tuple[Measure, ...]
) -> dict[int, dict[Measure, int]]:
    table = await _rollup(session, filters)
    query: Any = (
        sa.select(col(table.organisation_id), col(table.measure), func.sum(table.value))
        .where(col(table.measure).in_(measures), *_conditions(filters, table))
        .group_by(col(table.organisation_id), col(table.measure))
    )
    found: dict[int, dict[Measure, int]] = defaultdict(dict)
    for organisation_id, measure, total in (await session.exec(query)).all():
        found[organisation_id][Measure(measure)] = int(total or 0)
    return found


async def equity(
    session: AsyncSession, *, filters: Filters, threshold: float, low_reach_per_1000: float
) -> Equity:
    """Every area with its uptake, partners, languages and reach per 1,000 residents, flagged
    where uptake is below ``threshold`` and reach is low or no active partner serves it."""
    all_areas = await areas.all_areas(session)
    latest = areas.effective_uptake(all_areas, await areas.latest_uptake(session))
    changes = await _uptake_changes(session)
    active: set[int | None] = set(
        (
            await session.exec(
                select(Organisation.id).where(Organisation.status == OrganisationStatus.active)
            )
        ).all()
    )
    served: dict[int, set[int]] = defaultdict(set)  # area → partners serving exactly it
    for organisation_id, area_id in (
        await session.exec(select(OrganisationArea.organisation_id, OrganisationArea.area_id))
    ).all():
        served[area_id].add(organisation_id)
    spoken: dict[int, set[str]] = defaultdict(set)
    for organisation_id, language in (
        await session.exec(
            select(OrganisationLanguage.organisation_id, OrganisationLanguage.language)
        )
    ).all():
        spoken[organisation_id].add(language)
    measures = await _partner_measures(
        session, filters, (Measure.clicks, Measure.uniques, Measure.reported)
    )
    result = Equity(threshold=threshold, low_reach_per_1000=low_reach_per_1000)
    serving = _serving(all_areas, served)
    for area in sorted(all_areas, key=lambda a: a.name.lower()):
        partners = serving.get(area.id or 0, set())
        point = latest.get(area.id or 0)
        row = AreaEquity(
            area=area,
            uptake=point.share_percent if point else None,
            uptake_change=changes.get(area.id or 0),
            partners=len(partners & active),
            languages=sorted({lang for p in partners & active for lang in spoken.get(p, set())}),
            clicks=sum(measures.get(p, {}).get(Measure.clicks, 0) for p in partners),
            uniques=sum(measures.get(p, {}).get(Measure.uniques, 0) for p in partners),
            reported=sum(measures.get(p, {}).get(Measure.reported, 0) for p in partners),
        )
        if row.uptake is not None and row.uptake < threshold:
            reach = row.measured_per_1000
            row.flagged = row.partners == 0 or reach is None or reach < low_reach_per_1000
            row.gap = (threshold - row.uptake) / 100 * (area.population or 0)
        result.areas.append(row)
    result.languages = await _languages(session, filters, active, spoken)
    return result


def _serving(all_areas: list[Area], served: dict[int, set[int]]) -> dict[int, set[int]]:
    """Each area's partners: those serving it or any area below it (once per tree walk)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for area in all_areas:
        children[area.parent_id].append(area.id or 0)
    found: dict[int, set[int]] = {}

    def walk(area_id: int, seen: frozenset[int]) -> set[int]:
        if area_id in found:
            return found[area_id]
        partners = set(served.get(area_id, set()))
        for child in children.get(area_id, []):
            if child not in seen:  # a cycle in bad data must not loop forever
                partners |= walk(child, seen | {area_id})
        found[area_id] = partners
        return partners

    for area in all_areas:
        walk(area.id or 0, frozenset())
    return found


async def _uptake_changes(session: AsyncSession) -> dict[int, float]:
    """Percentage points between each area's two newest all-ages figures."""
    query: Any = sa.select(
        col(AreaUptake.area_id), col(AreaUptake.measured_on), col(AreaUptake.share_percent)
    ).where(col(AreaUptake.age_band) == areas.ALL_AGES)
    newest: dict[int, list[tuple[Any, float]]] = defaultdict(list)
    for area_id, measured_on, share in (await session.exec(query)).all():
        points = newest[area_id]
        points.append((measured_on, share))
        if len(points) > 2:
            points.sort(reverse=True)
            del points[2:]
    return {
        area_id: round(max(points)[1] - min(points)[1], 1)
        for area_id, points in newest.items()
        if len(points) == 2
    }


async def _languages(
    session: AsyncSession, filters: Filters, active: set[int | None], spoken: dict[int, set[str]]
) -> list[LanguageEquity]:
    partners: dict[str, int] = defaultdict(int)
    for organisation_id, languages in spoken.items():
        if organisation_id in active:
            for language in languages:
                partners[language] += 1
    variants_query: Any = sa.select(col(ItemVariant.language), func.count()).join(
        CampaignItem, col(CampaignItem.id) == col(ItemVariant.item_id)
    )
    if filters.campaign_id is not None:
        variants_query = variants_query.where(col(CampaignItem.campaign_id) == filters.campaign_id)
    variants = dict((await session.exec(variants_query.group_by(col(ItemVariant.language)))).all())
    table = await _rollup(session, filters)
    reach_query: Any = (
        sa.select(col(table.language), col(table.measure), func.sum(table.value))
        .where(
            col(table.measure).in_((Measure.clicks, Measure.uniques, Measure.reported)),
            col(table.language) != "",
            *_conditions(filters, table),
        )
        .group_by(col(table.language), col(table.measure))
    )
    reach: dict[str, dict[Measure, int]] = defaultdict(dict)
    for language, measure, total in (await session.exec(reach_query)).all():
        reach[language][Measure(measure)] = int(total or 0)
    codes = sorted(set(partners) | set(variants) | set(reach))
    rows = [
        LanguageEquity(
            language=code,
            partners=partners.get(code, 0),
            variants=int(variants.get(code, 0)),
            clicks=reach[code].get(Measure.clicks, 0),
            uniques=reach[code].get(Measure.uniques, 0),
            reported=reach[code].get(Measure.reported, 0),
        )
        for code in codes
    ]
    # The language groups least reached first.
    return sorted(rows, key=lambda r: (r.uniques, r.reported, r.language))


FUNNEL = (
    ("addressed", None),
    ("notified", (Measure.sent,)),
    ("opened_or_downloaded", (Measure.visits, Measure.downloads)),
    ("reported", (Measure.reports,)),
    ("clicked", (Measure.clicks,)),
)


async def funnel(session: AsyncSession, *, campaign_id: int, filters: Filters) -> list[FunnelStep]:
    """Partners addressed → notified → opened or downloaded → reported → their links clicked."""
    addressed = set(
        (
            await session.exec(
                select(CampaignRecipient.organisation_id).where(
                    CampaignRecipient.campaign_id == campaign_id
                )
            )
        ).all()
    )
    measures = await _partner_measures(
        session,
        Filters(campaign_id=campaign_id, start=filters.start, end=filters.end),
        tuple(m for _name, wanted in FUNNEL if wanted for m in wanted),
    )
    steps: list[FunnelStep] = []
    passed = set(addressed)
    for name, wanted in FUNNEL:
        if wanted is None:
            at_step = set(addressed)
        else:
            at_step = {p for p in addressed if any(measures.get(p, {}).get(m, 0) for m in wanted)}
        passed &= at_step
        step = FunnelStep(name=name, partners=len(passed), alone=len(at_step))
        if steps:
            step.drop = steps[-1].partners - step.partners
        steps.append(step)
    return steps
