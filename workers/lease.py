"""A short, renewed hold on a running job, so that the job of a worker killed hard is taken
again within seconds instead of hours.

arq marks a job "in progress" with a key in Redis and takes it again only once that key has
expired. It sets the key once, for the longest time limit of all the functions plus ten
seconds: with the film job's limit of hours, a worker killed hard (SIGKILL, the OOM killer, a
lost machine) would hold every job it was running for hours. Each job here shortens its key to
LEASE_HEARTBEATS worker heartbeats instead and renews it every heartbeat while it runs, so
another worker takes the job of a dead one within that many heartbeats
(HUB_WORKER_HEARTBEAT_SECONDS each). Jobs are written to be run again safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.typing import WorkerCoroutine
from redis.exceptions import RedisError

from hub.state import HubState

log = logging.getLogger("hub.worker")

LEASE_HEARTBEATS = 3


@contextlib.asynccontextmanager
async def held(ctx: dict[str, Any]) -> AsyncIterator[None]:
    """Hold the job's in-progress key for LEASE_HEARTBEATS heartbeats at a time while it runs."""
    redis: ArqRedis | None = ctx.get("redis")
    job_id: str | None = ctx.get("job_id")
    state: HubState | None = ctx.get("hub")
    if redis is None or job_id is None or state is None:  # called directly, not by a worker
        yield
        return
    heartbeat = state.settings.worker_heartbeat_seconds
    key, lease_ms = in_progress_key_prefix + job_id, heartbeat * LEASE_HEARTBEATS * 1000

    async def renew() -> None:
        while True:
            try:
                await redis.pexpire(key, lease_ms)
            except (RedisError, OSError) as exc:
                # Redis away for a moment: the worker itself reconnects (or is restarted).
                log.warning("worker.lease_not_renewed", extra={"job": job_id, "error": str(exc)})
            await asyncio.sleep(heartbeat)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)


def leased(function: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """The job function, run under :func:`held`."""

    @functools.wraps(function)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        async with held(ctx):
            return await function(ctx, *args, **kwargs)

    return run
