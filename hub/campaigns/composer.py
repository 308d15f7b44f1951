"""The composer's item forms: items, their language versions (texts) and files (uploads).

Each form posts here and returns to the composer (hub.campaigns.pages), with the message beside
the field when it fails; deleting is confirmed first.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hub.auth import csrf
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import StaffPageDep
from hub.campaigns import service
from hub.campaigns.dependencies import StaffCampaignDep, StaffItemDep
from hub.campaigns.page_forms import (
    MARKDOWN_KINDS,
    ComposerForms,
    Form,
    composer_url,
    form_status,
    form_text,
    invalid,
    item_form,
    item_values,
    language_choices,
)
from hub.campaigns.pages import composer_page
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.errors import HubError, NotFound
from hub.forms import (
    field_errors,
    see_other,
    upload_done,
    upload_problem,
    wants_json,
)
from hub.i18n import _, current_language
from hub.languages import display_name
from hub.materials import service as materials
from hub.materials.api import get_storage, receive_request_upload
from hub.materials.upload import discard_upload
from hub.models import Campaign, CampaignItem, CampaignStatus, ItemVariant, MaterialKind
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]


# --- items -----------------------------------------------------------------------------------


@router.post("/campaigns/{campaign_id}/items", name="create_item_page", dependencies=Csrf)
async def create_item_page(
    request: Request, campaign: StaffCampaignDep, session: SessionDep
) -> Response:
    form, arguments = item_form(await request.form())
    status_code = 400
    if not form.errors:
        try:
            item = await service.create_item(session, campaign, **arguments)
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = form_status(exc)
        else:
            return see_other(composer_url(campaign, "item-added", f"item-{item.id}"))
    return await composer_page(
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
            "languages": language_choices(
                [item.base_language] + ([item.fallback_language] if item.fallback_language else [])
            ),
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}/items/{item_id}/edit", name="edit_item_page")
async def edit_item_page(request: Request, found: StaffItemDep) -> Response:
    campaign, item = found
    return await _item_form_page(request, campaign, item, Form(values=item_values(item)))


@router.post(
    "/campaigns/{campaign_id}/items/{item_id}/edit", name="update_item_page", dependencies=Csrf
)
async def update_item_page(request: Request, found: StaffItemDep, session: SessionDep) -> Response:
    campaign, item = found
    form, arguments = item_form(await request.form(), item)
    form.values["kind"] = str(item.kind)
    status_code = 400
    if not form.errors:
        try:
            await service.update_item(session, campaign, item, arguments)
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
            status_code = form_status(exc)
        else:
            return see_other(composer_url(campaign, "item-saved", f"item-{item.id}"))
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
            "cancel_url": composer_url(campaign, anchor=f"item-{item.id}"),
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
    return see_other(composer_url(campaign, "item-deleted", "items"))


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
            "language": form_text(posted, "language"),
            "text": raw_text if isinstance(raw_text, str) else "",
            "title": form_text(posted, "title"),
        }
    )
    try:
        await service.set_variant(
            session,
            campaign,
            item,
            language=form.values["language"],
            text=form.values["text"],
            # Only the variant's own page has the title field; the composer's form keeps it.
            title=form.values["title"] if "title" in posted else None,
            replaced_by=principal,
        )
    except HubError as exc:
        await rollback(session)
        form.errors = field_errors(exc)
        if form_text(posted, "page") == "variant":
            variant = await service.get_variant(session, item, form.values["language"])
            if variant is not None:
                return _variant_page(request, campaign, item, variant, form, form_status(exc))
        return await composer_page(
            request,
            session,
            campaign,
            forms=ComposerForms(texts={item.id or 0: form}),
            status_code=form_status(exc),
        )
    return see_other(composer_url(campaign, "variant-saved", f"item-{item.id}"))


@router.get(
    "/campaigns/{campaign_id}/items/{item_id}/variants/{language}", name="edit_variant_page"
)
async def edit_variant_page(
    request: Request, found: StaffItemDep, session: SessionDep, language: str
) -> Response:
    campaign, item = found
    variant = await _variant_or_404(session, item, language)
    form = Form(values={"language": variant.language, "text": variant.text, "title": variant.title})
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
            "cancel_url": composer_url(campaign, anchor=f"item-{item.id}"),
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
    return see_other(composer_url(campaign, "variant-deleted", f"item-{item.id}"))


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
    token travels in the body, before the file: it is checked before the file is read.
    Sent by upload.js (X-Requested-With), the answer is JSON instead of a page."""
    campaign, item = found
    storage = get_storage(request)
    language = ""
    try:
        upload = await receive_request_upload(
            request, session, storage, before_file=csrf.upload_check(request)
        )
        try:
            language = upload.fields.get("language", "").strip()
            if not language:
                raise invalid("language", _("Choose the language of the file."))
            # Refused before the file is stored, so that a refusal leaves no file behind.
            code = service.check_variant_target(campaign, language)
            if upload.kind == MaterialKind.captions:
                await service.check_captions_target(session, item, code)
            material, _created = await materials.store_material(
                session, upload, storage=storage, uploaded_by=principal
            )
            # A WebVTT file is the captions of the film in that language.
            captions = material.kind == MaterialKind.captions
            await service.set_variant(
                session,
                campaign,
                item,
                language=code,
                material_id=None if captions else material.id,
                captions_material_id=material.id if captions else None,
                replaced_by=principal,
            )
        finally:
            await discard_upload(storage, upload)
    except HubError as exc:
        await rollback(session)
        errors = _upload_errors(exc)
        if wants_json(request):
            return upload_problem(exc, errors)
        forms = ComposerForms(
            files={item.id or 0: Form(values={"language": language}, errors=errors)}
        )
        return await composer_page(request, session, campaign, forms=forms, status_code=exc.status)
    return upload_done(request, composer_url(campaign, "file-uploaded", f"item-{item.id}"))
