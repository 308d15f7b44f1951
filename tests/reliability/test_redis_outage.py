"""Redis stopped for ten seconds under traffic: the tracked links keep answering, the clicks
counted meanwhile wait in the web process and reach the daily counts once Redis is back, and
the job worker picks up work again without a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlmodel import func, select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, LinkDay
from hub.tracking import rollup, service
from hub.tracking.counter import Keys
from tests.browser.conftest import HubServer
from tests.conftest import Mailbox
from tests.factories import csrf_from
from tests.reliability.conftest import RedisServer
from tests.tracking.conftest import make_published

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(240)]

OUTAGE_SECONDS = 10.0
BEFORE, DURING_BATCH, AFTER = 300, 50, 200
CONNECTIONS = 16


async def _clicks(client: httpx.AsyncClient, url: str, count: int) -> list[int]:
    statuses: list[int] = []

    async def one_by_one(n: int) -> None:
        for _ in range(n):
            statuses.append((await client.get(url)).status_code)

    share = [
        count // CONNECTIONS + (1 if i < count % CONNECTIONS else 0) for i in range(CONNECTIONS)
    ]
    await asyncio.gather(*(one_by_one(n) for n in share))
    return statuses


async def _counted(db: Database) -> int:
    async with unit_of_work(db, None, write=False) as session:
        total = await session.scalar(select(func.coalesce(func.sum(LinkDay.clicks), 0)))
        return int(total or 0)


async def _sign_in_link_arrives(
    client: httpx.AsyncClient, base: str, email: str, mailbox: Mailbox, seconds: float
) -> bool:
    """Ask for a sign-in link on the real server; whether its e-mail comes within ``seconds``."""
    mailbox.clear()
    form = await client.get(f"{base}/login")
    answer = await client.post(
        f"{base}/login/link", data={"email": email, "csrf_token": csrf_from(form.text)}
    )
    assert answer.status_code == 200, answer.text
    return await mailbox.arrival(email, seconds)


async def test_redirects_answer_and_clicks_survive_a_redis_outage(
    own_redis: RedisServer, settings: Settings, db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"redis_url": own_redis.url})
    published = await make_published(db, settings)
    async with unit_of_work(db, None) as session:
        link = await service.get_or_create_link(
            session,
            organisation_id=published.organisation.id or 0,
            campaign=published.campaign,
            item=published.message,
            language="ar",
            channel=Channel.whatsapp,
        )
    server = HubServer(settings, tmp_path / "hub.log", worker=True)
    limits = httpx.Limits(
        max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS, keepalive_expiry=1.0
    )
    try:
        server.wait_ready()
        url = f"{server.url}/s/{link.code}"
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            assert await _sign_in_link_arrives(
                client, server.url, published.contact.email, mailbox, 20
            ), "the worker sends mail before the outage"
            before = await _clicks(client, url, BEFORE)
            await asyncio.sleep(1.0)  # handed to Redis (every half second)

            own_redis.stop()
            started = time.monotonic()
            during: list[int] = []
            while time.monotonic() - started < OUTAGE_SECONDS:  # ten seconds of clicks
                during += await _clicks(client, url, DURING_BATCH)
                await asyncio.sleep(0.2)
            health = await client.get(f"{server.url}/readyz")
            own_redis.start()

            after = await _clicks(client, url, AFTER)
            assert set(before + during + after) == {302}, "every click was answered"
            assert health.status_code == 503, "readiness says Redis is away"

            # The worker takes work again without a restart. (Another person: one address's
            # requests within a minute are folded into one e-mail.)
            assert await _sign_in_link_arrives(
                client, server.url, published.officer.email, mailbox, 60
            ), f"the worker did not come back after Redis:\n{server.log_tail()}"
        await server.stop()  # hands over what it still holds
    finally:
        server.kill()

    redis = aioredis.Redis.from_url(own_redis.url)
    try:
        await rollup.flush_clicks(db, redis, Keys(settings.redis_prefix))
    finally:
        await redis.aclose()
    assert await _counted(db) == BEFORE + len(during) + AFTER
