"""Reach from the rollups, checked against the fixture computed by hand: every measure, kept
apart, per partner, channel, area (with the areas below it), language and day."""

from __future__ import annotations

import httpx
from sqlmodel import func, select

from hub.db import Database, unit_of_work
from hub.models import CampaignVisit, ReachDay
from tests.factories import api_token, bearer, make_contact, make_partner
from tests.reports.conftest import DAY1, DAY2, ROOT, Fixture, reach


async def test_every_measure_per_partner(
    client: httpx.AsyncClient, db: Database, fixture: Fixture
) -> None:
    rows = await reach(client, fixture, by="partner")
    assert rows[str(fixture.a)]["label"] == "Forening A"
    assert rows[str(fixture.a)]["measures"] == {
        "sent": 3,  # two e-mails and an SMS; the failed e-mail is not sent
        "visits": 2,
        "downloads": 3,
        "reports": 2,
        "reported": 65,  # 40 reached by WhatsApp + 25 at the meeting
        "clicks": 14,  # 10 on its own link + 4 on the link shared on from it
        "uniques": 12,
        "previews": 3,
    }
    assert rows[str(fixture.b)]["measures"] == {
        "sent": 2,
        "visits": 1,
        "reports": 1,  # the flagged report is left out
        "reported": 7,  # conversations at the door, not doors knocked on
        "clicks": 5,
        "uniques": 5,
        "previews": 1,
    }
    # Clicks first: A before B.
    assert list(rows) == [str(fixture.a), str(fixture.b)]
    from hub.reports import service
    from hub.reports.service import Dimension, Filters

    async with unit_of_work(db, None, write=False) as session:
        found = await service.reach(
            session, by=Dimension.partner, filters=Filters(campaign_id=fixture.campaign_id)
        )
    assert {r.key: r.shared_clicks for r in found} == {str(fixture.a): 4, str(fixture.b): 0}


async def test_channels_keep_deliveries_and_partners_own_channels_apart(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    rows = await reach(client, fixture, by="channel")
    measures = {key: row["measures"] for key, row in rows.items()}
    assert measures["email"] == {"sent": 3}
    assert measures["sms"] == {"sent": 1}
    assert measures["webhook"] == {"sent": 1}
    assert measures["whatsapp"] == {
        "reports": 1,
        "reported": 40,
        "clicks": 14,
        "uniques": 12,
        "previews": 3,
    }
    assert measures["facebook"] == {"clicks": 5, "uniques": 5, "previews": 1}
    assert measures["meeting"] == {"reports": 1, "reported": 25}
    assert measures["door_to_door"] == {"reports": 1, "reported": 7}
    assert measures[""] == {"visits": 3, "downloads": 3}  # not by any channel


async def test_areas_include_the_areas_below_them(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    below = await reach(client, fixture, by="partner", area_id=fixture.top_area)
    assert list(below) == [str(fixture.a)]
    by_area = await reach(client, fixture, by="area")
    labels = {row["label"]: row["measures"]["clicks"] for row in by_area.values()}
    assert labels == {"Nordvest": 14, "Amager": 5}


async def test_language_day_week_kind_and_filters(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    languages = await reach(client, fixture, by="language")
    assert languages["ar"]["measures"] == {
        "downloads": 3,
        "reports": 1,
        "reported": 40,
        "clicks": 14,
        "uniques": 12,
        "previews": 3,
    }
    assert languages["da"]["measures"]["clicks"] == 5
    days = await reach(client, fixture, by="day")
    assert list(days) == [str(DAY1), str(DAY2)]
    assert days[str(DAY1)]["measures"]["clicks"] == 10
    assert days[str(DAY2)]["measures"]["clicks"] == 9
    weeks = await reach(client, fixture, by="week")
    assert list(weeks) == [str(DAY1)] and weeks[str(DAY1)]["measures"]["clicks"] == 19
    kinds = await reach(client, fixture, by="partner_kind")
    assert kinds["faith_community"]["measures"]["reported"] == 7
    only_day2 = await reach(client, fixture, by="partner", **{"from": str(DAY2), "to": str(DAY2)})
    assert only_day2[str(fixture.a)]["measures"]["clicks"] == 4
    whatsapp = await reach(client, fixture, by="partner", channel="whatsapp")
    assert list(whatsapp) == [str(fixture.a)]
    items = await reach(client, fixture, by="item")
    assert items[str(fixture.item_id)]["label"] == "Hej"


async def test_rebuilding_gives_the_same_rows_and_the_worker_keeps_them_current(
    client: httpx.AsyncClient, db: Database, fixture: Fixture, settings: object
) -> None:
    async with unit_of_work(db, None, write=False) as session:
        before = (await session.exec(select(func.count()).select_from(ReachDay))).one()
    from hub.state import HubState
    from workers.reports import refresh

    state = await HubState.open(settings)  # type: ignore[arg-type]
    try:
        assert await refresh({"hub": state}) == {"campaigns": 1, "rows": before}
    finally:
        await state.close()
    async with unit_of_work(db, None, write=False) as session:
        assert (await session.exec(select(func.count()).select_from(ReachDay))).one() == before


async def test_only_officers_and_bad_filters_are_refused(
    client: httpx.AsyncClient, db: Database, fixture: Fixture
) -> None:
    partner = await make_partner(db, name="P")
    token = bearer(await api_token(client, db, await make_contact(db, partner)))
    assert (await client.get("/api/v1/reach", headers=token)).status_code == 403
    for params in ({"by": "color"}, {"from": "2026-11-05", "to": "2026-11-01"}, {"area_id": 0}):
        response = await client.get("/api/v1/reach", params=params, headers=fixture.officer)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


async def test_hub_reports_rebuild_restores_the_rollups(
    db: Database, fixture: Fixture, settings: object
) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    from sqlmodel import delete

    async with unit_of_work(db, None) as session:
        before = (await session.exec(select(func.count()).select_from(ReachDay))).one()
        await session.exec(delete(ReachDay))
    env = {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_SECRET_KEY": settings.secret_key,  # type: ignore[attr-defined]
        "HUB_DATABASE_URL": settings.resolved_database_url,  # type: ignore[attr-defined]
        "HUB_VAR_DIR": str(settings.var_dir),  # type: ignore[attr-defined]
        "HUB_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "reports", "rebuild",
        cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert f"of 1 campaigns ({before} rows)" in out.decode()
    async with unit_of_work(db, None, write=False) as session:
        assert (await session.exec(select(func.count()).select_from(ReachDay))).one() == before


async def test_opening_the_kit_counts_one_visit_a_day(
    client: httpx.AsyncClient, db: Database, settings: object
) -> None:
    from tests.factories import login
    from tests.tracking.conftest import make_published

    published = await make_published(db, settings)  # type: ignore[arg-type]
    await login(client, published.contact.email)
    for _ in range(2):
        page = await client.get(f"/portal/campaigns/{published.campaign.id}")
        assert page.status_code == 200
    async with unit_of_work(db, None, write=False) as session:
        visits = (await session.exec(select(CampaignVisit))).all()
    assert [(v.user_id, v.organisation_id) for v in visits] == [
        (published.contact.id, published.organisation.id)
    ]


async def test_the_three_rollups_agree(client: httpx.AsyncClient, fixture: Fixture) -> None:
    """Campaign totals, channel days and the full daily rows give the same answers."""
    from hub.models import ReachChannelDay, ReachDay, ReachTotal
    from hub.reports.service import Dimension, Filters, rollup_for

    span = {"from": str(DAY1), "to": str(DAY2)}
    assert rollup_for(Dimension.channel, Filters()) is ReachTotal
    assert rollup_for(Dimension.channel, Filters(start=DAY1)) is ReachChannelDay
    assert rollup_for(Dimension.partner, Filters(start=DAY1)) is ReachDay
    assert rollup_for(Dimension.day, Filters(language="ar")) is ReachDay
    for by in ("channel", "partner", "language", "area"):
        whole = await reach(client, fixture, by=by)
        dated = await reach(client, fixture, by=by, **span)
        assert {k: r["measures"] for k, r in whole.items()} == {
            k: r["measures"] for k, r in dated.items()
        }, by
    days = await reach(client, fixture, by="day")
    narrowed = await reach(client, fixture, by="day", kind=["association", "faith_community"])
    assert {k: r["measures"] for k, r in days.items()} == {
        k: r["measures"] for k, r in narrowed.items()
    }
