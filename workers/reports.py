"""Report jobs: keep the reach rollups of campaigns that can still change current."""

from __future__ import annotations

from typing import Any

from hub.db import Database, unit_of_work
from hub.reports import rollup
from hub.state import HubState


async def rebuild(db: Database, campaign_ids: list[int]) -> int:
    """Rebuild each campaign's rollups in a transaction of its own; the rows written."""
    written = 0
    for campaign_id in campaign_ids:
        async with unit_of_work(db, None) as session:
            written += await rollup.rebuild_campaign(session, campaign_id)
    return written


async def refresh(ctx: dict[str, Any]) -> dict[str, int]:
    """Rebuild the rollups of published campaigns and those closed in the last month."""
    state: HubState = ctx["hub"]
    async with unit_of_work(state.db, None, write=False) as session:
        campaign_ids = await rollup.changing_campaigns(session)
    rows = await rebuild(state.db, campaign_ids)
    return {"campaigns": len(campaign_ids), "rows": rows}
