"""JSON routes for organisations and their contact persons."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from hub.auth.dependencies import ApiAdminDep, ApiStaffDep, ApiUserDep
from hub.dependencies import SessionDep
from hub.models import OrganisationKind, OrganisationStatus, User
from hub.partners import service
from hub.partners.dependencies import ApiContactDep, ApiOrganisationDep
from hub.partners.schemas import (
    ChannelReach,
    ContactCreate,
    ContactRead,
    ContactUpdate,
    OrganisationCreate,
    OrganisationPage,
    OrganisationRead,
    OrganisationUpdate,
)
from hub.schemas import MAX_DB_ID, problems

router = APIRouter(prefix="/api/v1", tags=["partners"])


def organisation_read(view: service.OrganisationView, principal: User) -> OrganisationRead:
    o = view.organisation
    return OrganisationRead(
        id=o.id,  # type: ignore[arg-type]
        name=o.name,
        kind=o.kind,
        status=o.status,
        description=o.description,
        notes=o.notes if service.is_staff(principal) else None,
        external_id=o.external_id,
        languages=view.languages,
        area_ids=view.area_ids,
        channels=[ChannelReach(channel=c, audience_estimate=n) for c, n in view.channels.items()],
        dpa_accepted_at=o.dpa_accepted_at,
        dpa_version=o.dpa_version,
        webhook_url=o.webhook_url,
        created_at=o.created_at,
        updated_at=o.updated_at,
    )


def _changes(body: OrganisationUpdate) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if "channels" in changes and changes["channels"] is not None:
        changes["channels"] = [(c.channel, c.audience_estimate) for c in body.channels or []]
    return changes


@router.get("/organisations", response_model=OrganisationPage)
async def list_organisations(
    principal: ApiUserDep,
    session: SessionDep,
    kind: OrganisationKind | None = None,
    status: OrganisationStatus | None = None,
    area_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    language: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrganisationPage:
    views, total = await service.list_organisations(
        session,
        principal=principal,
        kind=kind,
        status=status,
        area_id=area_id,
        language=language,
        search=q,
        limit=limit,
        offset=offset,
    )
    return OrganisationPage(
        items=[organisation_read(v, principal) for v in views],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/organisations",
    response_model=OrganisationRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
)
async def create_organisation(
    body: OrganisationCreate, principal: ApiStaffDep, session: SessionDep
) -> OrganisationRead:
    organisation = await service.create_organisation(
        session,
        name=body.name,
        kind=body.kind,
        status=body.status,
        description=body.description,
        notes=body.notes,
        external_id=body.external_id,
        languages=body.languages,
        area_ids=body.area_ids,
        channels=[(c.channel, c.audience_estimate) for c in body.channels],
    )
    return organisation_read(await service.load_view(session, organisation), principal)


@router.get(
    "/organisations/{organisation_id}", response_model=OrganisationRead, responses=problems(404)
)
async def read_organisation(
    organisation: ApiOrganisationDep, principal: ApiUserDep, session: SessionDep
) -> OrganisationRead:
    return organisation_read(await service.load_view(session, organisation), principal)


@router.patch(
    "/organisations/{organisation_id}",
    response_model=OrganisationRead,
    responses=problems(404, 409),
)
async def update_organisation(
    body: OrganisationUpdate,
    organisation: ApiOrganisationDep,
    principal: ApiUserDep,
    session: SessionDep,
) -> OrganisationRead:
    updated = await service.update_organisation(
        session, principal=principal, organisation=organisation, changes=_changes(body)
    )
    return organisation_read(await service.load_view(session, updated), principal)


@router.post(
    "/organisations/{organisation_id}/offboard",
    response_model=OrganisationRead,
    responses=problems(404),
)
async def offboard_organisation(
    organisation: ApiOrganisationDep, principal: ApiStaffDep, session: SessionDep
) -> OrganisationRead:
    await service.offboard_organisation(session, organisation)
    return organisation_read(await service.load_view(session, organisation), principal)


@router.get(
    "/organisations/{organisation_id}/contacts",
    response_model=list[ContactRead],
    responses=problems(404),
)
async def list_contacts(
    organisation: ApiOrganisationDep, principal: ApiUserDep, session: SessionDep
) -> list[ContactRead]:
    return [
        ContactRead.model_validate(c)
        for c in await service.list_contacts(session, organisation, principal=principal)
    ]


@router.post(
    "/organisations/{organisation_id}/contacts",
    response_model=ContactRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409),
)
async def invite_contact(
    body: ContactCreate,
    organisation: ApiOrganisationDep,
    principal: ApiUserDep,
    session: SessionDep,
) -> ContactRead:
    contact = await service.invite_contact(
        session,
        principal=principal,
        organisation=organisation,
        email=body.email,
        name=body.name,
        phone=body.phone,
        language=body.language,
        notify_by=body.notify_by,
        org_role=body.org_role,
    )
    return ContactRead.model_validate(contact)


@router.get("/contacts/{contact_id}", response_model=ContactRead, responses=problems(404))
async def read_contact(contact: ApiContactDep) -> ContactRead:
    return ContactRead.model_validate(contact)


@router.patch("/contacts/{contact_id}", response_model=ContactRead, responses=problems(404, 409))
async def update_contact(
    body: ContactUpdate, contact: ApiContactDep, principal: ApiUserDep, session: SessionDep
) -> ContactRead:
    updated = await service.update_contact(
        session, principal=principal, contact=contact, changes=body.model_dump(exclude_unset=True)
    )
    return ContactRead.model_validate(updated)


@router.delete(
    "/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404, 409)
)
async def remove_contact(
    contact: ApiContactDep, principal: ApiUserDep, session: SessionDep
) -> None:
    await service.remove_contact(session, principal=principal, contact=contact)


@router.post(
    "/contacts/{contact_id}/invitation",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(404, 409),
)
async def resend_invitation(
    contact: ApiContactDep, principal: ApiUserDep, session: SessionDep
) -> dict[str, str]:
    """Send the invitation e-mail again with a fresh link (the old link stops working)."""
    await service.resend_invitation(
        session, principal=principal, contact=contact, bucket=str(int(time.time() // 60))
    )
    return {"status": "queued"}


@router.get("/contacts/{contact_id}/export", responses=problems(404))
async def export_contact(
    contact: ApiContactDep, _admin: ApiAdminDep, session: SessionDep
) -> dict[str, Any]:
    """Everything held about a contact person, as JSON (the right of access)."""
    return await service.export_contact(session, contact)


@router.post("/contacts/{contact_id}/erase", response_model=ContactRead, responses=problems(404))
async def erase_contact(
    contact: ApiContactDep, _admin: ApiAdminDep, session: SessionDep
) -> ContactRead:
    """Remove a contact's personal data; their history stays as anonymous counts."""
    await service.erase_contact(session, contact)
    return ContactRead.model_validate(contact)
