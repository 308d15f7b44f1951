"""Rebuilding a campaign's ``reach_day`` rows from the source tables.

A rebuild replaces all of a campaign's rows in one transaction, so a report never sees half a
campaign and a rebuild run twice gives the same rows. The worker rebuilds the campaigns that
can still change (published, or closed in the last month) every two minutes; ``hub reports
rebuild`` rebuilds every campaign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    CampaignVisit,
    Delivery,
    DeliveryState,
    ForwardReport,
    ItemVariant,
    LinkDay,
    MaterialDownload,
    Measure,
    ReachChannelDay,
    ReachDay,
    ReachTotal,
    ReportKind,
    TrackedLink,
    utcnow,
)

TIMEZONE = ZoneInfo("Europe/Copenhagen")
CHUNK = 1000
# Closed campaigns still gather late clicks and reports for a while.
STILL_CHANGING = timedelta(days=31)
TOTAL_KEYS = ("organisation_id", "measure", "detail", "channel", "language", "item_id")
CHANNEL_DAY_KEYS = ("day", "measure", "detail", "channel")

Key = tuple[
    date, int, str, str, str, int | None
]  # day, organisation, detail, channel, language, item


def _day(moment: datetime) -> date:
    return moment.astimezone(TIMEZONE).date()


def _reach_column() -> Any:
    """A report's reach: what each kind counts as the people it reached."""
    return sa.case(
        (col(ForwardReport.kind) == ReportKind.meeting, col(ForwardReport.attendance)),
        (col(ForwardReport.kind) == ReportKind.door_to_door, col(ForwardReport.conversations)),
        else_=col(ForwardReport.audience_estimate),
    )


async def _sent(session: AsyncSession, campaign_id: int) -> Counter[Key]:
    rows = await session.exec(
        select(Delivery.sent_at, Delivery.organisation_id, Delivery.channel).where(
            Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.sent
        )
    )
    counts: Counter[Key] = Counter()
    for sent_at, organisation_id, channel in rows.all():
        if sent_at is not None:
            counts[(_day(sent_at), organisation_id, str(channel), "", "", None)] += 1
    return counts


async def _visits(session: AsyncSession, campaign_id: int) -> Counter[Key]:
    query: Any = (
        sa.select(col(CampaignVisit.day), col(CampaignVisit.organisation_id), func.count())
        .where(col(CampaignVisit.campaign_id) == campaign_id)
        .group_by(col(CampaignVisit.day), col(CampaignVisit.organisation_id))
    )
    rows = (await session.exec(query)).all()
    return Counter({(day, org, "", "", "", None): int(n) for day, org, n in rows})


async def _downloads(session: AsyncSession, campaign_id: int) -> Counter[Key]:
    rows = await session.exec(
        select(
            MaterialDownload.downloaded_at,
            MaterialDownload.organisation_id,
            ItemVariant.language,
            ItemVariant.item_id,
        )
        .join(ItemVariant, col(ItemVariant.id) == col(MaterialDownload.variant_id))
        .join(CampaignItem, col(CampaignItem.id) == col(ItemVariant.item_id))
        .where(
            CampaignItem.campaign_id == campaign_id,
            col(MaterialDownload.organisation_id).is_not(None),
        )
    )
    counts: Counter[Key] = Counter()
    for moment, organisation_id, language, item_id in rows.all():
        counts[(_day(moment), organisation_id or 0, "", "", language, item_id)] += 1
    return counts


async def _reports(session: AsyncSession, campaign_id: int) -> tuple[Counter[Key], Counter[Key]]:
    """Reports made and their reach, leaving out those an officer flagged as implausible."""
    # More columns than sqlmodel's select() is typed for, so SQLAlchemy's own.
    query: Any = (
        sa.select(
            col(ForwardReport.occurred_on),
            col(ForwardReport.organisation_id),
            col(ForwardReport.kind),
            col(ForwardReport.channel),
            col(ForwardReport.language),
            col(ForwardReport.item_id),
            func.count(),
            func.sum(func.coalesce(_reach_column(), 0)),
        )
        .where(
            col(ForwardReport.campaign_id) == campaign_id, col(ForwardReport.flagged_at).is_(None)
        )
        .group_by(
            col(ForwardReport.occurred_on),
            col(ForwardReport.organisation_id),
            col(ForwardReport.kind),
            col(ForwardReport.channel),
            col(ForwardReport.language),
            col(ForwardReport.item_id),
        )
    )
    made: Counter[Key] = Counter()
    reach: Counter[Key] = Counter()
    for day, org, kind, channel, language, item_id, n, people in (await session.exec(query)).all():
        key = (day, org, str(kind), str(channel or ""), language or "", item_id)
        made[key] += int(n)
        reach[key] += int(people or 0)
    return made, reach


async def _links(
    session: AsyncSession, campaign_id: int
) -> tuple[Counter[Key], Counter[Key], Counter[Key]]:
    hop = sa.case((col(TrackedLink.hop) > 1, "2+"), else_="1")
    query: Any = (
        sa.select(
            col(LinkDay.day),
            col(TrackedLink.organisation_id),
            hop,
            col(TrackedLink.channel),
            col(TrackedLink.language),
            col(TrackedLink.item_id),
            func.sum(LinkDay.clicks),
            func.sum(LinkDay.uniques),
            func.sum(LinkDay.previews),
        )
        .join(TrackedLink, col(TrackedLink.id) == col(LinkDay.link_id))
        .where(col(TrackedLink.campaign_id) == campaign_id)
        .group_by(
            col(LinkDay.day),
            col(TrackedLink.organisation_id),
            hop,
            col(TrackedLink.channel),
            col(TrackedLink.language),
            col(TrackedLink.item_id),
        )
    )
    clicks: Counter[Key] = Counter()
    uniques: Counter[Key] = Counter()
    previews: Counter[Key] = Counter()
    for day, org, hops, channel, language, item_id, c, u, p in (await session.exec(query)).all():
        key = (day, org, str(hops), str(channel), language, item_id)
        clicks[key] += int(c or 0)
        uniques[key] += int(u or 0)
        previews[key] += int(p or 0)
    return clicks, uniques, previews


def _rows(campaign_id: int, measure: Measure, counts: Counter[Key]) -> Iterable[dict[str, Any]]:
    for (day, org, detail, channel, language, item_id), value in counts.items():
        if value:
            yield {
                "campaign_id": campaign_id,
                "day": day,
                "organisation_id": org,
                "measure": measure.value,
                "detail": detail,
                "channel": channel,
                "language": language,
                "item_id": item_id,
                "value": value,
            }


async def rebuild_campaign(session: AsyncSession, campaign_id: int) -> int:
    """Replace the campaign's rollup rows with ones computed from the source tables."""
    made, reach = await _reports(session, campaign_id)
    clicks, uniques, previews = await _links(session, campaign_id)
    measures = {
        Measure.sent: await _sent(session, campaign_id),
        Measure.visits: await _visits(session, campaign_id),
        Measure.downloads: await _downloads(session, campaign_id),
        Measure.reports: made,
        Measure.reported: reach,
        Measure.clicks: clicks,
        Measure.uniques: uniques,
        Measure.previews: previews,
    }
    rows = [row for m, counts in measures.items() for row in _rows(campaign_id, m, counts)]
    # The same numbers twice more, coarser, for the reports that need no more detail.
    totals: Counter[tuple[Any, ...]] = Counter()
    channel_days: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        totals[
            (
                row["organisation_id"],
                row["measure"],
                row["detail"],
                row["channel"],
                row["language"],
                row["item_id"],
            )
        ] += row["value"]
        channel_days[(row["day"], row["measure"], row["detail"], row["channel"])] += row["value"]
    total_rows = [
        dict(zip(TOTAL_KEYS, key, strict=True), campaign_id=campaign_id, value=value)
        for key, value in totals.items()
    ]
    channel_day_rows = [
        dict(zip(CHANNEL_DAY_KEYS, key, strict=True), campaign_id=campaign_id, value=value)
        for key, value in channel_days.items()
    ]
    for model, written in (
        (ReachDay, rows),
        (ReachTotal, total_rows),
        (ReachChannelDay, channel_day_rows),
    ):
        await session.exec(delete(model).where(col(model.campaign_id) == campaign_id))
        table = model.__table__  # type: ignore[union-attr]
        for start in range(0, len(written), CHUNK):
            await session.exec(sa.insert(table), params=written[start : start + CHUNK])  # type: ignore[call-overload]
    return len(rows)


async def changing_campaigns(session: AsyncSession) -> list[int]:
    """Campaigns whose numbers can still change: published, or closed in the last month."""
    since = utcnow() - STILL_CHANGING
    rows = await session.exec(
        select(Campaign.id).where(
            col(Campaign.logs_pruned_at).is_(None),  # its figures are final: keep them
            sa.or_(
                col(Campaign.status) == CampaignStatus.published,
                sa.and_(
                    col(Campaign.status) == CampaignStatus.closed,
                    col(Campaign.closed_at) >= since,
                ),
            ),
        )
    )
    return [i for i in rows.all() if i is not None]


async def all_campaigns(session: AsyncSession) -> list[int]:
    """Every published campaign whose source rows are all there (not pruned by retention)."""
    rows = await session.exec(
        select(Campaign.id).where(
            col(Campaign.published_at).is_not(None), col(Campaign.logs_pruned_at).is_(None)
        )
    )
    return [i for i in rows.all() if i is not None]
