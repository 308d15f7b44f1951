"""JSON routes for users: admins invite and change; everyone lists whom they may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hub.auth import service as auth
from hub.auth.dependencies import ApiAdminDep, ApiUserDep
from hub.auth.schemas import UserRead
from hub.dependencies import SessionDep
from hub.schemas import problems
from hub.users import service
from hub.users.dependencies import ApiTargetUserDep
from hub.users.schemas import UserInvite, UserPage, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=UserPage)
async def list_users(
    principal: ApiUserDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> UserPage:
    users, total = await service.list_users(
        session, principal=principal, search=q, limit=limit, offset=offset
    )
    return UserPage(
        items=[UserRead.model_validate(u) for u in users], total=total, limit=limit, offset=offset
    )


@router.post(
    "", response_model=UserRead, status_code=status.HTTP_201_CREATED, responses=problems(409)
)
async def invite_user(body: UserInvite, _admin: ApiAdminDep, session: SessionDep) -> UserRead:
    user = await auth.invite_user(
        session,
        email=body.email,
        name=body.name,
        role=body.role,
        organisation_id=body.organisation_id,
        language=body.language,
    )
    return UserRead.model_validate(user)


@router.get("/{user_id}", response_model=UserRead, responses=problems(404))
async def read_user(user: ApiTargetUserDep) -> UserRead:
    return UserRead.model_validate(user)


@router.patch("/{user_id}", response_model=UserRead, responses=problems(404, 409))
async def update_user(
    body: UserUpdate, user: ApiTargetUserDep, admin: ApiAdminDep, session: SessionDep
) -> UserRead:
    updated = await service.update_user(
        session,
        actor=admin,
        user=user,
        name=body.name,
        role=body.role,
        language=body.language,
        is_active=body.is_active,
    )
    return UserRead.model_validate(updated)
