"""Retention: old report photos and download rows are deleted, the reach figures stay."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta

from sqlmodel import col, select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.materials.storage import LocalStorage
from hub.models import (
    Campaign,
    CampaignStatus,
    ForwardReport,
    Material,
    MaterialDownload,
    MaterialKind,
    Measure,
    ReachTotal,
    ReportKind,
    utcnow,
)
from hub.reports import rollup
from tests.tracking.conftest import Published, make_published, store
from workers.reports import rebuild
from workers.system import run_retention

DAYS = 400


async def photo_report(db: Database, settings: Settings, p: Published, *, age_days: int) -> int:
    data = secrets.token_bytes(64)
    async with unit_of_work(db, None) as session:
        material = Material(
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content_type="image/png",
            kind=MaterialKind.image,
            extension="png",
            storage_key=store(settings, data, "png"),
        )
        session.add(material)
        await session.flush()
        report = ForwardReport(
            organisation_id=p.organisation.id or 0,
            campaign_id=p.campaign.id or 0,
            kind=ReportKind.posters,
            occurred_on=date.today(),
            poster_count=12,
            buildings="Blok 4",
            evidence_material_id=material.id,
            created_at=utcnow() - timedelta(days=age_days),
        )
        session.add(report)
        await session.flush()
        return report.id or 0


async def downloads(db: Database, p: Published, *ages: int) -> None:
    async with unit_of_work(db, None) as session:
        for age in ages:
            session.add(
                MaterialDownload(
                    organisation_id=p.organisation.id,
                    material_id=p.film_material.id or 0,
                    variant_id=await _film_variant(session, p),
                    downloaded_at=utcnow() - timedelta(days=age),
                )
            )


async def _film_variant(session: object, p: Published) -> int:
    from hub.models import ItemVariant

    found = await session.exec(  # type: ignore[attr-defined]
        select(ItemVariant.id).where(ItemVariant.item_id == p.film.id)
    )
    return int(found.first())


async def downloads_total(db: Database, campaign_id: int) -> int:
    async with unit_of_work(db, None, write=False) as session:
        rows = await session.exec(
            select(ReachTotal.value).where(
                ReachTotal.campaign_id == campaign_id, ReachTotal.measure == Measure.downloads
            )
        )
        return sum(rows.all())


async def test_old_photos_and_downloads_go_the_figures_stay(
    db: Database, settings: Settings
) -> None:
    settings.retention_days = DAYS
    p = await make_published(db, settings, status="closed")
    async with unit_of_work(db, None) as session:
        campaign = await session.get(Campaign, p.campaign.id)
        assert campaign is not None
        campaign.closed_at = utcnow() - timedelta(days=60)  # its figures are final
        session.add(campaign)
    old_report = await photo_report(db, settings, p, age_days=DAYS + 5)
    new_report = await photo_report(db, settings, p, age_days=10)
    await downloads(db, p, DAYS + 30, DAYS + 1, 3)
    await rebuild(db, [p.campaign.id or 0])
    assert await downloads_total(db, p.campaign.id or 0) == 3
    async with unit_of_work(db, None, write=False) as session:
        old = await session.get(ForwardReport, old_report)
        assert old is not None and old.evidence_material_id is not None
        old_photo = await session.get(Material, old.evidence_material_id)
        assert old_photo is not None
    storage = LocalStorage(settings.media_root)
    assert storage.exists(old_photo.storage_key)

    done = await run_retention(db, settings)
    assert done == {"photos": 1, "downloads": 2, "campaigns_frozen": 1}

    async with unit_of_work(db, None, write=False) as session:
        old = await session.get(ForwardReport, old_report)
        new = await session.get(ForwardReport, new_report)
        assert old is not None and old.evidence_material_id is None
        assert old.poster_count == 12  # the report itself stays
        assert new is not None and new.evidence_material_id is not None
        assert await session.get(Material, old_photo.id) is None
        left = (await session.exec(select(MaterialDownload))).all()
        assert len(left) == 1
        campaign = await session.get(Campaign, p.campaign.id)
        assert campaign is not None and campaign.logs_pruned_at is not None
        assert p.campaign.id not in await rollup.all_campaigns(session)
        assert p.campaign.id not in await rollup.changing_campaigns(session)
    assert not storage.exists(old_photo.storage_key)
    # The figures made from the deleted rows are kept: the campaign is not rebuilt from them.
    assert await downloads_total(db, p.campaign.id or 0) == 3
    again = await run_retention(db, settings)
    assert again == {"photos": 0, "downloads": 0, "campaigns_frozen": 0}


async def test_a_campaign_still_running_keeps_its_download_log(
    db: Database, settings: Settings
) -> None:
    settings.retention_days = DAYS
    p = await make_published(db, settings)
    await downloads(db, p, DAYS + 30)
    done = await run_retention(db, settings)
    assert done["downloads"] == 0
    async with unit_of_work(db, None, write=False) as session:
        assert len((await session.exec(select(MaterialDownload))).all()) == 1
        campaign = await session.get(Campaign, p.campaign.id)
        assert campaign is not None and campaign.status is CampaignStatus.published
        assert campaign.logs_pruned_at is None
        assert (
            await session.exec(select(Campaign).where(col(Campaign.logs_pruned_at).is_not(None)))
        ).first() is None
