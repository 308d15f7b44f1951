"""Officer pages of the partner registry: list, register, edit, offboard, contact persons."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.areas import service as areas
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import AdminPageDep, PageUserDep, StaffPageDep
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.errors import HubError
from hub.forms import field_errors, parse_id, see_other
from hub.i18n import _, current_language
from hub.languages import COMMON_LANGUAGES, display_name
from hub.models import (
    NotifyBy,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    OrgRole,
    User,
)
from hub.partners import forms, service
from hub.partners.dependencies import PageContactDep, PageOrganisationDep
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 25


async def _area_choices(session: SessionDep) -> tuple[list[Any], dict[int, str]]:
    all_areas = await areas.all_areas(session)
    return all_areas, {a.id: a.name for a in all_areas}  # type: ignore[misc]


@router.get("/partners", name="partners_page")
async def partners_page(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: str = "",
    status: str = "",
    area_id: str = "",
    language: Annotated[str, Query(max_length=8)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    kind_value = OrganisationKind(kind) if kind in {k.value for k in OrganisationKind} else None
    status_value = (
        OrganisationStatus(status) if status in {s.value for s in OrganisationStatus} else None
    )
    area_value = parse_id(area_id)
    views, total = await service.list_organisations(
        session,
        principal=principal,
        kind=kind_value,
        status=status_value,
        area_id=area_value,
        language=language or None,
        search=q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    all_areas, area_names = await _area_choices(session)
    filters = {"q": q, "kind": kind, "status": status, "area_id": area_id, "language": language}
    counts = await service.contact_counts(session, [v.organisation.id for v in views])  # type: ignore[misc]
    return render(
        request,
        "partners/list.html",
        {
            "views": views,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "filtered": any(filters.values()),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "areas": all_areas,
            "area_names": area_names,
            "contact_counts": counts,
            "languages": [(c, display_name(c, current_language())) for c in COMMON_LANGUAGES],
        },
    )


async def _form_page(
    request: Request,
    session: SessionDep,
    *,
    form: forms.OrganisationForm,
    organisation: Organisation | None,
    status_code: int = 200,
) -> Response:
    all_areas, _names = await _area_choices(session)
    if organisation is None:
        action, cancel = request.url_for("create_partner_page"), request.url_for("partners_page")
    else:
        action = request.url_for("update_partner_page", organisation_id=organisation.id)
        cancel = request.url_for("partner_page", organisation_id=organisation.id)
    return render(
        request,
        "partners/form.html",
        {
            "form": form.values,
            "errors": form.errors,
            "organisation": organisation,
            "areas": all_areas,
            "action": action,
            "cancel_url": cancel,
        },
        status_code=status_code,
    )


@router.get("/partners/new", name="new_partner_page")
async def new_partner_page(request: Request, _staff: StaffPageDep, session: SessionDep) -> Response:
    form = forms.OrganisationForm(values={"kind": "association", "status": "active"})
    return await _form_page(request, session, form=form, organisation=None)


@router.post("/partners/new", name="create_partner_page", dependencies=Csrf)
async def create_partner_page(
    request: Request, _staff: StaffPageDep, session: SessionDep
) -> Response:
    form = forms.parse_organisation(await request.form())
    if not form.errors:
        try:
            c = form.changes
            organisation = await service.create_organisation(
                session,
                name=c["name"],
                kind=c["kind"],
                status=c["status"],
                description=c["description"],
                notes=c["notes"],
                external_id=c["external_id"],
                languages=c["languages"],
                area_ids=c["area_ids"],
                channels=c["channels"],
            )
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
        else:
            return see_other(f"/partners/{organisation.id}?done=partner-saved")
    return await _form_page(request, session, form=form, organisation=None, status_code=400)


async def organisation_page(
    request: Request,
    session: SessionDep,
    principal: User,
    organisation: Organisation,
    *,
    template: str,
    invite_action: str,
    contact_form: dict[str, str] | None = None,
    contact_errors: dict[str, str] | None = None,
    webhook_form: dict[str, str] | None = None,
    webhook_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """An organisation's page with its contact persons (the officer's and the partner's own)."""
    _all, area_names = await _area_choices(session)
    return render(
        request,
        template,
        {
            "view": await service.load_view(session, organisation),
            "area_names": area_names,
            "contacts": await service.list_contacts(session, organisation, principal=principal),
            "can_manage": service.can_manage_contacts(principal, organisation),
            "allow_coordinator": service.is_staff(principal),
            "invite_action": invite_action,
            "contact_form": contact_form or {},
            "contact_errors": contact_errors or {},
            "webhook_form": webhook_form or {},
            "webhook_errors": webhook_errors or {},
        },
        status_code=status_code,
    )


async def _detail(
    request: Request,
    session: SessionDep,
    principal: User,
    organisation: Organisation,
    **kwargs: Any,
) -> Response:
    action = str(request.url_for("invite_contact_page", organisation_id=organisation.id))
    return await organisation_page(
        request,
        session,
        principal,
        organisation,
        template="partners/detail.html",
        invite_action=action,
        **kwargs,
    )


@router.get("/partners/{organisation_id}", name="partner_page")
async def partner_page(
    request: Request,
    organisation: PageOrganisationDep,
    principal: StaffPageDep,
    session: SessionDep,
) -> Response:
    return await _detail(request, session, principal, organisation)


@router.get("/partners/{organisation_id}/edit", name="edit_partner_page")
async def edit_partner_page(
    request: Request, organisation: PageOrganisationDep, _staff: StaffPageDep, session: SessionDep
) -> Response:
    form = forms.OrganisationForm.from_view(await service.load_view(session, organisation))
    return await _form_page(request, session, form=form, organisation=organisation)


@router.post("/partners/{organisation_id}/edit", name="update_partner_page", dependencies=Csrf)
async def update_partner_page(
    request: Request,
    organisation: PageOrganisationDep,
    principal: StaffPageDep,
    session: SessionDep,
) -> Response:
    form = forms.parse_organisation(await request.form())
    if not form.errors:
        try:
            await service.update_organisation(
                session, principal=principal, organisation=organisation, changes=form.changes
            )
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
        else:
            return see_other(f"/partners/{organisation.id}?done=partner-saved")
    return await _form_page(request, session, form=form, organisation=organisation, status_code=400)


@router.get("/partners/{organisation_id}/offboard", name="confirm_offboard_partner")
async def confirm_offboard_partner(
    request: Request, organisation: PageOrganisationDep, _staff: StaffPageDep
) -> Response:
    return render(request, "partners/confirm_offboard.html", {"organisation": organisation})


@router.post(
    "/partners/{organisation_id}/offboard", name="offboard_partner_page", dependencies=Csrf
)
async def offboard_partner_page(
    organisation: PageOrganisationDep, _staff: StaffPageDep, session: SessionDep
) -> Response:
    await service.offboard_organisation(session, organisation)
    return see_other(f"/partners/{organisation.id}?done=partner-offboarded")


async def invite_from_form(
    request: Request, session: SessionDep, principal: User, organisation: Organisation
) -> tuple[dict[str, str], dict[str, str]]:
    """Invite the contact described by the posted form; returns (values, errors)."""
    parsed = forms.parse_contact(
        await request.form(), allow_coordinator=service.is_staff(principal)
    )
    if not parsed.errors:
        v = parsed.values
        try:
            await service.invite_contact(
                session,
                principal=principal,
                organisation=organisation,
                email=v["email"],
                name=v["name"],
                phone=v["phone"] or None,
                language=v["language"],
                notify_by=NotifyBy(v["notify_by"]),
                org_role=OrgRole(v["org_role"]),
            )
        except HubError as exc:
            await rollback(session)
            parsed.errors.update(field_errors(exc))
    return parsed.values, parsed.errors


@router.post("/partners/{organisation_id}/contacts", name="invite_contact_page", dependencies=Csrf)
async def invite_contact_page(
    request: Request,
    organisation: PageOrganisationDep,
    principal: StaffPageDep,
    session: SessionDep,
) -> Response:
    values, errors = await invite_from_form(request, session, principal, organisation)
    if errors:
        return await _detail(
            request,
            session,
            principal,
            organisation,
            contact_form=values,
            contact_errors=errors,
            status_code=400,
        )
    return see_other(f"/partners/{organisation.id}?done=contact-invited#contacts")


def _back_to(principal: User, contact: User) -> str:
    if service.is_staff(principal):
        return f"/partners/{contact.organisation_id}#contacts"
    return "/organisation#contacts"


@router.get("/contacts/{contact_id}/remove", name="confirm_remove_contact")
async def confirm_remove_contact(
    request: Request, contact: PageContactDep, principal: PageUserDep
) -> Response:
    return render(
        request,
        "partners/confirm_remove_contact.html",
        {"contact": contact, "back_url": _back_to(principal, contact), "errors": {}},
    )


@router.post("/contacts/{contact_id}/remove", name="remove_contact_page", dependencies=Csrf)
async def remove_contact_page(
    request: Request, contact: PageContactDep, principal: PageUserDep, session: SessionDep
) -> Response:
    try:
        await service.remove_contact(session, principal=principal, contact=contact)
    except HubError as exc:
        await rollback(session)
        return render(
            request,
            "partners/confirm_remove_contact.html",
            {
                "contact": contact,
                "back_url": _back_to(principal, contact),
                "errors": field_errors(exc),
            },
            status_code=exc.status,
        )
    target = _back_to(principal, contact).replace("#contacts", "")
    return see_other(f"{target}?done=contact-removed")


@router.get("/contacts/{contact_id}/erase", name="confirm_erase_contact")
async def confirm_erase_contact(
    request: Request, contact: PageContactDep, _admin: AdminPageDep
) -> Response:
    return render(request, "partners/confirm_erase_contact.html", {"contact": contact})


@router.post("/contacts/{contact_id}/erase", name="erase_contact_page", dependencies=Csrf)
async def erase_contact_page(
    contact: PageContactDep, _admin: AdminPageDep, session: SessionDep
) -> Response:
    await service.erase_contact(session, contact)
    return see_other(f"/partners/{contact.organisation_id}?done=contact-erased")


@router.post("/contacts/{contact_id}/invitation", name="resend_invitation_page", dependencies=Csrf)
async def resend_invitation_page(
    request: Request, contact: PageContactDep, principal: PageUserDep, session: SessionDep
) -> Response:
    try:
        await service.resend_invitation(
            session, principal=principal, contact=contact, bucket=str(int(time.time() // 60))
        )
    except HubError as exc:
        await rollback(session)
        return render(
            request,
            "system/error.html",
            {"status": exc.status, "title": _(exc.title), "detail": exc.detail},
            status_code=exc.status,
        )
    target = _back_to(principal, contact).replace("#contacts", "")
    return see_other(f"{target}?done=contact-invited#contacts")
