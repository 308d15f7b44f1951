"""JSON routes for the signed-in user and their API tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from hub.auth import service
from hub.auth.dependencies import ApiUserDep
from hub.auth.schemas import TokenCreate, TokenCreated, TokenRead, UserRead
from hub.dependencies import SessionDep
from hub.schemas import IdPath, problems

router = APIRouter(prefix="/api/v1", tags=["account"])


@router.get("/me", response_model=UserRead)
async def read_me(user: ApiUserDep) -> UserRead:
    return UserRead.model_validate(user)


@router.get("/tokens", response_model=list[TokenRead])
async def list_tokens(user: ApiUserDep, session: SessionDep) -> list[TokenRead]:
    tokens = await service.list_api_tokens(session, user=user)
    return [TokenRead.model_validate(t) for t in tokens]


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, user: ApiUserDep, session: SessionDep) -> TokenCreated:
    token, raw = await service.create_api_token(
        session, user=user, name=body.name, expires_at=body.expires_at
    )
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=raw)


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404)
)
async def revoke_token(token_id: IdPath, user: ApiUserDep, session: SessionDep) -> None:
    await service.revoke_api_token(session, user=user, token_id=token_id)
