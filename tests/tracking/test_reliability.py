"""10,000 clicks over concurrent connections across two real web processes, with previews and
HEADs alongside; one process stopped gracefully, the other killed: the rollups count exactly
the clicks. Then the database (and Redis) are searched for the visitors' addresses and agents."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlmodel import SQLModel, func, select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, LinkDay
from hub.tracking import service
from hub.tracking.counter import is_preview
from tests.tracking.conftest import flush, make_published

ROOT = Path(__file__).resolve().parents[2]
CLICKS = 10_000
PREVIEWS = 400
HEADS = 200
CONNECTIONS = 64
PROBE_ADDRESS = "203.0.113.77"
PROBE_AGENT = "PrivacyProbe/9.9 (Linux; Android 14; SM-X999)"
STEP_TIMEOUT = 120.0
MAX_UNANSWERED = 5

# Fault injection: in make check-reliability, beside the scale-out run's 20,000 clicks.
pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(300)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebProcess:
    """`hub serve --no-worker` in a process of its own, configured like the test's hub."""

    def __init__(self, settings: Settings) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "HUB_ENV": "test",
            "HUB_SECRET_KEY": settings.secret_key,
            "HUB_DATABASE_URL": settings.resolved_database_url,
            "HUB_REDIS_URL": settings.redis_url,
            "HUB_REDIS_PREFIX": settings.redis_prefix,
            "HUB_VAR_DIR": str(settings.var_dir),
            "HUB_MEDIA_ROOT": str(settings.media_root),
            "HUB_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", "--no-worker", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the web process died while starting"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the web process did not start")

    def stop(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=STEP_TIMEOUT)


@pytest.fixture
def processes(settings: Settings) -> Iterator[list[WebProcess]]:
    started = [WebProcess(settings), WebProcess(settings)]
    try:
        for web in started:
            web.wait_ready()
        yield started
    finally:
        for web in started:
            if web.process.poll() is None:
                web.process.kill()
                web.process.wait(timeout=STEP_TIMEOUT)


@dataclass
class Traffic:
    """What was sent and what came back. A request whose connection broke before its answer
    came may or may not have been counted (the server may have read it): it is set apart, and
    the totals must lie between what was answered and that plus the unanswered ones."""

    answers: list[httpx.Response] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)


def _kind(method: str, headers: dict[str, str]) -> str:
    return "preview" if is_preview(method, headers["User-Agent"].encode()) else "click"


async def _traffic(urls: list[str], code: str) -> Traffic:
    """CLICKS clicks, PREVIEWS previews and HEADS heads, spread over both processes."""
    # Idle connections are dropped by the client well before uvicorn's 5 s keep-alive ends:
    # otherwise, on a loaded machine, a request can meet a connection the server is closing.
    limits = httpx.Limits(
        max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS, keepalive_expiry=1.0
    )
    queue: asyncio.Queue[tuple[str, str, dict[str, str]]] = asyncio.Queue()
    for n in range(CLICKS):
        # Visitors: the probe's address and agent, and others that differ by agent.
        agent = PROBE_AGENT if n % 10 == 0 else f"Mozilla/5.0 (visitor {n % 97})"
        headers = {"User-Agent": agent, "X-Forwarded-For": PROBE_ADDRESS}
        queue.put_nowait(("GET", urls[n % 2], headers))
    for n in range(PREVIEWS):
        queue.put_nowait(("GET", urls[n % 2], {"User-Agent": "WhatsApp/2.24.1.6 A"}))
    for n in range(HEADS):
        queue.put_nowait(("HEAD", urls[n % 2], {"User-Agent": PROBE_AGENT}))
    traffic = Traffic()

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            method, base, headers = queue.get_nowait()
            try:
                answer = await client.request(method, f"{base}/s/{code}", headers=headers)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                traffic.unanswered[_kind(method, headers)] += 1
            else:
                traffic.answers.append(answer)

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.wait_for(
            asyncio.gather(*(worker(client) for _ in range(CONNECTIONS))), STEP_TIMEOUT
        )
        # A citizen's landing page from the real server, too.
        traffic.answers.append(
            await client.get(f"{urls[0]}/c/{code}", headers={"User-Agent": PROBE_AGENT})
        )
    return traffic


def _dump(db: Database, settings: Settings) -> str:
    """Every value of every table, as text."""
    if db.is_sqlite:
        path = settings.resolved_database_url.split("///", 1)[1]
        with sqlite3.connect(path) as connection:
            return "\n".join(connection.iterdump())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return ""  # the rows are read one by one below in any case
    url = settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://")
    done = subprocess.run(
        [pg_dump, "--data-only", url], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout if done.returncode == 0 else ""


async def _dump_rows(db: Database) -> str:
    lines: list[str] = []
    async with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = await connection.execute(sa.select(table))
            lines.extend(repr(tuple(row)) for row in rows)
    return "\n".join(lines)


async def test_ten_thousand_clicks_across_two_processes_are_counted_exactly(
    processes: list[WebProcess], db: Database, settings: Settings
) -> None:
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
    traffic = await _traffic([web.url for web in processes], link.code)
    answers = traffic.answers
    assert all(a.status_code == 302 for a in answers[:-1])
    assert answers[-1].status_code == 200
    assert not [a for a in answers if "set-cookie" in a.headers]
    # A broken connection is rare on loopback, even on a loaded machine.
    assert sum(traffic.unanswered.values()) <= MAX_UNANSWERED, traffic.unanswered

    # One process stops gracefully (hands over everything); the other is killed hard after
    # a second, which is more than one hand-over interval.
    processes[0].stop(signal.SIGTERM)
    await asyncio.sleep(1.2)
    processes[1].stop(signal.SIGKILL)
    await flush(settings, db)
    async with unit_of_work(db, None, write=False) as session:
        clicks, previews, uniques = (
            await session.exec(
                select(
                    func.sum(LinkDay.clicks), func.sum(LinkDay.previews), func.sum(LinkDay.uniques)
                )
            )
        ).one()
    # Every answered request is counted once; none is counted twice.
    assert CLICKS - traffic.unanswered["click"] <= clicks <= CLICKS
    assert PREVIEWS + HEADS - traffic.unanswered["preview"] <= previews <= PREVIEWS + HEADS
    # 98 different agents behind one address (HyperLogLog: within a few percent).
    assert 90 <= uniques <= 106

    # Privacy: neither the address nor the agent is anywhere in the database or in Redis.
    dump = _dump(db, settings) + await _dump_rows(db)
    assert "PrivacyProbe" not in dump and PROBE_ADDRESS not in dump
    redis = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        async for key in redis.scan_iter(match=f"{settings.redis_prefix}*"):
            kind = (await redis.type(key)).decode()
            if kind == "string":
                values = [await redis.get(key)]
            elif kind == "hash":
                values = [b"%s=%s" % pair for pair in (await redis.hgetall(key)).items()]
            else:
                values = []
            for value in [key, *values]:
                assert b"PrivacyProbe" not in (value or b"") and PROBE_ADDRESS.encode() not in (
                    value or b""
                )
    finally:
        await redis.aclose()


async def test_flush_killed_midway_and_run_again_keeps_totals_exact(
    db: Database, settings: Settings
) -> None:
    """`hub flush-clicks` killed with SIGKILL at random moments, three times, then run to the
    end: every count is in the rollups once."""
    import random

    from hub.models import TrackedLink
    from hub.tracking.counter import Keys

    published = await make_published(db, settings)
    links = 2000
    async with db.engine.begin() as connection:
        await connection.execute(
            sa.insert(TrackedLink.__table__),  # type: ignore[attr-defined]
            [
                {
                    "code": f"K{n:07d}",
                    "key": f"bulk:{n}",
                    "organisation_id": published.organisation.id,
                    "campaign_id": published.campaign.id,
                    "item_id": published.message.id,
                    "language": "ar",
                    "channel": "whatsapp",
                    "placement": "",
                    "hop": 1,
                    "created_at": published.campaign.created_at,
                }
                for n in range(links)
            ],
        )
        ids = [row[0] for row in await connection.execute(sa.select(TrackedLink.__table__.c.id))]  # type: ignore[attr-defined]
    keys = Keys(settings.redis_prefix)
    redis = aioredis.Redis.from_url(settings.redis_url or "")
    rng = random.Random(6)
    expected = 0
    left_behind = 0
    env = {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_SECRET_KEY": settings.secret_key,
        "HUB_DATABASE_URL": settings.resolved_database_url,
        "HUB_REDIS_URL": settings.redis_url,
        "HUB_REDIS_PREFIX": settings.redis_prefix,
        "HUB_VAR_DIR": str(settings.var_dir),
        "HUB_LOG_LEVEL": "WARNING",
    }
    try:
        for _round in range(3):
            # A batch of counts over many links and three days, as web processes leave them.
            fields: dict[str, int] = {}
            for link_id in ids:
                for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
                    amount = rng.randint(1, 5)
                    fields[f"{day}:{link_id}:c"] = amount
                    expected += amount
            async with redis.pipeline(transaction=True) as pipe:  # adds, as web processes do
                for field, amount in fields.items():
                    pipe.hincrby(keys.live, field, amount)
                await pipe.execute()
            flush_process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub",
                "flush-clicks",
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Once it has set the counts aside as its batch, kill it at a random moment of
            # the part that writes to the database (the first time at once).
            deadline = time.monotonic() + STEP_TIMEOUT
            while await redis.exists(keys.live) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.005)
            await asyncio.sleep(0 if _round == 0 else rng.uniform(0, 0.3))
            if flush_process.returncode is None:
                flush_process.kill()
            await asyncio.wait_for(flush_process.wait(), STEP_TIMEOUT)
            left_behind += await redis.scard(keys.batches)  # type: ignore[misc]
        assert left_behind >= 1  # at least one flush died with its batch half done
        await flush(settings, db)
        assert await redis.scard(keys.batches) == 0  # type: ignore[misc]
    finally:
        await redis.aclose()
    async with unit_of_work(db, None, write=False) as session:
        total = (await session.exec(select(func.sum(LinkDay.clicks)))).one()
    assert total == expected
