"""The one worker configuration, shared by `arq workers.WorkerSettings`, `hub worker` and the
worker that `hub serve` runs in-process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from arq import cron, func
from arq.cron import CronJob
from arq.worker import Function, Worker
from redis.exceptions import RedisError

from hub import jobs
from hub.config import Settings, load_settings
from hub.context import REQUEST_ID
from hub.state import HubState
from workers import auth, campaigns, distribution, materials, reports, system, tracking
from workers.lease import leased

log = logging.getLogger("hub.worker")


def job(coroutine: Callable[..., Awaitable[Any]], **options: Any) -> Function:
    """A job function, holding a short lease on its "in progress" mark while it runs
    (workers/lease.py): the job of a worker killed hard is taken again within seconds."""
    return func(leased(coroutine), **options)


FUNCTIONS = [
    job(auth.send_invitation, name="auth.send_invitation", max_tries=len(auth.RETRY_DELAYS) + 1),
    job(auth.send_magic_link, name="auth.send_magic_link", max_tries=2),
    job(system.noop, name="system.noop"),
    job(campaigns.notify_correction, name="campaigns.notify_correction", max_tries=3),
    job(
        campaigns.notify_submission_reviewed,
        name="campaigns.notify_submission_reviewed",
        max_tries=3,
    ),
    job(distribution.fan_out, name="distribution.fan_out", max_tries=5),
    # Not retried by arq: a failed send job's deliveries come back through the sweep.
    job(distribution.send, name="distribution.send", max_tries=1),
    job(
        materials.process_film,
        name="materials.process_film",
        max_tries=materials.MAX_TRIES,
        timeout=materials.JOB_TIMEOUT,
    ),
]

CRON_JOBS = [
    # Reach rollups of the campaigns that can still change, every two minutes.
    cron(
        reports.refresh,
        name="reports.refresh",
        minute=set(range(0, 60, 2)),
        second=40,
        unique=True,
    ),
    # Three times a minute: reports are at most twenty seconds behind the clicks.
    cron(
        tracking.flush_clicks,
        name="tracking.flush_clicks",
        second={10, 30, 50},
        unique=True,
        run_at_startup=True,
    ),
    cron(distribution.sweep, name="distribution.sweep", second=15, unique=True),
    # Retention, once a night.
    cron(
        system.prune_old_records,
        name="system.prune_old_records",
        hour=3,
        minute=41,
        second=0,
        unique=True,
    ),
    # Every minute at second 0; unique, so two workers never run it twice at once.
    cron(campaigns.publish_due, name="campaigns.publish_due", second=0, unique=True),
    cron(
        materials.clean_temp_files,
        name="materials.clean_temp_files",
        minute=17,
        second=0,
        unique=True,
    ),
    cron(
        materials.clean_orphan_objects,
        name="materials.clean_orphan_objects",
        hour=4,
        minute=11,
        second=0,
        unique=True,
    ),
    cron(
        materials.resume_films,
        name="materials.resume_films",
        minute={3, 13, 23, 33, 43, 53},
        second=30,
        unique=True,
    ),
]


def cron_jobs_for(settings: Settings) -> list[CronJob]:
    """The scheduled jobs of this hub, each a copy named with its Redis prefix.

    arq makes a scheduled run's job id from the job's name and time: hubs sharing one Redis
    would otherwise skip each other's runs as already queued. Copies, too, because a worker
    keeps each job's next run time on it.
    """
    return [
        dataclasses.replace(each, name=f"{settings.redis_prefix}{each.name}", next_run=None)
        for each in CRON_JOBS
    ]


def redis_url_for(settings: Settings) -> str:
    """The configured Redis, else the one a running `hub serve` embedded (see var/redis.url)."""
    if settings.redis_url:
        return settings.redis_url
    url_file = Path(settings.var_dir) / "redis.url"
    if url_file.exists():
        return url_file.read_text().strip()
    raise RuntimeError(
        "No Redis to work from: set HUB_REDIS_URL, or start `hub serve` first, which runs an "
        "embedded Redis and writes its address to var/redis.url."
    )


def worker_options(settings: Settings) -> dict[str, Any]:
    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["hub"] = await HubState.open(settings)
        log.info("worker.started", extra={"queue": settings.queue_name})

    async def on_job_start(ctx: dict[str, Any]) -> None:
        # Each job runs in a task of its own: its log lines carry its id as the request id.
        REQUEST_ID.set(f"job:{ctx.get('job_id', '')}")

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        state: HubState | None = ctx.get("hub")
        if state is not None:
            await state.close()

    return {
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs_for(settings),
        "queue_name": settings.queue_name,
        "redis_settings": jobs.redis_settings(settings.redis_url),
        "job_serializer": jobs.serialize,
        "job_deserializer": jobs.deserialize,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "on_job_start": on_job_start,
        "health_check_interval": settings.worker_heartbeat_seconds,
        "keep_result": 3600,
        "job_timeout": 600,
        "max_jobs": 20,
    }


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    """An arq Worker for this hub (in-process with `hub serve`, burst in tests)."""
    options = worker_options(settings)
    options.update(overrides)
    functions = options.pop("functions")
    return Worker(functions, **options)


# Redis went away (refused, reset, timed out): redis-py's errors, and the OSErrors under them.
LOST_REDIS = (RedisError, OSError)
RETRY_FIRST, RETRY_MOST = 1.0, 30.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_supervised(settings: Settings, **overrides: Any) -> None:
    """Run a worker until cancelled (or, in burst mode, done). arq's worker stops when Redis
    goes away; this one waits, with growing pauses, and starts a fresh worker, so that jobs
    are taken again once Redis is back, without restarting the process."""
    delay = RETRY_FIRST
    while True:
        worker = build_worker(settings, **overrides)
        try:
            await worker.async_run()
            return
        except LOST_REDIS as exc:
            log.warning("worker.redis_lost", extra={"error": str(exc), "retry_in": delay})
        finally:
            await _close(worker)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MOST)


async def run_standalone(settings: Settings, *, burst: bool = False) -> None:
    """The worker of `hub worker`, supervised like the one `hub serve` runs, until SIGTERM or
    SIGINT: they cancel the running jobs, as arq's own worker does (arq runs them again later),
    and end it cleanly. A burst run (the jobs queued now, then exit) is not restarted: a lost
    Redis ends it with the error."""
    if burst:
        work = _run_once(settings, burst=True, handle_signals=False)
    else:
        work = run_supervised(settings, handle_signals=False)
    task = asyncio.create_task(work)
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, _stop, task, signum)
    try:
        await asyncio.wait({task})
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        if not task.done():  # this coroutine itself was cancelled
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if not task.cancelled():
        task.result()  # what ended it, if it was not a signal


def _stop(task: asyncio.Task[None], signum: signal.Signals) -> None:
    log.info("worker.stopping", extra={"signal": signum.name})
    task.cancel()  # the worker cancels its jobs and closes itself (see run_supervised)


async def _run_once(settings: Settings, **overrides: Any) -> None:
    worker = build_worker(settings, **overrides)
    try:
        await worker.async_run()
    finally:
        await _close(worker)


async def _close(worker: Worker) -> None:
    try:
        await worker.close()
    except LOST_REDIS:
        # arq closes the hub's state only after a Redis call that just failed: do it here.
        state: HubState | None = worker.ctx.get("hub")
        if state is not None:
            with contextlib.suppress(*LOST_REDIS):
                await state.close()


def make_worker_settings_class() -> type:
    """The class `arq workers.WorkerSettings` reads; built on first access, not at import."""
    settings = load_settings()
    settings.redis_url = redis_url_for(settings)
    options = worker_options(settings)
    attributes: dict[str, Any] = {"__doc__": "Read by `arq workers.WorkerSettings`."}
    for name, value in options.items():
        attributes[name] = staticmethod(value) if callable(value) else value
    return type("WorkerSettings", (), attributes)
