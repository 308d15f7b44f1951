"""Officer pages of campaigns: the list, creating and editing, the composer, the life cycle.

The composer is one page: the campaign's facts and life-cycle actions, its language coverage,
and every item with its language versions (their forms post to hub.campaigns.composer). When a
form fails, the composer is shown again with the message beside the field of the form that
failed (and the input kept). Destructive actions (close, archive, deleting) are confirmed first.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.audiences import service as audiences
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import StaffPageDep
from hub.campaigns import service
from hub.campaigns.dependencies import StaffCampaignDep
from hub.campaigns.page_forms import (
    MARKDOWN_KINDS,
    OWN_AUDIENCE,
    ComposerForms,
    Form,
    campaign_form,
    campaign_values,
    composer_url,
    form_status,
    form_text,
    format_day,
    invalid,
    language_choices,
    parse_local_time,
)
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.distribution import service as distribution
from hub.errors import BadRequest, HubError, NotFound
from hub.forms import (
    field_errors,
    see_other,
)
from hub.i18n import _
from hub.languages import display_name
from hub.models import Campaign, CampaignStatus, ItemVariant
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 25

# Life-cycle actions of the composer: the flash key each leaves behind.
ACTIONS = {
    "schedule": "campaign-scheduled",
    "unschedule": "campaign-unscheduled",
    "publish": "campaign-published",
    "close": "campaign-closed",
    "reopen": "campaign-reopened",
    "archive": "campaign-archived",
}
CONFIRMED_ACTIONS = frozenset({"close", "archive"})
EDITABLE_AUDIENCE = (CampaignStatus.draft, CampaignStatus.scheduled)


# --- the list --------------------------------------------------------------------------------


@router.get("/campaigns", name="campaigns_page")
async def campaigns_page(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    status_value = CampaignStatus(status) if status in {s.value for s in CampaignStatus} else None
    rows, total = await service.list_campaigns(
        session,
        principal=principal,
        status=status_value,
        search=q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    counts = await service.status_counts(session, principal=principal, search=q)
    ids = [c.id for c in rows if c.id is not None]
    filters = {"q": q, "status": status_value.value if status_value else ""}
    return render(
        request,
        "campaigns/list.html",
        {
            "campaigns": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "filtered": any(filters.values()),
            "counts": counts,
            "all_count": sum(counts.values()),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "search_query": urlencode({"q": q} if q else {}),
            "item_counts": await service.item_counts(session, ids),
            "owners": await service.user_names(
                session, [c.owner_id for c in rows if c.owner_id is not None]
            ),
            "audience_names": await service.audience_names(
                session, [c.audience_id for c in rows if c.audience_id is not None]
            ),
            "format_day": format_day,
        },
    )


# --- creating and editing a campaign ---------------------------------------------------------


async def _campaign_form_page(
    request: Request,
    session: SessionDep,
    *,
    form: Form,
    campaign: Campaign | None,
    status_code: int = 200,
) -> Response:
    if campaign is None:
        action = request.url_for("create_campaign_page")
        cancel = request.url_for("campaigns_page")
    else:
        action = request.url_for("update_campaign_page", campaign_id=campaign.id)
        cancel = request.url_for("campaign_page", campaign_id=campaign.id)
    audience_editable = campaign is None or campaign.status in EDITABLE_AUDIENCE
    audience_names = (
        await service.audience_names(session, [campaign.audience_id])
        if campaign is not None and campaign.audience_id is not None
        else {}
    )
    return render(
        request,
        "campaigns/form.html",
        {
            "form": form.values,
            "errors": form.errors,
            "campaign": campaign,
            "audiences": await audiences.list_audiences(session),
            "audience_editable": audience_editable,
            "audience_name": audience_names.get(campaign.audience_id or 0)
            if campaign is not None
            else None,
            "own_audience": OWN_AUDIENCE,
            "action": action,
            "cancel_url": cancel,
        },
        status_code=status_code,
    )


@router.get("/campaigns/new", name="new_campaign_page")
async def new_campaign_page(
    request: Request, _staff: StaffPageDep, session: SessionDep
) -> Response:
    return await _campaign_form_page(request, session, form=Form(), campaign=None)


@router.post("/campaigns/new", name="create_campaign_page", dependencies=Csrf)
async def create_campaign_page(
    request: Request, principal: StaffPageDep, session: SessionDep
) -> Response:
    form, changes = campaign_form(await request.form(), None)
    status_code = 400
    if not form.errors:
        try:
            campaign = await service.create_campaign(
                session,
                owner=principal,
                title=changes["title"],
                purpose=changes["purpose"],
                audience_id=changes.get("audience_id"),
                starts_on=changes["starts_on"],
                ends_on=changes["ends_on"],
            )
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = form_status(exc)
        else:
            return see_other(composer_url(campaign, "campaign-created"))
    return await _campaign_form_page(
        request, session, form=form, campaign=None, status_code=status_code
    )


@router.get("/campaigns/{campaign_id}/edit", name="edit_campaign_page")
async def edit_campaign_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    form = Form(values=campaign_values(campaign))
    return await _campaign_form_page(request, session, form=form, campaign=campaign)


@router.post("/campaigns/{campaign_id}/edit", name="update_campaign_page", dependencies=Csrf)
async def update_campaign_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    form, changes = campaign_form(await request.form(), campaign)
    status_code = 400
    if not form.errors:
        try:
            await service.update_campaign(session, campaign, changes)
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = form_status(exc)
        else:
            return see_other(composer_url(campaign, "campaign-saved"))
    if "audience_id" not in form.values:
        form.values["audience_id"] = campaign_values(campaign)["audience_id"]
    return await _campaign_form_page(
        request, session, form=form, campaign=campaign, status_code=status_code
    )


# --- the composer ----------------------------------------------------------------------------


async def composer_page(
    request: Request,
    session: SessionDep,
    campaign: Campaign,
    *,
    forms: ComposerForms | None = None,
    status_code: int = 200,
) -> Response:
    """The composer: facts, life cycle, coverage, and every item with its variants."""
    items = await service.list_items(session, campaign)
    variants = await service.list_variants(session, items)
    versions = await service.variant_versions(session, variants)
    material_ids = [v.material_id for v in variants if v.material_id is not None]
    material_ids += [old.material_id for found in versions.values() for old in found]
    material_ids += [v.captions_material_id for v in variants if v.captions_material_id]
    coverage = await service.coverage(session, campaign)
    by_item: dict[int, list[ItemVariant]] = {item.id or 0: [] for item in items}
    for variant in variants:
        by_item.setdefault(variant.item_id, []).append(variant)
    owners = await service.user_names(
        session, [campaign.owner_id] if campaign.owner_id is not None else []
    )
    audience_names = await service.audience_names(
        session, [campaign.audience_id] if campaign.audience_id is not None else []
    )
    status = CampaignStatus(campaign.status)
    items_missing = {
        code: [item.title for item in items if code in coverage.uncovered.get(item.id or 0, [])]
        for code in coverage.warnings
    }
    return render(
        request,
        "campaigns/composer.html",
        {
            "campaign": campaign,
            "items": items,
            "variants": by_item,
            "versions": versions,
            "materials": await service.materials_by_id(session, material_ids),
            "coverage": coverage,
            "items_missing": items_missing,
            # Each language's own name, marked with its language, beside the UI's name for it.
            "autonyms": {code: display_name(code, code) for code in coverage.languages},
            "owner_name": owners.get(campaign.owner_id or 0),
            "audience_name": audience_names.get(campaign.audience_id or 0),
            "languages": language_choices(coverage.languages),
            "forms": forms or ComposerForms(),
            "editable": status is not CampaignStatus.archived,
            "deletable": status in EDITABLE_AUDIENCE,
            "markdown_kinds": [k.value for k in MARKDOWN_KINDS],
            "max_upload_mib": max(1, request.state.hub.settings.max_upload_bytes // 2**20),
            "format_day": format_day,
            "progress": await distribution.progress(session, campaign.id or 0),
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}", name="campaign_page")
async def campaign_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    return await composer_page(request, session, campaign)


# --- the life cycle --------------------------------------------------------------------------


def _confirm_status_page(request: Request, campaign: Campaign, action: str) -> Response:
    if action == "close":
        title = _("Close the campaign")
        explanation = _(
            "Partners keep seeing the campaign, marked as closed, and their tracked links keep "
            "working; it is no longer current. You can publish it again later."
        )
        button = _("Close the campaign")
    else:
        title = _("Archive the campaign")
        explanation = _(
            "Partners no longer see the campaign and it can no longer be changed or published "
            "again. Its reports and history are kept."
        )
        button = _("Archive the campaign")
    return render(
        request,
        "campaigns/confirm.html",
        {
            "heading": title,
            "subject": campaign.title,
            "explanation": explanation,
            "action": request.url_for("campaign_status_page", campaign_id=campaign.id),
            "fields": {"action": action, "confirmed": "yes"},
            "button": button,
            "cancel_url": composer_url(campaign, anchor="lifecycle"),
            "errors": {},
        },
    )


@router.get("/campaigns/{campaign_id}/status/{action}", name="confirm_campaign_status_page")
async def confirm_campaign_status_page(
    request: Request, campaign: StaffCampaignDep, action: str
) -> Response:
    if action not in CONFIRMED_ACTIONS:
        raise NotFound()
    return _confirm_status_page(request, campaign, action)


@router.post("/campaigns/{campaign_id}/status", name="campaign_status_page", dependencies=Csrf)
async def campaign_status_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    """Move the campaign along its life cycle (schedule, publish, close, reopen, archive)."""
    form = await request.form()
    action = form_text(form, "action")
    publish_at = form_text(form, "publish_at")
    if action in CONFIRMED_ACTIONS and form_text(form, "confirmed") != "yes":
        return _confirm_status_page(request, campaign, action)
    try:
        if action == "schedule":
            try:
                moment = parse_local_time(publish_at)
            except ValueError:
                raise invalid(
                    "publish_at", _("Enter a date and time, e.g. 2025-10-01 09:00.")
                ) from None
            if moment is None:
                raise invalid("publish_at", _("Choose when to publish the campaign."))
            await service.schedule_campaign(session, campaign, publish_at=moment)
        elif action == "unschedule":
            await service.unschedule_campaign(session, campaign)
        elif action in ("publish", "reopen"):
            await service.publish_campaign(session, campaign)
        elif action == "close":
            await service.close_campaign(session, campaign)
        elif action == "archive":
            await service.archive_campaign(session, campaign)
        else:
            raise BadRequest(_("Choose one of the actions offered."))
    except HubError as exc:
        await rollback(session)
        forms = ComposerForms(
            status=Form(values={"publish_at": publish_at}, errors=field_errors(exc))
        )
        return await composer_page(
            request, session, campaign, forms=forms, status_code=form_status(exc)
        )
    return see_other(composer_url(campaign, ACTIONS[action], "lifecycle"))
