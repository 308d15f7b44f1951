"""Tracking jobs: the counts of tracked links, from Redis into the daily rollups."""

from __future__ import annotations

from typing import Any

from hub.state import HubState
from hub.tracking import rollup
from hub.tracking.counter import Keys


async def flush_clicks(ctx: dict[str, Any]) -> dict[str, int]:
    """Add the clicks and previews counted since the last flush to ``link_day``."""
    state: HubState = ctx["hub"]
    result = await rollup.flush_clicks(state.db, state.redis, Keys(state.settings.redis_prefix))
    return {"batches": result.batches, "clicks": result.clicks, "previews": result.previews}
