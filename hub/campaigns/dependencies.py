"""Loaders: a campaign, item or variant the principal may see, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.auth.dependencies import ApiUserDep
from hub.campaigns import service
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import Campaign, CampaignItem
from hub.schemas import IdPath


async def api_campaign_or_404(
    campaign_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> Campaign:
    campaign = await service.get_visible_campaign(
        session, principal=principal, campaign_id=campaign_id
    )
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


async def api_item_or_404(
    item_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> tuple[Campaign, CampaignItem]:
    item = await session.get(CampaignItem, item_id)
    campaign = (
        await service.get_visible_campaign(
            session, principal=principal, campaign_id=item.campaign_id
        )
        if item is not None
        else None
    )
    if item is None or campaign is None:
        raise NotFound(_("No such item."))
    return campaign, item


ApiCampaignDep = Annotated[Campaign, Depends(api_campaign_or_404)]
ApiItemDep = Annotated[tuple[Campaign, CampaignItem], Depends(api_item_or_404)]
