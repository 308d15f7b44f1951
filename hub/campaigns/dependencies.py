"""Loaders: a campaign, item or variant the principal may see, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.auth.dependencies import ApiUserDep, PageUserDep, StaffPageDep
from hub.campaigns import service
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import Campaign, CampaignItem, User
from hub.schemas import IdPath


async def _campaign(session: SessionDep, principal: User, campaign_id: int) -> Campaign:
    campaign = await service.get_visible_campaign(
        session, principal=principal, campaign_id=campaign_id
    )
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


async def _item(
    session: SessionDep, principal: User, campaign_id: int | None, item_id: int
) -> tuple[Campaign, CampaignItem]:
    item = await session.get(CampaignItem, item_id)
    if item is not None and campaign_id is not None and item.campaign_id != campaign_id:
        item = None
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


async def api_campaign_or_404(
    campaign_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> Campaign:
    return await _campaign(session, principal, campaign_id)


async def api_item_or_404(
    item_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> tuple[Campaign, CampaignItem]:
    return await _item(session, principal, None, item_id)


async def page_campaign_or_404(
    campaign_id: IdPath, principal: PageUserDep, session: SessionDep
) -> Campaign:
    """A campaign the signed-in user may see (partners: published to their organisation)."""
    return await _campaign(session, principal, campaign_id)


async def staff_campaign_or_404(
    campaign_id: IdPath, principal: StaffPageDep, session: SessionDep
) -> Campaign:
    return await _campaign(session, principal, campaign_id)


async def page_item_or_404(
    campaign_id: IdPath, item_id: IdPath, principal: PageUserDep, session: SessionDep
) -> tuple[Campaign, CampaignItem]:
    """An item of /campaigns/{campaign_id}/items/{item_id} the user may see."""
    return await _item(session, principal, campaign_id, item_id)


async def staff_item_or_404(
    campaign_id: IdPath, item_id: IdPath, principal: StaffPageDep, session: SessionDep
) -> tuple[Campaign, CampaignItem]:
    return await _item(session, principal, campaign_id, item_id)


ApiCampaignDep = Annotated[Campaign, Depends(api_campaign_or_404)]
ApiItemDep = Annotated[tuple[Campaign, CampaignItem], Depends(api_item_or_404)]
PageCampaignDep = Annotated[Campaign, Depends(page_campaign_or_404)]
StaffCampaignDep = Annotated[Campaign, Depends(staff_campaign_or_404)]
PageItemDep = Annotated[tuple[Campaign, CampaignItem], Depends(page_item_or_404)]
StaffItemDep = Annotated[tuple[Campaign, CampaignItem], Depends(staff_item_or_404)]
