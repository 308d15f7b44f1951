"""Operational jobs."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.materials.storage import storage_for
from hub.models import utcnow
from hub.state import HubState
from hub.system import retention

log = logging.getLogger("hub.system")


async def noop(ctx: dict[str, Any]) -> str:
    """Does nothing: the baseline that job benchmarks compare against."""
    return "ok"


async def prune_old_records(ctx: dict[str, Any]) -> dict[str, int]:
    """Retention: delete old report photos and download rows, keep the figures."""
    state: HubState = ctx["hub"]
    return await run_retention(state.db, state.settings)


async def run_retention(db: Database, settings: Settings) -> dict[str, int]:
    async with unit_of_work(db, None) as session:
        pruned = await retention.prune(session, now=utcnow(), days=settings.retention_days)
    # The rows are gone for good: now their files (a crash here leaves files nobody points to,
    # never a row pointing to no file).
    storage = storage_for(settings)
    for key in pruned.keys:
        await asyncio.to_thread(storage.delete, key)
    result = {
        "photos": pruned.photos,
        "downloads": pruned.downloads,
        "campaigns_frozen": pruned.campaigns_frozen,
    }
    log.info("system.retention", extra=result)
    return result
