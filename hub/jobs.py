"""The one seam to arq.

Services ask for work with :func:`defer` while they hold a session; nothing reaches Redis until
the unit of work commits (:func:`hub.db.unit_of_work`), and a rollback drops the request. Jobs
carry ids only, are serialised as JSON (never pickle) and have deterministic ids, so asking
twice for the same work in the same window enqueues it once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger("hub.jobs")

JobArg = int | str
_BUFFER_KEY = "hub_jobs"


def serialize(data: dict[str, Any]) -> bytes:
    # `repr` keeps a failed job's exception readable in its stored result.
    return json.dumps(data, default=repr).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


@dataclass(frozen=True)
class PendingJob:
    name: str
    args: tuple[JobArg, ...]
    key: str
    defer_by: timedelta | None = None


@dataclass
class JobBuffer:
    pending: list[PendingJob] = field(default_factory=list)

    def add(self, job: PendingJob) -> None:
        if all(existing.key != job.key for existing in self.pending):
            self.pending.append(job)

    def clear(self) -> None:
        self.pending.clear()


def attach_buffer(session: AsyncSession) -> JobBuffer:
    buffer = JobBuffer()
    session.info[_BUFFER_KEY] = buffer
    return buffer


def defer(
    session: AsyncSession,
    name: str,
    *args: JobArg,
    key: str | None = None,
    defer_by: timedelta | None = None,
    named_by: Sequence[JobArg] | None = None,
) -> None:
    """Ask for job ``name(*args)`` once the session's unit of work commits.

    ``key`` distinguishes deliberate repeats of the same job (a retry round, a new version);
    without it the job id is derived from the name and arguments alone (or from ``named_by``
    instead of the arguments, when they are many).
    """
    for arg in args:
        if not isinstance(arg, int | str):
            raise TypeError(f"job {name} takes ids only, got {type(arg).__name__}")
    buffer = session.info.get(_BUFFER_KEY)
    if buffer is None:
        raise RuntimeError("jobs.defer() needs a session opened by hub.db.unit_of_work()")
    naming = args if named_by is None else tuple(named_by)
    job_key = ":".join([name, *(str(a) for a in naming), *([key] if key else [])])
    buffer.add(PendingJob(name=name, args=tuple(args), key=job_key, defer_by=defer_by))


def discard(session: AsyncSession) -> None:
    buffer: JobBuffer | None = session.info.get(_BUFFER_KEY)
    if buffer is not None:
        buffer.clear()


def pending_jobs(session: AsyncSession) -> Sequence[PendingJob]:
    buffer: JobBuffer | None = session.info.get(_BUFFER_KEY)
    return tuple(buffer.pending) if buffer else ()


class JobQueue:
    """Enqueues committed work on arq; owned by the app's or worker's lifespan."""

    def __init__(self, pool: ArqRedis, *, prefix: str, queue_name: str) -> None:
        self.pool = pool
        self.prefix = prefix
        self.queue_name = queue_name

    def job_id(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def enqueue_all(self, buffer: JobBuffer) -> None:
        for job in buffer.pending:
            try:
                await self.pool.enqueue_job(
                    job.name,
                    *job.args,
                    _job_id=self.job_id(job.key),
                    _queue_name=self.queue_name,
                    _defer_by=job.defer_by,
                )
            except Exception:
                # The database is the source of truth and already committed; the job's own
                # domain re-discovers unfinished work (sweeps), so a Redis outage loses nothing.
                log.exception("jobs.enqueue_failed", extra={"job": job.key})
        buffer.clear()


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings


async def create_queue(url: str, *, prefix: str, queue_name: str) -> JobQueue:
    pool = await create_pool(
        redis_settings(url),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )
    return JobQueue(pool, prefix=prefix, queue_name=queue_name)
