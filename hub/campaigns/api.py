"""JSON routes for campaigns, their life cycle, items and language variants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from hub.auth.dependencies import ApiStaffDep, ApiUserDep
from hub.campaigns import service
from hub.campaigns.dependencies import ApiCampaignDep, ApiItemDep
from hub.campaigns.schemas import (
    CampaignCreate,
    CampaignPage,
    CampaignRead,
    CampaignSchedule,
    CampaignUpdate,
    CoverageRead,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    VariantRead,
    VariantWrite,
)
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import CampaignItem, CampaignStatus, ItemVariant
from hub.schemas import problems

router = APIRouter(prefix="/api/v1", tags=["campaigns"])


def _read(campaign: Any) -> CampaignRead:
    return CampaignRead.model_validate(campaign)


async def _item_read(session: SessionDep, item: CampaignItem) -> ItemRead:
    variants = await service.list_variants(session, [item])
    read = ItemRead.model_validate(item)
    read.variants = [VariantRead.model_validate(v) for v in variants]
    return read


@router.get("/campaigns", response_model=CampaignPage)
async def list_campaigns(
    principal: ApiUserDep,
    session: SessionDep,
    status: CampaignStatus | None = None,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CampaignPage:
    """Staff see every campaign; partners the published ones addressed to them."""
    rows, total = await service.list_campaigns(
        session, principal=principal, status=status, search=q, limit=limit, offset=offset
    )
    return CampaignPage(items=[_read(c) for c in rows], total=total, limit=limit, offset=offset)


@router.post("/campaigns", response_model=CampaignRead, status_code=status.HTTP_201_CREATED)
async def create_campaign(
    body: CampaignCreate, staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    campaign = await service.create_campaign(
        session,
        owner=staff,
        title=body.title,
        purpose=body.purpose,
        audience_id=body.audience_id,
        audience_spec=body.audience_spec.model_dump(mode="json") if body.audience_spec else None,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    return _read(campaign)


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead, responses=problems(404))
async def read_campaign(campaign: ApiCampaignDep) -> CampaignRead:
    return _read(campaign)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignRead, responses=problems(404, 409))
async def update_campaign(
    body: CampaignUpdate, campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    changes = body.model_dump(exclude_unset=True, mode="json")
    for day in ("starts_on", "ends_on"):
        if day in changes:
            changes[day] = getattr(body, day)
    return _read(await service.update_campaign(session, campaign, changes))


@router.post(
    "/campaigns/{campaign_id}/schedule", response_model=CampaignRead, responses=problems(404, 409)
)
async def schedule_campaign(
    body: CampaignSchedule, campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    """Publish at a later time (the worker publishes it then)."""
    return _read(await service.schedule_campaign(session, campaign, publish_at=body.publish_at))


@router.post(
    "/campaigns/{campaign_id}/unschedule", response_model=CampaignRead, responses=problems(404, 409)
)
async def unschedule_campaign(
    campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    return _read(await service.unschedule_campaign(session, campaign))


@router.post(
    "/campaigns/{campaign_id}/publish", response_model=CampaignRead, responses=problems(404, 409)
)
async def publish_campaign(
    campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    """Publish now: the addressed organisations see it at once."""
    return _read(await service.publish_campaign(session, campaign))


@router.post(
    "/campaigns/{campaign_id}/close", response_model=CampaignRead, responses=problems(404, 409)
)
async def close_campaign(
    campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    return _read(await service.close_campaign(session, campaign))


@router.post(
    "/campaigns/{campaign_id}/archive", response_model=CampaignRead, responses=problems(404, 409)
)
async def archive_campaign(
    campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CampaignRead:
    return _read(await service.archive_campaign(session, campaign))


@router.get(
    "/campaigns/{campaign_id}/coverage", response_model=CoverageRead, responses=problems(404)
)
async def campaign_coverage(
    campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> CoverageRead:
    """Which item exists in which language, and what the audience needs but lacks."""
    found = await service.coverage(session, campaign)
    return CoverageRead(
        languages=found.languages,
        cells=found.cells,
        audience_languages=found.audience_languages,
        uncovered=found.uncovered,
        warnings=found.warnings,
    )


@router.get(
    "/campaigns/{campaign_id}/items", response_model=list[ItemRead], responses=problems(404)
)
async def list_items(campaign: ApiCampaignDep, session: SessionDep) -> list[ItemRead]:
    items = await service.list_items(session, campaign)
    variants = await service.list_variants(session, items)
    reads = []
    for item in items:
        read = ItemRead.model_validate(item)
        read.variants = [VariantRead.model_validate(v) for v in variants if v.item_id == item.id]
        reads.append(read)
    return reads


@router.post(
    "/campaigns/{campaign_id}/items",
    response_model=ItemRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409),
)
async def create_item(
    body: ItemCreate, campaign: ApiCampaignDep, _staff: ApiStaffDep, session: SessionDep
) -> ItemRead:
    item = await service.create_item(session, campaign, **body.model_dump())
    return await _item_read(session, item)


@router.get("/items/{item_id}", response_model=ItemRead, responses=problems(404))
async def read_item(found: ApiItemDep, session: SessionDep) -> ItemRead:
    return await _item_read(session, found[1])


@router.patch("/items/{item_id}", response_model=ItemRead, responses=problems(404, 409))
async def update_item(
    body: ItemUpdate, found: ApiItemDep, _staff: ApiStaffDep, session: SessionDep
) -> ItemRead:
    campaign, item = found
    updated = await service.update_item(
        session, campaign, item, body.model_dump(exclude_unset=True)
    )
    return await _item_read(session, updated)


@router.delete(
    "/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404, 409)
)
async def delete_item(found: ApiItemDep, _staff: ApiStaffDep, session: SessionDep) -> None:
    await service.delete_item(session, *found)


@router.put(
    "/items/{item_id}/variants/{language}", response_model=VariantRead, responses=problems(404, 409)
)
async def set_variant(
    body: VariantWrite,
    language: Annotated[str, Path(min_length=2, max_length=8)],
    found: ApiItemDep,
    staff: ApiStaffDep,
    session: SessionDep,
) -> VariantRead:
    """Create or change the item's variant in a language (text and/or a material)."""
    campaign, item = found
    variant = await service.set_variant(
        session,
        campaign,
        item,
        language=language,
        text=body.text,
        title=body.title,
        material_id=body.material_id,
        captions_material_id=body.captions_material_id,
        replaced_by=staff,
    )
    return VariantRead.model_validate(variant)


@router.delete(
    "/items/{item_id}/variants/{language}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(404, 409),
)
async def delete_variant(
    language: Annotated[str, Path(min_length=2, max_length=8)],
    found: ApiItemDep,
    _staff: ApiStaffDep,
    session: SessionDep,
) -> None:
    campaign, item = found
    variants = [v for v in await service.list_variants(session, [item]) if v.language == language]
    if not variants:
        raise NotFound(_("No such variant."))
    variant: ItemVariant = variants[0]
    await service.delete_variant(session, campaign, variant)
