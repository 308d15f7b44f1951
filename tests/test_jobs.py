"""The job seam: buffered during the unit of work, enqueued after commit, dropped on rollback."""

from __future__ import annotations

import json

import pytest
from arq.connections import ArqRedis

from hub import jobs
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Organisation, OrganisationKind


@pytest.fixture
async def queue(settings: Settings) -> jobs.JobQueue:
    q = await jobs.create_queue(
        settings.redis_url, prefix=settings.redis_prefix, queue_name=settings.queue_name
    )
    yield q  # type: ignore[misc]
    await q.pool.aclose()


async def queued_ids(queue: jobs.JobQueue) -> list[str]:
    raw = await queue.pool.zrange(queue.queue_name, 0, -1)
    return [r.decode() for r in raw]


async def test_jobs_are_enqueued_only_after_commit(db: Database, queue: jobs.JobQueue) -> None:
    async with unit_of_work(db, queue) as session:
        jobs.defer(session, "system.noop", 7)
        assert await queued_ids(queue) == []  # nothing reaches Redis before the commit
        assert [j.key for j in jobs.pending_jobs(session)] == ["system.noop:7"]
    assert await queued_ids(queue) == [f"{queue.prefix}system.noop:7"]


async def test_rollback_drops_buffered_jobs(db: Database, queue: jobs.JobQueue) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(db, queue) as session:
            session.add(Organisation(name="Half written", kind=OrganisationKind.other))
            await session.flush()
            jobs.defer(session, "system.noop", 1)
            raise RuntimeError("boom")
    assert await queued_ids(queue) == []
    async with unit_of_work(db, None, write=False) as session:
        from sqlmodel import select

        assert (await session.exec(select(Organisation))).all() == []


async def test_a_failed_commit_enqueues_nothing(db: Database, queue: jobs.JobQueue) -> None:
    from sqlalchemy.exc import IntegrityError

    from hub.models import Area, AreaKind

    async with unit_of_work(db, None) as session:
        session.add(Area(code="X1", name="X", kind=AreaKind.district))
    with pytest.raises(IntegrityError):
        async with unit_of_work(db, queue) as session:
            jobs.defer(session, "system.noop", 2)
            session.add(Area(code="X1", name="duplicate", kind=AreaKind.district))
    assert await queued_ids(queue) == []


async def test_job_ids_are_deterministic_and_deduplicated(
    db: Database, queue: jobs.JobQueue
) -> None:
    async with unit_of_work(db, queue) as session:
        jobs.defer(session, "system.noop", 3)
        jobs.defer(session, "system.noop", 3)
    async with unit_of_work(db, queue) as session:
        jobs.defer(session, "system.noop", 3)  # same work again while queued: still once
        jobs.defer(session, "system.noop", 3, key="round-2")
    assert sorted(await queued_ids(queue)) == [
        f"{queue.prefix}system.noop:3",
        f"{queue.prefix}system.noop:3:round-2",
    ]


async def test_jobs_carry_ids_only_and_are_json(db: Database, queue: jobs.JobQueue) -> None:
    async with unit_of_work(db, queue) as session:
        with pytest.raises(TypeError, match="ids only"):
            jobs.defer(session, "system.noop", {"a": 1})  # type: ignore[arg-type]
        jobs.defer(session, "system.noop", 5, "abc")
    stored = await queue.pool.get(f"arq:job:{queue.prefix}system.noop:5:abc")
    assert stored is not None
    payload = json.loads(stored)  # JSON, not pickle
    assert payload["f"] == "system.noop" and payload["a"] == [5, "abc"]


async def test_defer_outside_a_unit_of_work_is_an_error(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(RuntimeError, match="unit_of_work"):
            jobs.defer(session, "system.noop", 1)


async def test_redis_outage_after_commit_keeps_the_data(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # A pool pointing at a port where no Redis listens: every enqueue fails to connect.
    broken = jobs.JobQueue(
        ArqRedis.from_url("redis://127.0.0.1:1/0"),
        prefix=settings.redis_prefix,
        queue_name=settings.queue_name,
    )
    async with unit_of_work(db, broken) as session:
        session.add(Organisation(name="Kept", kind=OrganisationKind.other))
        jobs.defer(session, "system.noop", 9)
    async with unit_of_work(db, None, write=False) as session:
        from sqlmodel import select

        names = [o.name for o in (await session.exec(select(Organisation))).all()]
    assert names == ["Kept"]
    assert "jobs.enqueue_failed" in caplog.text
    await broken.pool.aclose()
