"""The report rollup killed while it works: the figures are never half-rebuilt (each campaign
is replaced in one transaction), and run again they are exactly right."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, LinkDay, Measure, ReachTotal, TrackedLink
from tests.browser.conftest import ROOT, hub_environment
from tests.tracking.conftest import Published, make_published

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(240)]

CAMPAIGNS = 4
LINKS = 400  # per campaign
DAYS = 60  # per link: 24,000 daily rows per campaign


async def seed(db: Database, settings: Settings) -> list[Published]:
    made = [await make_published(db, settings) for _ in range(CAMPAIGNS)]
    start = date.today() - timedelta(days=DAYS)
    async with db.engine.begin() as connection:
        for p in made:
            links = [
                {
                    "code": secrets.token_urlsafe(9)[:12],
                    "key": f"load:{p.campaign.id}:{n}",
                    "organisation_id": p.organisation.id,
                    "campaign_id": p.campaign.id,
                    "item_id": p.message.id,
                    "language": "ar",
                    "channel": Channel.whatsapp.value,
                    "placement": f"group {n}",
                    "hop": 1,
                }
                for n in range(LINKS)
            ]
            ids = (
                (
                    await connection.execute(
                        sa.insert(TrackedLink).returning(TrackedLink.id),  # type: ignore[arg-type]
                        links,
                    )
                )
                .scalars()
                .all()
            )
            await connection.execute(
                sa.insert(LinkDay),
                [
                    {
                        "link_id": link_id,
                        "day": start + timedelta(days=d),
                        "clicks": 1 + (link_id + d) % 7,
                        "previews": 0,
                        "uniques": 1,
                    }
                    for link_id in ids
                    for d in range(DAYS)
                ],
            )
    return made


def rebuild_process(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "reports", "rebuild"],
        cwd=ROOT,
        env=hub_environment(settings, base_url="http://127.0.0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def figures(db: Database, campaign_id: int) -> tuple[int, int]:
    """(clicks in the campaign's totals, clicks in its daily source rows)."""
    async with unit_of_work(db, None, write=False) as session:
        rolled = await session.scalar(
            select(func.coalesce(func.sum(ReachTotal.value), 0)).where(
                ReachTotal.campaign_id == campaign_id, ReachTotal.measure == Measure.clicks
            )
        )
        source = await session.scalar(
            select(func.coalesce(func.sum(LinkDay.clicks), 0))
            .join(TrackedLink, TrackedLink.id == LinkDay.link_id)  # type: ignore[arg-type]
            .where(TrackedLink.campaign_id == campaign_id)
        )
    return int(rolled or 0), int(source or 0)


async def test_a_rollup_killed_midway_is_whole_or_untouched_and_right_when_run_again(
    db: Database, settings: Settings
) -> None:
    made = await seed(db, settings)
    ids = [p.campaign.id or 0 for p in made]
    # Killed at once (still starting), then right after the first campaign is rebuilt.
    process = rebuild_process(settings)
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process = rebuild_process(settings)
    deadline = time.monotonic() + 120
    while (await figures(db, ids[0]))[0] == 0:
        assert process.poll() is None and time.monotonic() < deadline, "no campaign rebuilt"
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    states = []
    for campaign_id in ids:
        rolled, source = await figures(db, campaign_id)
        assert rolled in (0, source), (campaign_id, rolled, source)  # whole or untouched
        states.append(rolled == source)
    assert states[0] and not all(states), f"the kill came mid-way: {states}"

    started = time.monotonic()
    process = rebuild_process(settings)
    assert process.wait(timeout=180) == 0
    for campaign_id in ids:
        rolled, source = await figures(db, campaign_id)
        assert rolled == source > 0, (campaign_id, rolled, source)
    assert time.monotonic() - started < 180
