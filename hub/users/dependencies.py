"""Loaders that find a user the principal may see, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.auth.dependencies import AdminPageDep, ApiUserDep
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import User
from hub.schemas import IdPath
from hub.users import service


async def api_user_or_404(user_id: IdPath, principal: ApiUserDep, session: SessionDep) -> User:
    user = await service.get_visible_user(session, principal=principal, user_id=user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def page_user_or_404(user_id: IdPath, principal: AdminPageDep, session: SessionDep) -> User:
    user = await service.get_visible_user(session, principal=principal, user_id=user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


ApiTargetUserDep = Annotated[User, Depends(api_user_or_404)]
PageTargetUserDep = Annotated[User, Depends(page_user_or_404)]
