"""Loaders: a tracked link the principal may see, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.auth.dependencies import ApiUserDep, PageUserDep
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import TrackedLink, User
from hub.schemas import IdPath
from hub.tracking import service


async def _link(session: SessionDep, principal: User, link_id: int) -> TrackedLink:
    link = await service.get_visible_link(session, principal=principal, link_id=link_id)
    if link is None:
        raise NotFound(_("No such link."))
    return link


async def api_link_or_404(
    link_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> TrackedLink:
    return await _link(session, principal, link_id)


async def page_link_or_404(
    link_id: IdPath, principal: PageUserDep, session: SessionDep
) -> TrackedLink:
    return await _link(session, principal, link_id)


ApiLinkDep = Annotated[TrackedLink, Depends(api_link_or_404)]
PageLinkDep = Annotated[TrackedLink, Depends(page_link_or_404)]
