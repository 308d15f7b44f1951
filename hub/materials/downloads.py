"""Downloads of campaign materials: who may fetch which file, and a record of each download.

A partner downloads the variants of campaigns that address its organisation; officers
download everything, including replaced versions. A signed, expiring link lets a partner hand
one file to a colleague without an account; it always serves the variant's current version, so
a corrected file reaches whoever opens an old link.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from hub.auth.dependencies import ApiStaffDep, ApiUserDep
from hub.campaigns import service as campaigns
from hub.db import unit_of_work
from hub.dependencies import SessionDep, StateDep
from hub.errors import NotFound
from hub.i18n import _
from hub.materials import serve, signing
from hub.materials.api import StorageDep
from hub.materials.storage import Storage
from hub.models import (
    Campaign,
    CampaignItem,
    ItemVariant,
    Material,
    MaterialDownload,
    Role,
    User,
    utcnow,
)
from hub.schemas import FILE_CONTENT, IdPath, problems
from hub.state import HubState

router = APIRouter(tags=["downloads"])
# The uploaded file, a film's WhatsApp-ready MP4 and poster frame, and a film's captions (the
# variant's captions file, a material of its own).
Rendition = Literal["original", "whatsapp", "poster", "captions"]


class SharedLink(BaseModel):
    url: str
    expires_at: str


async def _visible_variant(
    session: SessionDep, principal: User, variant_id: int
) -> tuple[ItemVariant, CampaignItem, Campaign]:
    variant = await session.get(ItemVariant, variant_id)
    item = await session.get(CampaignItem, variant.item_id) if variant else None
    campaign = (
        await campaigns.get_visible_campaign(
            session, principal=principal, campaign_id=item.campaign_id
        )
        if item
        else None
    )
    if variant is None or item is None or campaign is None:
        raise NotFound(_("No such file."))
    return variant, item, campaign


def download_name(
    item: CampaignItem, variant: ItemVariant, material: Material, rendition: Rendition
) -> str:
    base = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", " ", item.title).strip() or "material"
    suffix = {"whatsapp": " (WhatsApp)", "poster": " (poster)", "captions": " (captions)"}.get(
        rendition, ""
    )
    extension = {"whatsapp": "mp4", "poster": "jpg"}.get(rendition, material.extension)
    return f"{base} – {variant.language}{suffix}.{extension}"


async def rendition_material(
    session: AsyncSession, variant: ItemVariant, rendition: Rendition
) -> Material | None:
    """The material a rendition comes from: the film's captions, else the variant's file."""
    material_id = variant.captions_material_id if rendition == "captions" else variant.material_id
    return await session.get(Material, material_id) if material_id else None


def file_of(material: Material, rendition: Rendition) -> tuple[str, str, str]:
    """(storage key, content type, etag) of the wanted rendition of a material (for
    "captions", ``material`` is the captions file itself)."""
    if rendition in ("original", "captions"):
        return material.storage_key, material.content_type, material.sha256
    key = material.whatsapp_key if rendition == "whatsapp" else material.poster_key
    if not key:
        raise NotFound(_("This version of the file does not exist (yet)."))
    content_type = "video/mp4" if rendition == "whatsapp" else "image/jpeg"
    return key, content_type, f"{material.sha256}-{rendition}"


def _counts_as_download(request: Request, rendition: Rendition) -> bool:
    # A video player fetches many ranges per viewing: count a GET of the whole file or of its
    # first bytes, not HEAD, revalidations or later ranges. A poster frame, or a poster shown
    # as a picture on the kit page, is looking, not taking: not counted.
    if request.method != "GET" or request.headers.get("if-none-match"):
        return False
    if rendition in ("poster", "captions") or request.headers.get("sec-fetch-dest") == "image":
        return False
    byte_range = request.headers.get("range", "")
    return not byte_range or byte_range.replace(" ", "").startswith("bytes=0-")


async def _record(
    state: HubState, *, organisation_id: int | None, material_id: int, variant_id: int | None
) -> None:
    # Its own short write, so that a GET stays a read-only unit of work.
    async with unit_of_work(state.db, None) as session:
        session.add(
            MaterialDownload(
                organisation_id=organisation_id,
                material_id=material_id,
                variant_id=variant_id,
                downloaded_at=utcnow(),
            )
        )


async def _serve(
    request: Request,
    session: AsyncSession,
    state: HubState,
    storage: Storage,
    *,
    material: Material,
    item: CampaignItem,
    variant: ItemVariant,
    rendition: Rendition,
    organisation_id: int | None,
) -> Response:
    key, content_type, etag = file_of(material, rendition)
    response = await serve.file_response(
        request,
        storage,
        key,
        content_type=content_type,
        etag=etag,
        download_name=download_name(item, variant, material, rendition),
        accel_prefix=state.settings.media_accel_redirect,
    )
    if (
        organisation_id is not None
        and response.status_code in (200, 206)
        and _counts_as_download(request, rendition)
    ):
        # The record is a unit of work of its own: hand this request's connection back first
        # (a read-only session; what it loaded stays usable). Holding one connection while
        # waiting for another deadlocks the pool once as many downloads run at once as it has.
        await session.commit()
        await _record(
            state,
            organisation_id=organisation_id,
            material_id=material.id,  # type: ignore[arg-type]
            variant_id=variant.id,
        )
    return response


@router.get(
    "/api/v1/variants/{variant_id}/download",
    response_class=Response,
    responses={200: FILE_CONTENT, **problems(404)},
)
@router.head("/api/v1/variants/{variant_id}/download", include_in_schema=False)
async def download_variant(
    request: Request,
    variant_id: IdPath,
    principal: ApiUserDep,
    session: SessionDep,
    state: StateDep,
    storage: StorageDep,
    rendition: Annotated[Rendition, Query()] = "original",
) -> Response:
    """The variant's current file (``rendition``: the original, the WhatsApp-ready film or its
    poster frame), with Range, ETag and an attachment file name."""
    variant, item, _campaign = await _visible_variant(session, principal, variant_id)
    material = await rendition_material(session, variant, rendition)
    if material is None:
        raise NotFound(_("This item has no file in this language."))
    organisation_id = principal.organisation_id if principal.role is Role.partner else None
    return await _serve(
        request,
        session,
        state,
        storage,
        material=material,
        item=item,
        variant=variant,
        rendition=rendition,
        organisation_id=organisation_id,
    )


@router.post(
    "/api/v1/variants/{variant_id}/share", response_model=SharedLink, responses=problems(404)
)
async def share_variant(
    variant_id: IdPath, principal: ApiUserDep, session: SessionDep, state: StateDep
) -> SharedLink:
    """A link that downloads this file without an account, for a week."""
    variant, _item, _campaign = await _visible_variant(session, principal, variant_id)
    if variant.material_id is None:
        raise NotFound(_("This item has no file in this language."))
    url, expires_at = signing.download_link(
        base_url=state.settings.base_url,
        secret=state.settings.secret_key,
        variant_id=variant.id or 0,
        organisation_id=principal.organisation_id,
    )
    return SharedLink(url=url, expires_at=expires_at.isoformat())


@router.api_route("/d/{token}", methods=["GET", "HEAD"], include_in_schema=False)
async def shared_download(
    request: Request,
    token: str,
    session: SessionDep,
    state: StateDep,
    storage: StorageDep,
    rendition: Annotated[Rendition, Query()] = "original",
) -> Response:
    """A shared link: no account, no cookie; it serves the variant's current version."""
    payload = signing.verify(token[:500], secret=state.settings.secret_key)
    variant = await session.get(ItemVariant, int(payload.get("v", 0)))
    item = await session.get(CampaignItem, variant.item_id) if variant else None
    campaign = await session.get(Campaign, item.campaign_id) if item else None
    material = await rendition_material(session, variant, rendition) if variant else None
    if (
        variant is None
        or item is None
        or campaign is None
        or material is None
        or campaign.status not in campaigns.PARTNER_VISIBLE
    ):
        raise signing.InvalidLink(
            _(
                "This download link is invalid or has expired. "
                "Ask the person who sent it for a new one."
            )
        )
    organisation_id = int(payload.get("o", 0)) or None
    return await _serve(
        request,
        session,
        state,
        storage,
        material=material,
        item=item,
        variant=variant,
        rendition=rendition,
        organisation_id=organisation_id,
    )


@router.get(
    "/api/v1/materials/{material_id}/download",
    response_class=Response,
    responses={200: FILE_CONTENT, **problems(404)},
)
@router.head("/api/v1/materials/{material_id}/download", include_in_schema=False)
async def download_material(
    request: Request,
    material_id: IdPath,
    _staff: ApiStaffDep,
    session: SessionDep,
    state: StateDep,
    storage: StorageDep,
    rendition: Annotated[Rendition, Query()] = "original",
) -> Response:
    """Any stored file, including replaced versions (officers only)."""
    material = await session.get(Material, material_id)
    if material is None:
        raise NotFound(_("No such file."))
    key, content_type, etag = file_of(material, rendition)
    return await serve.file_response(
        request,
        storage,
        key,
        content_type=content_type,
        etag=etag,
        download_name=material.original_filename or f"material-{material.id}.{material.extension}",
        accel_prefix=state.settings.media_accel_redirect,
    )
