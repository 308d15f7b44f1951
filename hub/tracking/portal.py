"""Partner pages of tracking: the forward kit of a material, QR codes and print pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.csrf import require_csrf
from hub.auth.dependencies import PageUserDep
from hub.campaigns.dependencies import PageCampaignDep
from hub.campaigns.page_forms import form_status, form_text
from hub.db import rollback
from hub.dependencies import SessionDep, SettingsDep
from hub.errors import Forbidden, HubError, NotFound
from hub.forms import field_errors, see_other
from hub.i18n import _
from hub.models import (
    Campaign,
    CampaignItem,
    Channel,
    ItemKind,
    ItemVariant,
    Material,
    Organisation,
    Role,
    TrackedLink,
    User,
)
from hub.schemas import IdPath
from hub.templating import render
from hub.tracking import forward, landing, qr, service
from hub.tracking.dependencies import PageLinkDep
from hub.tracking.phrases import phrase

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PaperSize = Literal["a4", "a3"]
MAX_CALL_TO_ACTION = 200


def _organisation_id(principal: User) -> int:
    if principal.role is not Role.partner or principal.organisation_id is None:
        raise Forbidden(_("Tracked links belong to partner organisations."))
    return principal.organisation_id


async def _variant(
    session: SessionDep, campaign: Campaign, variant_id: int
) -> tuple[CampaignItem, ItemVariant]:
    variant = await session.get(ItemVariant, variant_id)
    item = await session.get(CampaignItem, variant.item_id) if variant else None
    if variant is None or item is None or item.campaign_id != campaign.id:
        raise NotFound(_("No such language version."))
    if item.kind not in landing.CITIZEN_KINDS:
        raise NotFound(_("Scripts are for recording films, not for forwarding."))
    return item, variant


async def _forward_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    campaign: Campaign,
    organisation_id: int,
    item: CampaignItem,
    variant: ItemVariant,
    *,
    print_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    links = await service.variant_links(
        session, organisation_id=organisation_id, item_id=item.id or 0, language=variant.language
    )
    by_channel = {
        link.channel: link
        for link in links
        if not link.placement and link.channel in forward.FORWARD_CHANNELS
    }
    totals = await service.link_totals(session, [link.id for link in links if link.id])
    material = await session.get(Material, variant.material_id) if variant.material_id else None
    return render(
        request,
        "tracking/forward.html",
        {
            "campaign": campaign,
            "item": item,
            "variant": variant,
            "title": landing.title_of(item, variant),
            "title_language": landing.title_language(item, variant),
            "material": material,
            "texts": forward.forward_texts(item, variant, by_channel, settings.base_url),
            "complete": all(c in by_channel for c in forward.FORWARD_CHANNELS),
            "links": links,
            "totals": totals,
            "base_url": settings.base_url,
            "print_form": print_form
            or {"size": "a4", "channel": "poster", "show_name": "1", "placement": "", "cta": ""},
            "default_cta": phrase(variant.language, "scan"),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get(
    "/portal/campaigns/{campaign_id}/variants/{variant_id}/forward", name="forward_kit_page"
)
async def forward_kit_page(
    request: Request,
    campaign: PageCampaignDep,
    variant_id: IdPath,
    principal: PageUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Texts to paste per channel with the organisation's own links, QR codes and posters."""
    organisation_id = _organisation_id(principal)
    item, variant = await _variant(session, campaign, variant_id)
    return await _forward_page(request, session, settings, campaign, organisation_id, item, variant)


@router.post(
    "/portal/campaigns/{campaign_id}/variants/{variant_id}/links",
    name="make_forward_links",
    dependencies=Csrf,
)
async def make_forward_links(
    request: Request,
    campaign: PageCampaignDep,
    variant_id: IdPath,
    principal: PageUserDep,
    session: SessionDep,
) -> Response:
    """Make the organisation's link for each forward channel (those it lacks)."""
    organisation_id = _organisation_id(principal)
    item, variant = await _variant(session, campaign, variant_id)
    for channel in forward.FORWARD_CHANNELS:
        await service.get_or_create_link(
            session,
            organisation_id=organisation_id,
            campaign=campaign,
            item=item,
            language=variant.language,
            channel=channel,
            created_by=principal,
        )
    url = request.url_for("forward_kit_page", campaign_id=campaign.id, variant_id=variant.id)
    return see_other(f"{url}?done=links-made#texts")


@router.post(
    "/portal/campaigns/{campaign_id}/variants/{variant_id}/print",
    name="make_print_link",
    dependencies=Csrf,
)
async def make_print_link(
    request: Request,
    campaign: PageCampaignDep,
    variant_id: IdPath,
    principal: PageUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The link of a printed poster or flyer (per placement), then its print page."""
    organisation_id = _organisation_id(principal)
    item, variant = await _variant(session, campaign, variant_id)
    posted = await request.form()
    form = {
        "size": form_text(posted, "size") or "a4",
        "channel": form_text(posted, "channel") or "poster",
        "placement": form_text(posted, "placement"),
        "show_name": "1" if form_text(posted, "show_name") else "",
        "cta": form_text(posted, "cta"),
    }
    errors: dict[str, str] = {}
    if form["size"] not in ("a4", "a3"):
        errors["size"] = _("Choose A4 or A3.")
    if form["channel"] not in {c.value for c in forward.PRINT_CHANNELS}:
        errors["channel"] = _("Choose a poster or a flyer.")
    if len(form["cta"]) > MAX_CALL_TO_ACTION:
        errors["cta"] = _("At most %(num)d characters.") % {"num": MAX_CALL_TO_ACTION}
    link: TrackedLink | None = None
    status = 400
    if not errors:
        try:
            link = await service.get_or_create_link(
                session,
                organisation_id=organisation_id,
                campaign=campaign,
                item=item,
                language=variant.language,
                channel=Channel(form["channel"]),
                placement=form["placement"],
                created_by=principal,
            )
        except HubError as exc:
            await rollback(session)
            errors = field_errors(exc)
            status = form_status(exc)
    if errors or link is None:
        return await _forward_page(
            request,
            session,
            settings,
            campaign,
            organisation_id,
            item,
            variant,
            print_form=form,
            errors=errors,
            status_code=status,
        )
    query = {"size": form["size"]}
    if form["show_name"]:
        query["name"] = "1"
    if form["cta"]:
        query["cta"] = form["cta"]
    url = request.url_for("print_page", link_id=link.id)
    return see_other(f"{url}?{urlencode(query)}")


@router.get("/portal/links/{link_id}/print", name="print_page")
async def print_page(
    request: Request,
    link: PageLinkDep,
    session: SessionDep,
    settings: SettingsDep,
    size: Annotated[PaperSize, Query()] = "a4",
    name: Annotated[bool, Query()] = False,
    cta: Annotated[str, Query(max_length=MAX_CALL_TO_ACTION)] = "",
) -> Response:
    """A poster or flyer to print: the title in its language, the QR code, a call to action
    and, if wished, the organisation's name."""
    item = await session.get(CampaignItem, link.item_id)
    variant = await service.link_variant(session, link)
    if item is None or variant is None:
        raise NotFound(_("This material no longer exists in that language."))
    organisation = await session.get(Organisation, link.organisation_id)
    url = service.short_url(settings.base_url, link)
    context: dict[str, Any] = {
        "link": link,
        "item": item,
        "variant": variant,
        "language": variant.language,
        "title": landing.title_of(item, variant),
        "title_language": landing.title_language(item, variant),
        "text": variant.text if item.kind in (ItemKind.message, ItemKind.event) else "",
        "size": size,
        "organisation_name": organisation.name if name and organisation else "",
        "cta": cta.strip() or phrase(variant.language, "scan"),
        "url": url,
        "qr_svg": qr.svg_inline(url),
        "when": landing.event_when(item.starts_at, item.ends_at, variant.language),
    }
    return render(request, "tracking/print.html", context)


@router.get("/portal/links/{link_id}/qr.{fmt}", name="link_qr_page")
async def link_qr_page(
    link: PageLinkDep,
    fmt: Literal["svg", "png"],
    settings: SettingsDep,
    download: Annotated[bool, Query()] = False,
) -> Response:
    """The link's QR code as SVG (for print shops) or PNG (for Word and social media)."""
    return qr_response(link, fmt, settings.base_url, download=download)


def qr_response(link: TrackedLink, fmt: str, base_url: str, *, download: bool) -> Response:
    url = service.short_url(base_url, link)
    body, media_type = (
        (qr.svg(url, title=url), "image/svg+xml") if fmt == "svg" else (qr.png(url), "image/png")
    )
    disposition = "attachment" if download else "inline"
    headers = {
        "Content-Disposition": f'{disposition}; filename="qr-{link.code}.{fmt}"',
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=media_type, headers=headers)
