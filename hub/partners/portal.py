"""The partner's own pages: its profile, channels and members (coordinators manage)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from hub.auth.csrf import require_csrf
from hub.auth.dependencies import PageUserDep, SignedInUserDep
from hub.db import rollback
from hub.dependencies import SessionDep, SettingsDep
from hub.errors import Forbidden, HubError, NotFound
from hub.forms import field_errors, safe_next, see_other
from hub.i18n import _
from hub.models import Organisation, OrgRole, User
from hub.partners import forms, service
from hub.partners.pages import invite_from_form, organisation_page
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]


async def own_organisation(principal: PageUserDep, session: SessionDep) -> Organisation:
    if principal.organisation_id is None:
        raise NotFound(_("This page is for partner organisations' contact persons."))
    organisation = await service.get_visible_organisation(
        session, principal=principal, organisation_id=principal.organisation_id
    )
    if organisation is None:
        raise NotFound(_("No such organisation."))
    return organisation


OwnOrganisationDep = Annotated[Organisation, Depends(own_organisation)]


def _require_coordinator(principal: User) -> None:
    if principal.org_role is not OrgRole.coordinator:
        raise Forbidden(_("Only your organisation's coordinator can do this."))


async def _profile(
    request: Request,
    session: SessionDep,
    principal: User,
    organisation: Organisation,
    **kwargs: Any,
) -> Response:
    return await organisation_page(
        request,
        session,
        principal,
        organisation,
        template="portal/organisation.html",
        invite_action=str(request.url_for("invite_member_page")),
        **kwargs,
    )


@router.get("/organisation", name="own_organisation_page")
async def own_organisation_page(
    request: Request,
    organisation: OwnOrganisationDep,
    principal: PageUserDep,
    session: SessionDep,
) -> Response:
    return await _profile(request, session, principal, organisation)


@router.get("/organisation/edit", name="edit_own_organisation_page")
async def edit_own_organisation_page(
    request: Request,
    organisation: OwnOrganisationDep,
    principal: PageUserDep,
    session: SessionDep,
) -> Response:
    _require_coordinator(principal)
    form = forms.OrganisationForm.from_view(await service.load_view(session, organisation))
    return render(
        request,
        "portal/edit.html",
        {"form": form.values, "errors": {}, "organisation": organisation},
    )


@router.post("/organisation/edit", name="update_own_organisation_page", dependencies=Csrf)
async def update_own_organisation_page(
    request: Request,
    organisation: OwnOrganisationDep,
    principal: PageUserDep,
    session: SessionDep,
) -> Response:
    _require_coordinator(principal)
    form = forms.parse_organisation(await request.form(), partner_fields_only=True)
    if not form.errors:
        try:
            await service.update_organisation(
                session, principal=principal, organisation=organisation, changes=form.changes
            )
        except HubError as exc:
            await rollback(session)
            form.errors.update(field_errors(exc))
        else:
            return see_other("/organisation?done=partner-saved")
    return render(
        request,
        "portal/edit.html",
        {"form": form.values, "errors": form.errors, "organisation": organisation},
        status_code=400,
    )


@router.post("/organisation/members", name="invite_member_page", dependencies=Csrf)
async def invite_member_page(
    request: Request,
    organisation: OwnOrganisationDep,
    principal: PageUserDep,
    session: SessionDep,
) -> Response:
    _require_coordinator(principal)
    values, errors = await invite_from_form(request, session, principal, organisation)
    if errors:
        return await _profile(
            request,
            session,
            principal,
            organisation,
            contact_form=values,
            contact_errors=errors,
            status_code=400,
        )
    return see_other("/organisation?done=contact-invited#contacts")


@router.get("/organisation/agreement", name="agreement_page")
async def agreement_page(
    request: Request,
    principal: SignedInUserDep,
    session: SessionDep,
    settings: SettingsDep,
    next: str = "/",
) -> Response:
    organisation = await _organisation_of(session, principal)
    return render(
        request,
        "portal/agreement.html",
        {
            "organisation": organisation,
            "dpa_version": settings.dpa_version,
            "accepted": organisation.dpa_version == settings.dpa_version,
            "next": safe_next(next),
            "errors": {},
        },
    )


@router.post("/organisation/agreement", name="accept_agreement_page", dependencies=Csrf)
async def accept_agreement_page(
    request: Request,
    principal: SignedInUserDep,
    session: SessionDep,
    settings: SettingsDep,
    accept_dpa: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    organisation = await _organisation_of(session, principal)
    if accept_dpa != "yes":
        return render(
            request,
            "portal/agreement.html",
            {
                "organisation": organisation,
                "dpa_version": settings.dpa_version,
                "accepted": False,
                "next": safe_next(next),
                "errors": {"accept_dpa": _("Accept the data-processing agreement to continue.")},
            },
            status_code=400,
        )
    await service.accept_dpa(session, organisation, version=settings.dpa_version)
    # Back to where the partner was going, with the thanks shown there.
    target = urlsplit(safe_next(next))
    query = urlencode([*parse_qsl(target.query), ("done", "agreement-accepted")])
    return see_other(urlunsplit(target._replace(query=query)))


async def _organisation_of(session: SessionDep, principal: User) -> Organisation:
    if principal.organisation_id is None:
        raise NotFound(_("This page is for partner organisations' contact persons."))
    organisation = await session.get(Organisation, principal.organisation_id)
    if organisation is None:
        raise NotFound(_("No such organisation."))
    return organisation
