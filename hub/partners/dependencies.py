"""Loaders: an organisation or contact the principal may see, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.auth.dependencies import ApiUserDep, PageUserDep
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import Organisation, User
from hub.partners import service
from hub.schemas import IdPath


async def api_organisation_or_404(
    organisation_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> Organisation:
    found = await service.get_visible_organisation(
        session, principal=principal, organisation_id=organisation_id
    )
    if found is None:
        raise NotFound(_("No such organisation."))
    return found


async def page_organisation_or_404(
    organisation_id: IdPath, principal: PageUserDep, session: SessionDep
) -> Organisation:
    found = await service.get_visible_organisation(
        session, principal=principal, organisation_id=organisation_id
    )
    if found is None:
        raise NotFound(_("No such organisation."))
    return found


async def api_contact_or_404(
    contact_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> User:
    found = await service.get_visible_contact(session, principal=principal, contact_id=contact_id)
    if found is None:
        raise NotFound(_("No such contact person."))
    return found


async def page_contact_or_404(
    contact_id: IdPath, principal: PageUserDep, session: SessionDep
) -> User:
    found = await service.get_visible_contact(session, principal=principal, contact_id=contact_id)
    if found is None:
        raise NotFound(_("No such contact person."))
    return found


ApiOrganisationDep = Annotated[Organisation, Depends(api_organisation_or_404)]
PageOrganisationDep = Annotated[Organisation, Depends(page_organisation_or_404)]
ApiContactDep = Annotated[User, Depends(api_contact_or_404)]
PageContactDep = Annotated[User, Depends(page_contact_or_404)]
