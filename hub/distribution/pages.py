"""The officer's view of a campaign's sending: live progress, controls, the delivery list."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.csrf import require_csrf
from hub.campaigns.dependencies import StaffCampaignDep
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.distribution import service
from hub.errors import HubError, NotFound
from hub.forms import parse_id, see_other
from hub.i18n import _
from hub.models import Campaign, DeliveryChannel, DeliveryState
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 50
ACTIONS = {
    "pause": service.pause,
    "resume": service.resume,
    "retry-failed": service.retry_failed,
    "cancel": service.cancel,
}


async def _page(
    request: Request,
    session: SessionDep,
    campaign: Campaign,
    *,
    state: str = "",
    channel: str = "",
    organisation_id: str = "",
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    state_value = DeliveryState(state) if state in DeliveryState.__members__ else None
    channel_value = DeliveryChannel(channel) if channel in DeliveryChannel.__members__ else None
    organisation_value = parse_id(organisation_id)
    rows, total = await service.list_deliveries(
        session,
        campaign.id or 0,
        state=state_value,
        channel=channel_value,
        organisation_id=organisation_value,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    filters = {"state": state, "channel": channel, "organisation_id": organisation_id}
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "distribution/sending.html",
        {
            "campaign": campaign,
            "progress": await service.progress(session, campaign.id or 0),
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "query": query,
            "states": list(DeliveryState),
            "channels": list(DeliveryChannel),
            "organisations": await service.delivery_organisations(session, campaign.id or 0),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}/sending", name="sending_page")
async def sending_page(
    request: Request,
    campaign: StaffCampaignDep,
    session: SessionDep,
    state: Annotated[str, Query(max_length=20)] = "",
    channel: Annotated[str, Query(max_length=20)] = "",
    organisation_id: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await _page(
        request,
        session,
        campaign,
        state=state,
        channel=channel,
        organisation_id=organisation_id,
        page=page,
    )


@router.get("/campaigns/{campaign_id}/sending/cancel", name="confirm_cancel_sending_page")
async def confirm_cancel_sending_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    return render(
        request,
        "distribution/confirm_cancel.html",
        {"campaign": campaign, "progress": await service.progress(session, campaign.id or 0)},
    )


@router.post(
    "/campaigns/{campaign_id}/sending/{action}", name="sending_action_page", dependencies=Csrf
)
async def sending_action_page(
    request: Request, action: str, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    control = ACTIONS.get(action)
    if control is None:
        raise NotFound(_("No such action."))
    try:
        await control(session, campaign)
    except HubError as exc:
        await rollback(session)
        return await _page(request, session, campaign, error=exc.detail, status_code=exc.status)
    done = {
        "pause": "sending-paused",
        "resume": "sending-resumed",
        "retry-failed": "sending-retried",
        "cancel": "sending-cancelled",
    }[action]
    return see_other(f"{request.url_for('sending_page', campaign_id=campaign.id)}?done={done}")
