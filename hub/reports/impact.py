"""A partner's impact: what its own links and reports reached, campaign by campaign, in words a
volunteer coordinator can print and pin up ("your posters were scanned 212 times, in Somali and
Arabic").

A partner sees only its own organisation's numbers, and small counts as "<5" (the threshold
is a setting); officers looking at a partner's page see exact counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Campaign, Measure, ReachTotal


@dataclass
class ChannelImpact:
    channel: str
    clicks: int = 0
    uniques: int = 0
    shared_on: int = 0  # clicks on links citizens passed on from the partner's own
    languages: set[str] = field(default_factory=set)


@dataclass
class CampaignImpact:
    campaign: Campaign
    channels: list[ChannelImpact] = field(default_factory=list)
    reports: int = 0
    reported: int = 0
    downloads: int = 0

    @property
    def clicks(self) -> int:
        return sum(c.clicks for c in self.channels)


async def impact(session: AsyncSession, *, organisation_id: int) -> list[CampaignImpact]:
    """The organisation's campaigns, newest first, with its measured and reported reach."""
    query: Any = (
        sa.select(
            col(ReachTotal.campaign_id),
            col(ReachTotal.measure),
            col(ReachTotal.channel),
            col(ReachTotal.detail),
            col(ReachTotal.language),
            func.sum(ReachTotal.value),
        )
        .where(
            col(ReachTotal.organisation_id) == organisation_id,
            col(ReachTotal.measure).in_(
                (
                    Measure.clicks,
                    Measure.uniques,
                    Measure.reports,
                    Measure.reported,
                    Measure.downloads,
                )
            ),
        )
        .group_by(
            col(ReachTotal.campaign_id),
            col(ReachTotal.measure),
            col(ReachTotal.channel),
            col(ReachTotal.detail),
            col(ReachTotal.language),
        )
    )
    found: dict[int, dict[str, ChannelImpact]] = defaultdict(dict)
    totals: dict[int, dict[Measure, int]] = defaultdict(lambda: defaultdict(int))
    for campaign_id, measure, channel, detail, language, value in (await session.exec(query)).all():
        measure, value = Measure(measure), int(value or 0)
        if measure in (Measure.clicks, Measure.uniques):
            row = found[campaign_id].setdefault(channel, ChannelImpact(channel=channel))
            if measure is Measure.uniques:
                row.uniques += value
            elif detail == "1":
                row.clicks += value
            else:
                row.shared_on += value
            if value and language:
                row.languages.add(language)
        else:
            totals[campaign_id][measure] += value
    ids = set(found) | set(totals)
    if not ids:
        return []
    rows = await session.exec(select(Campaign).where(col(Campaign.id).in_(ids)))
    campaigns = {c.id: c for c in rows.all()}
    result = [
        CampaignImpact(
            campaign=campaigns[campaign_id],
            channels=sorted(
                found.get(campaign_id, {}).values(), key=lambda c: (-c.clicks, c.channel)
            ),
            reports=totals[campaign_id][Measure.reports],
            reported=totals[campaign_id][Measure.reported],
            downloads=totals[campaign_id][Measure.downloads],
        )
        for campaign_id in ids
        if campaign_id in campaigns
    ]
    return sorted(
        result,
        key=lambda c: c.campaign.published_at.timestamp() if c.campaign.published_at else 0,
        reverse=True,
    )
