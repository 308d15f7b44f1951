"""What the app and the worker hold for their lifetime: settings, database, job queue, Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from hub.config import Settings
from hub.db import Database
from hub.jobs import JobQueue, create_queue
from hub.mail import Mailer


@dataclass
class HubState:
    settings: Settings
    db: Database
    queue: JobQueue
    mailer: Mailer

    @property
    def redis(self) -> Redis:
        return self.queue.pool

    @classmethod
    async def open(cls, settings: Settings) -> HubState:
        db = Database.from_url(settings.resolved_database_url)
        queue = await create_queue(
            settings.redis_url, prefix=settings.redis_prefix, queue_name=settings.queue_name
        )
        return cls(settings=settings, db=db, queue=queue, mailer=Mailer(settings))

    async def close(self) -> None:
        await self.queue.pool.aclose()
        await self.db.dispose()
