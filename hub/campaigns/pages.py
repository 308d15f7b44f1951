"""Officer pages of campaigns: list, compose (items, variants, uploads, coverage), life cycle.

The composer is one page: the campaign's facts and life-cycle actions, its language coverage,
and every item with its language versions. Each form on it posts to its own route; when one
fails, the composer is shown again with the message beside the field of the form that failed
(and the input kept). Destructive actions (close, archive, deleting) go through a confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from hub.audiences import service as audiences
from hub.auth import csrf
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import StaffPageDep
from hub.campaigns import service
from hub.campaigns.dependencies import StaffCampaignDep, StaffItemDep
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.distribution import service as distribution
from hub.errors import BadRequest, FieldError, HubError, InvalidInput, NotFound
from hub.forms import field_errors, parse_id, see_other
from hub.i18n import _, current_language
from hub.languages import COMMON_LANGUAGES, display_name
from hub.materials import service as materials
from hub.materials.api import get_storage
from hub.materials.upload import discard_upload, receive_upload
from hub.models import Campaign, CampaignItem, CampaignStatus, ItemKind, ItemVariant
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 25
# Officers type times as they read them on the wall clock: Copenhagen time.
LOCAL_ZONE = ZoneInfo("Europe/Copenhagen")
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
# The saved-audience choice that keeps an audience described through the API.
OWN_AUDIENCE = "own"
# Items whose texts are Markdown (scripts and Q&A have headings, lists and links).
MARKDOWN_KINDS = frozenset({ItemKind.script, ItemKind.qa})
EVENT_TEXT_FIELDS = ("place", "address", "map_url", "booking_help")
EVENT_TIME_FIELDS = ("starts_at", "ends_at")
XHR_HEADER = "x-requested-with"

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


@dataclass
class Form:
    """What a form said (to show it again) and what was wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ComposerForms:
    """The composer's forms that failed, so that the page shows them again as they were."""

    status: Form = field(default_factory=Form)
    new_item: Form = field(default_factory=lambda: Form(values={"base_language": "da"}))
    texts: dict[int, Form] = field(default_factory=dict)  # item id → the text form
    files: dict[int, Form] = field(default_factory=dict)  # item id → the upload form


# --- reading forms ---------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError(name, message)])


def parse_local_time(text: str) -> datetime | None:
    """A datetime-local value, meant in Copenhagen time, as UTC; None when empty.

    Raises ValueError when the text is not a date and time a campaign could use."""
    text = text.strip()
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if not 2000 <= value.year <= 2200:
        raise ValueError(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_ZONE)
    return value.astimezone(UTC)


def local_input_value(moment: datetime | None) -> str:
    """A stored time as a datetime-local value in Copenhagen time."""
    return moment.astimezone(LOCAL_ZONE).strftime(LOCAL_INPUT_FORMAT) if moment else ""


def _parse_day(text: str) -> date | None:
    if not text:
        return None
    day = date.fromisoformat(text)
    if not 2000 <= day.year <= 2200:
        raise ValueError(text)
    return day


def format_day(day: date | None) -> str:
    return format_date(day, "medium", locale=current_language()) if day else ""


def _language_choices(extra: list[str] | None = None) -> list[tuple[str, str]]:
    """The common content languages first, then any other the campaign uses already."""
    codes = list(COMMON_LANGUAGES) + [c for c in extra or [] if c not in COMMON_LANGUAGES]
    return [(code, display_name(code, current_language())) for code in codes]


def _campaign_form(form: FormData, campaign: Campaign | None) -> tuple[Form, dict[str, Any]]:
    """The campaign form's values and errors, and the changes it asks for."""
    names = ("title", "purpose", "starts_on", "ends_on")
    values: dict[str, Any] = {name: _text(form, name) for name in names}
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {"title": values["title"], "purpose": values["purpose"]}
    for name in ("starts_on", "ends_on"):
        try:
            changes[name] = _parse_day(values[name])
        except ValueError:
            errors[name] = _("Enter a date, e.g. 2025-10-01.")
    choice = form.get("audience_id")
    # A published campaign's form has no audience field: its audience is fixed.
    if isinstance(choice, str):
        choice = choice.strip()
        values["audience_id"] = choice
        if choice != OWN_AUDIENCE or campaign is None:
            audience_id = parse_id(choice) if choice else None
            if choice and audience_id is None:
                errors["audience_id"] = _("Choose an audience from the list.")
            elif campaign is None:
                changes["audience_id"] = audience_id
            elif audience_id != campaign.audience_id or (
                audience_id is None and campaign.audience_spec is not None
            ):
                changes["audience_id"] = audience_id
                if audience_id is None:
                    changes["audience_spec"] = None
    return Form(values=values, errors=errors), changes


def _campaign_values(campaign: Campaign) -> dict[str, Any]:
    audience = str(campaign.audience_id) if campaign.audience_id is not None else ""
    if campaign.audience_id is None and campaign.audience_spec is not None:
        audience = OWN_AUDIENCE
    return {
        "title": campaign.title,
        "purpose": campaign.purpose,
        "audience_id": audience,
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
    }


def _item_form(form: FormData, item: CampaignItem | None = None) -> tuple[Form, dict[str, Any]]:
    """The item form's values and errors, and the service arguments it asks for.

    Event fields are passed on only for events, or when filled in for another kind (the
    service then says they belong to events)."""
    names = ("kind", "title", "base_language", "fallback_language")
    values: dict[str, Any] = {
        name: _text(form, name) for name in (*names, *EVENT_TIME_FIELDS, *EVENT_TEXT_FIELDS)
    }
    errors: dict[str, str] = {}
    arguments: dict[str, Any] = {
        "title": values["title"],
        "base_language": values["base_language"] or "da",
        "fallback_language": values["fallback_language"] or None,
    }
    kind: ItemKind | None = ItemKind(item.kind) if item is not None else None
    if item is None:
        if values["kind"] in {k.value for k in ItemKind}:
            kind = ItemKind(values["kind"])
            arguments["kind"] = kind
        else:
            errors["kind"] = _("Choose what kind of item this is.")
    event: dict[str, Any] = {}
    for name in EVENT_TIME_FIELDS:
        try:
            event[name] = parse_local_time(values[name])
        except ValueError:
            errors[name] = _("Enter a date and time, e.g. 2025-10-01 17:30.")
    for name in EVENT_TEXT_FIELDS:
        event[name] = values[name] or None
    if kind is ItemKind.event or item is None:
        arguments.update(event)
    else:
        arguments.update({k: v for k, v in event.items() if v is not None})
    return Form(values=values, errors=errors), arguments


def _item_values(item: CampaignItem) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": str(item.kind),
        "title": item.title,
        "base_language": item.base_language,
        "fallback_language": item.fallback_language or "",
    }
    for name in EVENT_TIME_FIELDS:
        values[name] = local_input_value(getattr(item, name))
    for name in EVENT_TEXT_FIELDS:
        values[name] = getattr(item, name) or ""
    return values


def _form_status(exc: HubError) -> int:
    """A form's error status: 400 for what the officer typed, else the error's own (409...)."""
    return 400 if isinstance(exc, InvalidInput) else exc.status


def _composer_url(campaign: Campaign, done: str = "", anchor: str = "") -> str:
    url = f"/campaigns/{campaign.id}"
    if done:
        url += f"?done={quote(done)}"
    return url + (f"#{anchor}" if anchor else "")


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
    form, changes = _campaign_form(await request.form(), None)
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
            status_code = _form_status(exc)
        else:
            return see_other(_composer_url(campaign, "campaign-created"))
    return await _campaign_form_page(
        request, session, form=form, campaign=None, status_code=status_code
    )


@router.get("/campaigns/{campaign_id}/edit", name="edit_campaign_page")
async def edit_campaign_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    form = Form(values=_campaign_values(campaign))
    return await _campaign_form_page(request, session, form=form, campaign=campaign)


@router.post("/campaigns/{campaign_id}/edit", name="update_campaign_page", dependencies=Csrf)
async def update_campaign_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    form, changes = _campaign_form(await request.form(), campaign)
    status_code = 400
    if not form.errors:
        try:
            await service.update_campaign(session, campaign, changes)
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = _form_status(exc)
        else:
            return see_other(_composer_url(campaign, "campaign-saved"))
    if "audience_id" not in form.values:
        form.values["audience_id"] = _campaign_values(campaign)["audience_id"]
    return await _campaign_form_page(
        request, session, form=form, campaign=campaign, status_code=status_code
    )


# --- the composer ----------------------------------------------------------------------------


async def _composer(
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
            "languages": _language_choices(coverage.languages),
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
    return await _composer(request, session, campaign)


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
            "cancel_url": _composer_url(campaign, anchor="lifecycle"),
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
    action = _text(form, "action")
    publish_at = _text(form, "publish_at")
    if action in CONFIRMED_ACTIONS and _text(form, "confirmed") != "yes":
        return _confirm_status_page(request, campaign, action)
    try:
        if action == "schedule":
            try:
                moment = parse_local_time(publish_at)
            except ValueError:
                raise _invalid(
                    "publish_at", _("Enter a date and time, e.g. 2025-10-01 09:00.")
                ) from None
            if moment is None:
                raise _invalid("publish_at", _("Choose when to publish the campaign."))
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
        return await _composer(
            request, session, campaign, forms=forms, status_code=_form_status(exc)
        )
    return see_other(_composer_url(campaign, ACTIONS[action], "lifecycle"))


# --- items -----------------------------------------------------------------------------------


@router.post("/campaigns/{campaign_id}/items", name="create_item_page", dependencies=Csrf)
async def create_item_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    form, arguments = _item_form(await request.form())
    status_code = 400
    if not form.errors:
        try:
            item = await service.create_item(session, campaign, **arguments)
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = _form_status(exc)
        else:
            return see_other(_composer_url(campaign, "item-added", f"item-{item.id}"))
    return await _composer(
        request, session, campaign, forms=ComposerForms(new_item=form), status_code=status_code
    )


async def _item_form_page(
    request: Request,
    campaign: Campaign,
    item: CampaignItem,
    form: Form,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "campaigns/item_form.html",
        {
            "campaign": campaign,
            "item": item,
            "form": form.values,
            "errors": form.errors,
            "languages": _language_choices(
                [item.base_language] + ([item.fallback_language] if item.fallback_language else [])
            ),
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}/items/{item_id}/edit", name="edit_item_page")
async def edit_item_page(request: Request, found: StaffItemDep) -> Response:
    campaign, item = found
    return await _item_form_page(request, campaign, item, Form(values=_item_values(item)))


@router.post(
    "/campaigns/{campaign_id}/items/{item_id}/edit", name="update_item_page", dependencies=Csrf
)
async def update_item_page(request: Request, found: StaffItemDep, session: SessionDep) -> Response:
    campaign, item = found
    form, arguments = _item_form(await request.form(), item)
    form.values["kind"] = str(item.kind)
    status_code = 400
    if not form.errors:
        try:
            await service.update_item(session, campaign, item, arguments)
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = _form_status(exc)
        else:
            return see_other(_composer_url(campaign, "item-saved", f"item-{item.id}"))
    return await _item_form_page(request, campaign, item, form, status_code)


def _confirm_delete_item(
    request: Request,
    campaign: Campaign,
    item: CampaignItem,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "campaigns/confirm.html",
        {
            "heading": _("Delete the item"),
            "subject": item.title,
            "explanation": _(
                "The item and all its language versions are removed from the campaign. The "
                "uploaded files stay in the materials library."
            ),
            "action": request.url_for("delete_item_page", campaign_id=campaign.id, item_id=item.id),
            "fields": {},
            "button": _("Delete the item"),
            "cancel_url": _composer_url(campaign, anchor=f"item-{item.id}"),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}/items/{item_id}/delete", name="confirm_delete_item_page")
async def confirm_delete_item_page(request: Request, found: StaffItemDep) -> Response:
    return _confirm_delete_item(request, *found)


@router.post(
    "/campaigns/{campaign_id}/items/{item_id}/delete", name="delete_item_page", dependencies=Csrf
)
async def delete_item_page(request: Request, found: StaffItemDep, session: SessionDep) -> Response:
    campaign, item = found
    try:
        await service.delete_item(session, campaign, item)
    except HubError as exc:
        await rollback(session)
        return _confirm_delete_item(
            request, campaign, item, {"__all__": exc.detail}, status_code=exc.status
        )
    return see_other(_composer_url(campaign, "item-deleted", "items"))


# --- language variants -----------------------------------------------------------------------


def _variant_page(
    request: Request,
    campaign: Campaign,
    item: CampaignItem,
    variant: ItemVariant,
    form: Form,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "campaigns/variant.html",
        {
            "campaign": campaign,
            "item": item,
            "variant": variant,
            "form": form.values,
            "errors": form.errors,
            "markdown": item.kind in MARKDOWN_KINDS,
            "editable": campaign.status != CampaignStatus.archived,
        },
        status_code=status_code,
    )


async def _variant_or_404(session: SessionDep, item: CampaignItem, language: str) -> ItemVariant:
    variant = await service.get_variant(session, item, language[:8])
    if variant is None:
        raise NotFound(_("No such variant."))
    return variant


@router.post(
    "/campaigns/{campaign_id}/items/{item_id}/variants",
    name="set_variant_page",
    dependencies=Csrf,
)
async def set_variant_page(
    request: Request, found: StaffItemDep, principal: StaffPageDep, session: SessionDep
) -> Response:
    """Create or change the text of the item in a language."""
    campaign, item = found
    posted = await request.form()
    raw_text = posted.get("text", "")
    form = Form(
        values={
            "language": _text(posted, "language"),
            "text": raw_text if isinstance(raw_text, str) else "",
        }
    )
    try:
        await service.set_variant(
            session,
            campaign,
            item,
            language=form.values["language"],
            text=form.values["text"],
            replaced_by=principal,
        )
    except HubError as exc:
        await rollback(session)
        form.errors = field_errors(exc)
        if _text(posted, "page") == "variant":
            variant = await service.get_variant(session, item, form.values["language"])
            if variant is not None:
                return _variant_page(request, campaign, item, variant, form, _form_status(exc))
        return await _composer(
            request,
            session,
            campaign,
            forms=ComposerForms(texts={item.id or 0: form}),
            status_code=_form_status(exc),
        )
    return see_other(_composer_url(campaign, "variant-saved", f"item-{item.id}"))


@router.get(
    "/campaigns/{campaign_id}/items/{item_id}/variants/{language}", name="edit_variant_page"
)
async def edit_variant_page(
    request: Request, found: StaffItemDep, session: SessionDep, language: str
) -> Response:
    campaign, item = found
    variant = await _variant_or_404(session, item, language)
    form = Form(values={"language": variant.language, "text": variant.text})
    return _variant_page(request, campaign, item, variant, form)


def _confirm_delete_variant(
    request: Request,
    campaign: Campaign,
    item: CampaignItem,
    variant: ItemVariant,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    name = display_name(variant.language, current_language())
    return render(
        request,
        "campaigns/confirm.html",
        {
            "heading": _("Delete the %(language)s version") % {"language": name},
            "subject": item.title,
            "explanation": _(
                "The text and the file of this language version are removed from the item, "
                "together with its earlier versions. The files stay in the materials library."
            ),
            "action": request.url_for(
                "delete_variant_page",
                campaign_id=campaign.id,
                item_id=item.id,
                language=variant.language,
            ),
            "fields": {},
            "button": _("Delete the %(language)s version") % {"language": name},
            "cancel_url": _composer_url(campaign, anchor=f"item-{item.id}"),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get(
    "/campaigns/{campaign_id}/items/{item_id}/variants/{language}/delete",
    name="confirm_delete_variant_page",
)
async def confirm_delete_variant_page(
    request: Request, found: StaffItemDep, session: SessionDep, language: str
) -> Response:
    campaign, item = found
    variant = await _variant_or_404(session, item, language)
    return _confirm_delete_variant(request, campaign, item, variant)


@router.post(
    "/campaigns/{campaign_id}/items/{item_id}/variants/{language}/delete",
    name="delete_variant_page",
    dependencies=Csrf,
)
async def delete_variant_page(
    request: Request, found: StaffItemDep, session: SessionDep, language: str
) -> Response:
    campaign, item = found
    variant = await _variant_or_404(session, item, language)
    try:
        await service.delete_variant(session, campaign, variant)
    except HubError as exc:
        await rollback(session)
        return _confirm_delete_variant(
            request, campaign, item, variant, {"__all__": exc.detail}, status_code=exc.status
        )
    return see_other(_composer_url(campaign, "variant-deleted", f"item-{item.id}"))


# --- uploading a file ------------------------------------------------------------------------


def _upload_errors(exc: HubError) -> dict[str, str]:
    """An upload's errors on the two fields the officer sees: the language and the file."""
    errors = field_errors(exc)
    result = {"language": errors.pop("language")} if "language" in errors else {}
    if errors:
        result["file"] = " ".join(dict.fromkeys(errors.values()))
    return result


@router.post("/campaigns/{campaign_id}/items/{item_id}/files", name="upload_variant_file_page")
async def upload_variant_file_page(
    request: Request, found: StaffItemDep, principal: StaffPageDep, session: SessionDep
) -> Response:
    """Upload the item's file in a language (a new version when it has one already).

    The multipart body is read here, after the officer is authenticated, and streamed to
    disk (no Form()/File() parameters: FastAPI would read the whole body first). The CSRF
    token travels in the body, so it is checked once the body is in, before anything is
    stored. Sent by upload.js (X-Requested-With), the answer is JSON instead of a page."""
    campaign, item = found
    wants_json = request.headers.get(XHR_HEADER, "").lower() == "xmlhttprequest"
    storage = get_storage(request)
    language = ""
    # Signing in may have written (the session's last use): commit now, so that no
    # transaction, and on SQLite no write lock, is held while a large body streams in.
    await session.commit()
    try:
        try:
            upload = await receive_upload(
                request.headers.get("content-type"),
                request.stream(),
                storage=storage,
                max_bytes=request.state.hub.settings.max_upload_bytes,
            )
        except ClientDisconnect:
            raise BadRequest(_("The upload is incomplete or malformed. Try again.")) from None
        try:
            csrf.verify(request, upload.fields.get(csrf.CSRF_FIELD))
            language = upload.fields.get("language", "").strip()
            if not language:
                raise _invalid("language", _("Choose the language of the file."))
            # Refused before the file is stored, so that a refusal leaves no file behind.
            code = service.check_variant_target(campaign, language)
            material, _created = await materials.store_material(
                session, upload, storage=storage, uploaded_by=principal
            )
            await service.set_variant(
                session,
                campaign,
                item,
                language=code,
                material_id=material.id,
                replaced_by=principal,
            )
        finally:
            await discard_upload(storage, upload)
    except HubError as exc:
        await rollback(session)
        errors = _upload_errors(exc)
        if wants_json:
            return JSONResponse(
                {
                    "title": _(exc.title),
                    "status": exc.status,
                    "detail": exc.detail,
                    "errors": [{"field": k, "message": v} for k, v in errors.items()],
                },
                status_code=exc.status,
                headers={"Cache-Control": "no-store"},
            )
        forms = ComposerForms(
            files={item.id or 0: Form(values={"language": language}, errors=errors)}
        )
        return await _composer(request, session, campaign, forms=forms, status_code=exc.status)
    target = _composer_url(campaign, "file-uploaded", f"item-{item.id}")
    if wants_json:
        return JSONResponse({"redirect": target}, headers={"Cache-Control": "no-store"})
    return see_other(target)
