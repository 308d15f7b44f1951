"""Retention: forward reports' photos and the download log are deleted once they are older than
``HUB_RETENTION_DAYS``; the reach figures made from them are kept.

A download row counts in its campaign's rollups, which are rebuilt while the campaign can still
change. So downloads are deleted only for campaigns whose figures are final (closed or
archived more than a month ago, see hub.reports.rollup.STILL_CHANGING), and the campaign is
marked: it is never rebuilt from the shortened log again. Downloads that count nowhere (made
by staff, or of no campaign's version) go by age alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    ForwardReport,
    ItemVariant,
    Material,
    MaterialDownload,
)
from hub.reports.rollup import STILL_CHANGING


@dataclass(frozen=True)
class Pruned:
    """What one run deleted, and the media keys to delete once it is committed."""

    photos: int
    downloads: int
    campaigns_frozen: int
    keys: list[str]


async def prune(session: AsyncSession, *, now: datetime, days: int) -> Pruned:
    """Delete what is older than ``days`` in the caller's unit of work (files: after commit)."""
    cutoff = now - timedelta(days=days)
    photos, keys = await _prune_photos(session, cutoff)
    final = (
        await session.exec(
            select(Campaign.id).where(
                col(Campaign.status).in_([CampaignStatus.closed, CampaignStatus.archived]),
                col(Campaign.closed_at) < now - STILL_CHANGING,
            )
        )
    ).all()
    of_campaign = (
        select(ItemVariant.id)
        .join(CampaignItem, col(CampaignItem.id) == col(ItemVariant.item_id))
        .where(col(CampaignItem.campaign_id).in_(final))
    )
    counted = sa.and_(
        col(MaterialDownload.organisation_id).is_not(None),
        col(MaterialDownload.variant_id).is_not(None),
    )
    old = col(MaterialDownload.downloaded_at) < cutoff
    deleted = await session.exec(
        sa.delete(MaterialDownload)
        .where(old, sa.or_(sa.not_(counted), col(MaterialDownload.variant_id).in_(of_campaign)))
        .returning(col(MaterialDownload.variant_id))
    )
    downloads = len(deleted.all())
    frozen = 0
    if downloads:
        marked = await session.exec(
            sa.update(Campaign)
            .where(col(Campaign.id).in_(final), col(Campaign.logs_pruned_at).is_(None))
            .values(logs_pruned_at=now)
            .returning(col(Campaign.id))
        )
        frozen = len(marked.all())
    return Pruned(photos=photos, downloads=downloads, campaigns_frozen=frozen, keys=keys)


async def _prune_photos(session: AsyncSession, cutoff: datetime) -> tuple[int, list[str]]:
    reports = (
        await session.exec(
            select(ForwardReport).where(
                col(ForwardReport.evidence_material_id).is_not(None),
                col(ForwardReport.created_at) < cutoff,
            )
        )
    ).all()
    material_ids = [r.evidence_material_id for r in reports if r.evidence_material_id]
    for report in reports:
        report.evidence_material_id = None
        session.add(report)
    await session.flush()
    materials = (
        await session.exec(select(Material).where(col(Material.id).in_(material_ids)))
    ).all()
    keys = [
        key
        for m in materials
        for key in (m.storage_key, m.poster_key, m.whatsapp_key)
        if key is not None
    ]
    if material_ids:
        await session.exec(
            sa.delete(MaterialDownload).where(col(MaterialDownload.material_id).in_(material_ids))
        )
        await session.exec(sa.delete(Material).where(col(Material.id).in_(material_ids)))
    return len(reports), keys
