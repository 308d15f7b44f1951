"""The standalone `hub worker` outlives a Redis outage: once Redis is back the same process
takes jobs again, and a SIGTERM still stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hub import jobs
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import User
from tests.browser.conftest import ROOT, hub_environment
from tests.conftest import Mailbox
from tests.factories import make_user
from tests.reliability.conftest import RedisServer

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(120)]

OUTAGE_SECONDS = 5.0
STOP_SECONDS = 5.0


def start_worker(settings: Settings, log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "worker", *args],
            cwd=ROOT,
            env=hub_environment(settings, base_url="http://127.0.0.1"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def send_sign_in_link(db: Database, settings: Settings, user: User) -> None:
    """Ask for a sign-in e-mail the way the hub does: a job enqueued once the work commits."""
    queue = await jobs.create_queue(
        settings.redis_url, prefix=settings.redis_prefix, queue_name=settings.queue_name
    )
    try:
        async with unit_of_work(db, queue) as session:
            jobs.defer(session, "auth.send_magic_link", user.id or 0)
    finally:
        await queue.pool.aclose()


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def test_the_standalone_worker_takes_jobs_again_after_a_redis_outage_and_stops_cleanly(
    own_redis: RedisServer, settings: Settings, db: Database, mailbox: Mailbox, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"redis_url": own_redis.url})
    before = await make_user(db, email="before@example.org", password=None)
    after = await make_user(db, email="after@example.org", password=None)
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log)
    try:
        await send_sign_in_link(db, settings, before)
        assert await mailbox.arrival(before.email, 30), f"no mail before the outage:\n{tail(log)}"

        own_redis.stop()
        await asyncio.sleep(OUTAGE_SECONDS)
        assert worker.poll() is None, f"the worker exited when Redis went away:\n{tail(log)}"
        own_redis.start()

        await send_sign_in_link(db, settings, after)
        assert await mailbox.arrival(after.email, 60), f"no mail after the outage:\n{tail(log)}"
        assert worker.poll() is None  # the same process, never restarted
        assert "worker.redis_lost" in log.read_text(errors="replace"), "the outage went unseen"

        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, STOP_SECONDS) == 0, tail(log)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    assert len(mailbox.to(after.email)) == len(mailbox.to(before.email)) == 1
