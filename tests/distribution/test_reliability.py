"""Nothing is lost and little is doubled when the worker is killed or Redis is emptied mid-run:
a real worker process, a private real Redis, a real SMTP server, 2,000 deliveries."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlmodel import col, func, select

from hub.campaigns import service as campaigns
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.distribution import service
from hub.embedded_redis import EmbeddedRedis
from hub.models import Delivery, DeliveryState, Role, User, utcnow
from hub.state import HubState
from tests.conftest import Mailbox
from tests.factories import make_partner, make_user

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 2000
# Every wait below is bounded: the test fails rather than hangs.
STEP_TIMEOUT = 90.0

# Fault injection: in make check-reliability, beside the scale-out run that sends 5,000 once.
pytestmark = [pytest.mark.reliability, pytest.mark.slow]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of this test's own, so that FLUSHALL touches nothing else."""
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def fast(settings: Settings, private_redis: str) -> Settings:
    settings.redis_url = private_redis
    settings.delivery_lease_seconds = 10
    settings.delivery_batch_size = 50
    settings.email_per_second = 0
    settings.notifications_per_contact_per_week = 100
    return settings


class WorkerProcess:
    """`hub worker` in a process of its own, configured like the test's hub."""

    def __init__(self, settings: Settings) -> None:
        self.env = {
            **os.environ,
            "HUB_ENV": "test",
            "HUB_SECRET_KEY": settings.secret_key,
            "HUB_DATABASE_URL": settings.resolved_database_url,
            "HUB_REDIS_URL": settings.redis_url,
            "HUB_REDIS_PREFIX": settings.redis_prefix,
            "HUB_SMTP_HOST": settings.smtp_host,
            "HUB_SMTP_PORT": str(settings.smtp_port),
            "HUB_BASE_URL": settings.base_url,
            "HUB_VAR_DIR": str(settings.var_dir),
            "HUB_MEDIA_ROOT": str(settings.media_root),
            "HUB_DEFAULT_LANGUAGE": "en",
            "HUB_DELIVERY_LEASE_SECONDS": str(settings.delivery_lease_seconds),
            "HUB_DELIVERY_BATCH_SIZE": str(settings.delivery_batch_size),
            "HUB_EMAIL_PER_SECOND": "0",
            "HUB_NOTIFICATIONS_PER_CONTACT_PER_WEEK": "100",
            "HUB_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def worker(fast: Settings) -> Iterator[WorkerProcess]:
    process = WorkerProcess(fast)
    try:
        yield process
    finally:
        process.stop()


async def _counts(db: Database, campaign_id: int) -> Counter[str]:
    async with unit_of_work(db, None, write=False) as session:
        rows = await session.exec(
            select(Delivery.state, func.count())
            .where(col(Delivery.campaign_id) == campaign_id)
            .group_by(col(Delivery.state))
        )
        return Counter({str(DeliveryState(state)): int(n) for state, n in rows.all()})


async def _wait_for(db: Database, campaign_id: int, sent: int) -> Counter[str]:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        counts = await _counts(db, campaign_id)
        if counts["sent"] >= sent:
            return counts
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {sent} sent in time: {dict(await _counts(db, campaign_id))}")


async def _sweep_until_done(db: Database, state: HubState, campaign_id: int) -> None:
    """What the worker's sweep does every minute, done here every second (and as if the
    grace for queued deliveries had passed, as it would have in real time)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        counts = await _counts(db, campaign_id)
        if counts["sent"] == CONTACTS:
            return
        async with unit_of_work(db, state.queue) as session:
            await service.sweep(
                session,
                batch_size=state.settings.delivery_batch_size,
                now=utcnow() + service.QUEUED_GRACE + timedelta(seconds=1),
            )
        await asyncio.sleep(1.0)
    raise AssertionError(f"not all sent in time: {dict(await _counts(db, campaign_id))}")


@pytest.fixture
async def campaign(db: Database, fast: Settings) -> AsyncIterator[tuple[int, HubState]]:
    """A campaign published to one organisation with 2,000 e-mail contacts."""
    organisation = await make_partner(db, languages=["so"])
    officer = await make_user(db, role=Role.officer)
    async with unit_of_work(db, None) as session:
        session.add_all(
            User(
                email=f"kontakt-{n:05d}@example.org",
                name=f"Kontakt {n}",
                role=Role.partner,
                organisation_id=organisation.id,
                language="da",
            )
            for n in range(CONTACTS)
        )
    state = await HubState.open(fast)
    try:
        async with unit_of_work(db, state.queue) as session:
            created = await campaigns.create_campaign(
                session,
                owner=officer,
                title="Vinterens vaccination",
                audience_spec={"languages": ["so"]},
            )
            await campaigns.create_item(session, created, kind="message", title="Budskab")  # type: ignore[arg-type]
            await campaigns.publish_campaign(session, created)
            campaign_id = created.id or 0
        yield campaign_id, state
    finally:
        await state.close()


def _message_ids(mailbox: Mailbox) -> Counter[str]:
    with mailbox.lock:
        return Counter(m["Message-ID"] for m in mailbox.messages)


async def test_a_worker_killed_twice_loses_nothing(
    db: Database,
    mailbox: Mailbox,
    worker: WorkerProcess,
    campaign: tuple[int, HubState],
) -> None:
    campaign_id, state = campaign
    in_flight = 0
    worker.start()
    for target in (400, 1200):
        await _wait_for(db, campaign_id, target)
        worker.kill()
        # What was claimed but not recorded may have gone out already: the only duplicates.
        in_flight += (await _counts(db, campaign_id))["sending"]
        worker.start()
    await _sweep_until_done(db, state, campaign_id)

    async with unit_of_work(db, None, write=False) as session:
        ids = (
            await session.exec(select(Delivery.id).where(Delivery.campaign_id == campaign_id))
        ).all()
    expected = {f"<delivery-{i}@testserver>" for i in ids}
    received = _message_ids(mailbox)
    assert set(received) == expected  # every delivery arrived
    duplicates = sum(received.values()) - len(expected)
    print(f"{len(expected)} delivered, {duplicates} duplicates, {in_flight} in flight at the kills")
    assert duplicates <= in_flight, (duplicates, in_flight)


async def test_an_emptied_redis_loses_nothing(
    db: Database,
    mailbox: Mailbox,
    worker: WorkerProcess,
    fast: Settings,
    campaign: tuple[int, HubState],
) -> None:
    campaign_id, state = campaign
    worker.start()
    await _wait_for(db, campaign_id, 300)
    redis = Redis.from_url(fast.redis_url)
    try:
        await redis.flushall()
    finally:
        await redis.aclose()
    await _sweep_until_done(db, state, campaign_id)
    counts = await _counts(db, campaign_id)
    assert counts == Counter({"sent": CONTACTS})
    received = _message_ids(mailbox)
    assert len(received) == CONTACTS
