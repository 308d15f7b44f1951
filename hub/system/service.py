"""Liveness and readiness checks, and the dashboard's figures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import text

from hub.state import HubState

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def worker_health_key(queue_name: str) -> str:
    # arq's worker refreshes this key (with an expiry) while it runs.
    return f"{queue_name}:health-check"


async def _database(state: HubState) -> Check:
    async with state.db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return Check("database", True, state.db.engine.dialect.name)


async def _redis(state: HubState) -> Check:
    await state.redis.ping()
    return Check("redis", True, "ping")


async def _worker(state: HubState) -> Check:
    beat = await state.redis.get(worker_health_key(state.settings.queue_name))
    if beat is None:
        return Check("worker", False, "no heartbeat from any worker")
    return Check("worker", True, beat.decode(errors="replace") if isinstance(beat, bytes) else beat)


async def readiness(state: HubState) -> list[Check]:
    """Database, Redis and a worker heartbeat, each reported on its own."""
    checks = []
    for name, probe in (("database", _database), ("redis", _redis), ("worker", _worker)):
        try:
            checks.append(await asyncio.wait_for(probe(state), CHECK_TIMEOUT_SECONDS))
        except Exception as exc:  # a readiness probe reports every failure, it never raises
            checks.append(Check(name, False, f"{type(exc).__name__}: {exc}"[:300]))
    return checks
