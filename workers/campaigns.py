"""Jobs of the campaigns domain."""

from __future__ import annotations

import logging
from typing import Any

from hub.campaigns import service
from hub.db import unit_of_work
from hub.state import HubState

log = logging.getLogger("hub.campaigns")


async def publish_due(ctx: dict[str, Any]) -> list[int]:
    """Publish the scheduled campaigns whose time has come (every minute)."""
    state: HubState = ctx["hub"]
    async with unit_of_work(state.db, state.queue) as session:
        published = await service.publish_due(session)
    if published:
        log.info("campaigns.published_due", extra={"campaign_ids": published})
    return published
