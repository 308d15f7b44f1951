"""JSON routes of tracked links: make one, list them with their counts, get QR codes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from sqlmodel import col, func, select
from starlette.responses import Response

from hub.auth.dependencies import ApiUserDep
from hub.campaigns.dependencies import ApiCampaignDep
from hub.dependencies import SessionDep, SettingsDep
from hub.errors import Forbidden, NotFound
from hub.i18n import _
from hub.models import CampaignItem, Role, TrackedLink
from hub.schemas import problems
from hub.tracking import service
from hub.tracking.dependencies import ApiLinkDep
from hub.tracking.portal import qr_response
from hub.tracking.schemas import LinkCreate, LinkPage, LinkRead

router = APIRouter(prefix="/api/v1", tags=["tracked links"])


def _read(
    request: Request, link: TrackedLink, base_url: str, totals: service.LinkTotals | None = None
) -> LinkRead:
    totals = totals or service.LinkTotals()
    return LinkRead(
        id=link.id or 0,
        code=link.code,
        url=service.short_url(base_url, link),
        organisation_id=link.organisation_id,
        campaign_id=link.campaign_id,
        item_id=link.item_id,
        language=link.language,
        channel=link.channel,
        placement=link.placement,
        parent_id=link.parent_id,
        hop=link.hop,
        created_at=link.created_at,
        qr_svg_url=str(request.url_for("link_qr", link_id=link.id, fmt="svg")),
        qr_png_url=str(request.url_for("link_qr", link_id=link.id, fmt="png")),
        clicks=totals.clicks,
        previews=totals.previews,
        uniques=totals.uniques,
        shared_clicks=totals.shared_clicks,
    )


@router.post(
    "/campaigns/{campaign_id}/links",
    response_model=LinkRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": LinkRead, "description": "The same link, made before"},
        **problems(404, 409),
    },
)
async def create_link(
    request: Request,
    body: LinkCreate,
    campaign: ApiCampaignDep,
    principal: ApiUserDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> LinkRead:
    """The organisation's link to an item in a language for a channel (and placement); the
    same link again when it exists (200 then)."""
    if principal.role is not Role.partner or principal.organisation_id is None:
        raise Forbidden(_("Tracked links belong to partner organisations."))
    item = await session.get(CampaignItem, body.item_id)
    if item is None or item.campaign_id != campaign.id:
        raise NotFound(_("No such item in this campaign."))
    before = await service.variant_links(
        session,
        organisation_id=principal.organisation_id,
        item_id=item.id or 0,
        language=body.language,
    )
    link = await service.get_or_create_link(
        session,
        organisation_id=principal.organisation_id,
        campaign=campaign,
        item=item,
        language=body.language,
        channel=body.channel,
        placement=body.placement,
        created_by=principal,
    )
    if any(existing.id == link.id for existing in before):
        response.status_code = status.HTTP_200_OK
    totals = await service.link_totals(session, [link.id or 0])
    return _read(request, link, settings.base_url, totals.get(link.id or 0))


@router.get("/campaigns/{campaign_id}/links", response_model=LinkPage, responses=problems(404))
async def list_links(
    request: Request,
    campaign: ApiCampaignDep,
    principal: ApiUserDep,
    session: SessionDep,
    settings: SettingsDep,
    organisation_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    include_shared: Annotated[bool, Query(description="Also the links citizens shared on")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> LinkPage:
    """The campaign's links with their counts: a partner's own, or (officers) everyone's."""
    query = service.visible_links(principal).where(TrackedLink.campaign_id == campaign.id)
    if organisation_id is not None:
        query = query.where(TrackedLink.organisation_id == organisation_id)
    if not include_shared:
        query = query.where(col(TrackedLink.parent_id).is_(None))
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    links = list(
        (await session.exec(query.order_by(col(TrackedLink.id)).limit(limit).offset(offset))).all()
    )
    totals = await service.link_totals(session, [link.id or 0 for link in links])
    return LinkPage(
        items=[_read(request, link, settings.base_url, totals.get(link.id or 0)) for link in links],
        total=int(total),
    )


@router.get("/links/{link_id}", response_model=LinkRead, responses=problems(404))
async def get_link(
    request: Request, link: ApiLinkDep, session: SessionDep, settings: SettingsDep
) -> LinkRead:
    totals = await service.link_totals(session, [link.id or 0])
    return _read(request, link, settings.base_url, totals.get(link.id or 0))


@router.get(
    "/links/{link_id}/qr.{fmt}",
    name="link_qr",
    responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}, **problems(404)},
    response_class=Response,
)
async def link_qr(
    link: ApiLinkDep,
    fmt: Literal["svg", "png"],
    settings: SettingsDep,
    download: Annotated[bool, Query()] = False,
) -> Response:
    """The link's QR code (SVG or PNG)."""
    return qr_response(link, fmt, settings.base_url, download=download)
