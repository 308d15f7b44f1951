"""Moving counts from Redis into the daily rollups, exactly once.

The web processes add to one live hash in Redis (``<day>:<link>:c|p`` → count). A flush:

1. renames the live hash to a batch of its own and notes the batch's id in a set, in one Lua
   script: counts arriving after that start a new live hash, none fall between the two;
2. for every noted batch (this one and any left by a flush that died): in one database
   transaction, records the batch id in ``tracking_flush`` and adds its counts to
   ``link_day``; a batch already recorded is not added again;
3. deletes the batch from Redis and forgets its id.

A flush killed anywhere is made whole by the next one: before step 2 commits, the batch is
still in Redis and is applied then; after it, the recorded id says it was applied, and only the
clean-up of step 3 is repeated. Two flushes at once cannot both apply a batch: the second
insert of its id fails on the primary key.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Database, unit_of_work
from hub.models import LinkDay, TrackedLink, TrackingFlush, utcnow
from hub.tracking.counter import Keys

log = logging.getLogger("hub.tracking")

TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[3], ARGV[1])
  return 1
end
return 0
"""
CHUNK = 500
# Applied batch ids are kept this long; a batch older than that cannot still be in Redis.
KEEP_APPLIED = timedelta(days=7)


@dataclass
class FlushResult:
    batches: int = 0
    clicks: int = 0
    previews: int = 0


@dataclass
class _Row:
    clicks: int = 0
    previews: int = 0
    uniques: int = 0


def _parse(raw: dict[bytes, bytes] | dict[str, str]) -> dict[tuple[date, int], _Row]:
    rows: dict[tuple[date, int], _Row] = {}
    for name, value in raw.items():
        text = name.decode() if isinstance(name, bytes) else name
        try:
            day_text, link_text, kind = text.split(":")
            key = (date.fromisoformat(day_text), int(link_text))
            amount = int(value)
        except ValueError:
            log.warning("tracking.bad_counter_field", extra={"field": text})
            continue
        row = rows.setdefault(key, _Row())
        if kind == "c":
            row.clicks += amount
        elif kind == "p":
            row.previews += amount
    return rows


async def _uniques(redis: Redis, keys: Keys, rows: dict[tuple[date, int], _Row]) -> None:
    clicked = [key for key, row in rows.items() if row.clicks]
    if not clicked:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for day, link_id in clicked:
            pipe.pfcount(keys.visitors(day.isoformat(), link_id))
        counts = await pipe.execute()
    for key, estimate in zip(clicked, counts, strict=True):
        rows[key].uniques = int(estimate or 0)


def _upsert(dialect: str, values: list[dict[str, object]]) -> sa.Insert:
    table = LinkDay.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(values)
    new = statement.excluded
    clicks = table.c.clicks + new.clicks
    # The estimate only grows through a day; never above the clicks counted.
    larger = sa.case((new.uniques > table.c.uniques, new.uniques), else_=table.c.uniques)
    return statement.on_conflict_do_update(
        index_elements=[table.c.link_id, table.c.day],
        set_={
            "clicks": clicks,
            "previews": table.c.previews + new.previews,
            "uniques": sa.case((larger > clicks, clicks), else_=larger),
        },
    )


async def _add(session: AsyncSession, rows: dict[tuple[date, int], _Row]) -> None:
    link_ids = {link_id for _day, link_id in rows}
    existing: set[int] = set()
    ids = sorted(link_ids)
    for start in range(0, len(ids), CHUNK):
        found = await session.exec(
            select(TrackedLink.id).where(col(TrackedLink.id).in_(ids[start : start + CHUNK]))
        )
        existing.update(i for i in found.all() if i is not None)
    values = [
        {
            "link_id": link_id,
            "day": day,
            "clicks": row.clicks,
            "previews": row.previews,
            "uniques": min(row.uniques, row.clicks),
        }
        # In key order, so two transactions never lock the same rows in opposite orders.
        for (day, link_id), row in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if link_id in existing
    ]
    dialect = session.get_bind().dialect.name
    for start in range(0, len(values), CHUNK):
        await session.exec(_upsert(dialect, values[start : start + CHUNK]))


async def apply_batch(db: Database, redis: Redis, keys: Keys, batch_id: str) -> _Row:
    """Add one batch's counts to the rollups unless that was done before; then drop it."""
    rows = _parse(await redis.hgetall(keys.batch(batch_id)))  # type: ignore[misc]
    await _uniques(redis, keys, rows)
    total = _Row(
        clicks=sum(r.clicks for r in rows.values()),
        previews=sum(r.previews for r in rows.values()),
    )
    try:
        async with unit_of_work(db, None) as session:
            if await session.get(TrackingFlush, batch_id) is None:
                # First, so that a second flush of the same batch waits here, then fails.
                session.add(TrackingFlush(batch=batch_id))
                await session.flush()
                await _add(session, rows)
            else:
                total = _Row()
    except IntegrityError:
        total = _Row()  # another flush applied it at the same moment
    await forget_batch(redis, keys, batch_id)
    return total


async def forget_batch(redis: Redis, keys: Keys, batch_id: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.batch(batch_id))
        pipe.srem(keys.batches, batch_id)
        await pipe.execute()


async def take_batch(redis: Redis, keys: Keys) -> str | None:
    """Set the live counts aside as a new batch; None when there are none."""
    batch_id = secrets.token_hex(10)
    take = redis.register_script(TAKE)
    taken = await take(keys=[keys.live, keys.batch(batch_id), keys.batches], args=[batch_id])
    return batch_id if taken else None


async def flush_clicks(db: Database, redis: Redis, keys: Keys) -> FlushResult:
    """Add every count waiting in Redis to the daily rollups (see the module's description)."""
    await take_batch(redis, keys)
    result = FlushResult()
    pending = sorted(
        b.decode() if isinstance(b, bytes) else b
        for b in await redis.smembers(keys.batches)  # type: ignore[misc]
    )
    for batch_id in pending:
        applied = await apply_batch(db, redis, keys, batch_id)
        result.batches += 1
        result.clicks += applied.clicks
        result.previews += applied.previews
    async with unit_of_work(db, None) as session:
        await session.exec(
            delete(TrackingFlush).where(col(TrackingFlush.applied_at) < utcnow() - KEEP_APPLIED)
        )
    if result.clicks or result.previews:
        log.info(
            "tracking.flushed",
            extra={"clicks": result.clicks, "previews": result.previews},
        )
    return result
