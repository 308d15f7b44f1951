"""Partner pages of campaigns: the inbox, the campaign kit, scripts; the officer's preview."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from starlette.routing import NoMatchFound

from hub.auth.csrf import require_csrf
from hub.auth.dependencies import PageUserDep
from hub.campaigns import kit, service, submissions
from hub.campaigns.dependencies import PageCampaignDep, PageItemDep, StaffCampaignDep
from hub.dependencies import SessionDep, SettingsDep, StateDep
from hub.errors import Forbidden, NotFound
from hub.forms import parse_id, see_other
from hub.i18n import _
from hub.materials import signing
from hub.models import Campaign, ItemKind, Role, User
from hub.schemas import IdPath
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 25


def _is_partner(principal: User) -> bool:
    return principal.role is Role.partner


async def _kit_page(
    request: Request,
    session: SessionDep,
    campaign: Campaign,
    *,
    languages: list[str],
    status_code: int = 200,
    **context: Any,
) -> Response:
    return render(
        request,
        "portal/kit.html",
        {
            "kit": await kit.build_kit(session, campaign, languages=languages),
            "preview": False,
            "shared": {},
            **kit.FORMATTERS,
            **context,
        },
        status_code=status_code,
    )


@router.get("/portal/campaigns", name="inbox_page")
async def inbox_page(
    request: Request,
    principal: PageUserDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The campaigns addressed to the partner's organisation, newest first."""
    if not _is_partner(principal):
        return see_other("/campaigns")
    campaigns, total = await service.list_campaigns(
        session, principal=principal, search=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    languages = await kit.organisation_languages(session, principal.organisation_id)
    return render(
        request,
        "portal/inbox.html",
        {
            "entries": await kit.inbox_entries(session, campaigns, languages=languages),
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "q": q,
            "query": urlencode({"q": q} if q else {}),
            **kit.FORMATTERS,
        },
    )


@router.get("/portal/campaigns/{campaign_id}", name="kit_page")
async def kit_page(
    request: Request,
    campaign: PageCampaignDep,
    principal: PageUserDep,
    session: SessionDep,
    state: StateDep,
) -> Response:
    """The campaign kit: every item in the organisation's languages first."""
    if not _is_partner(principal):
        return see_other(str(request.url_for("campaign_preview_page", campaign_id=campaign.id)))
    await kit.record_visit(session, state.db, campaign, principal)
    languages = await kit.organisation_languages(session, principal.organisation_id)
    return await _kit_page(request, session, campaign, languages=languages)


@router.post(
    "/portal/campaigns/{campaign_id}/variants/{variant_id}/share",
    name="share_variant_page",
    dependencies=Csrf,
)
async def share_variant_page(
    request: Request,
    campaign: PageCampaignDep,
    variant_id: IdPath,
    principal: PageUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Make a week-long link to one file for a colleague without an account; show the kit
    again with the link beside the file."""
    if not _is_partner(principal) or principal.organisation_id is None:
        raise Forbidden(_("Only partner organisations share files from their kit."))
    variant = await kit.kit_variant(session, campaign, variant_id)
    if variant is None:
        raise NotFound(_("No such file."))
    url, expires_at = signing.download_link(
        base_url=settings.base_url,
        secret=settings.secret_key,
        variant_id=variant.id or 0,
        organisation_id=principal.organisation_id,
    )
    link = kit.SharedLink(url=url, expires_at=expires_at)
    languages = await kit.organisation_languages(session, principal.organisation_id)
    return await _kit_page(
        request, session, campaign, languages=languages, shared={variant.id: link}
    )


@router.get("/portal/campaigns/{campaign_id}/items/{item_id}", name="script_page")
async def script_page(
    request: Request, found: PageItemDep, principal: PageUserDep, session: SessionDep
) -> Response:
    """A script to read aloud, how to record one's own film, and the films sent so far."""
    campaign, item = found
    if item.kind != ItemKind.script:
        url = request.url_for("kit_page", campaign_id=campaign.id)
        return see_other(f"{url}#item-{item.id}")
    partner = _is_partner(principal) and principal.organisation_id is not None
    languages = await kit.organisation_languages(session, principal.organisation_id)
    sent = (
        await submissions.for_organisation(
            session,
            organisation_id=principal.organisation_id,  # type: ignore[arg-type]
            item_id=item.id,
        )
        if partner
        else []
    )
    return render(
        request,
        "portal/script.html",
        {
            "campaign": campaign,
            "item": item,
            "view": await kit.item_variants(session, item, languages=languages),
            "partner": partner,
            "submissions": sent,
            **kit.FORMATTERS,
        },
    )


def _campaign_page_url(request: Request, campaign: Campaign) -> str:
    # The composer's page comes with the officers' pages; until it is there, its plain path.
    try:
        return str(request.url_for("campaign_page", campaign_id=campaign.id))
    except NoMatchFound:
        return f"/campaigns/{campaign.id}"


@router.get("/campaigns/{campaign_id}/preview", name="campaign_preview_page")
async def campaign_preview_page(
    request: Request,
    campaign: StaffCampaignDep,
    session: SessionDep,
    organisation_id: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """The kit as a chosen addressed organisation sees it, for any status (officers only)."""
    organisations = await kit.preview_organisations(session, campaign)
    wanted = parse_id(organisation_id)
    chosen = next((o for o in organisations if o.id == wanted), None)
    if chosen is None and organisations:
        chosen = organisations[0]
    languages = await kit.organisation_languages(session, chosen.id if chosen else None)
    return await _kit_page(
        request,
        session,
        campaign,
        languages=languages,
        preview=True,
        organisations=organisations,
        chosen=chosen,
        back_url=_campaign_page_url(request, campaign),
    )
