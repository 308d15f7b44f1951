"""API shapes for the signed-in user and API tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.models import Role
from hub.schemas import ApiInput


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    language: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenCreate(ApiInput):
    name: str = Field(min_length=1, max_length=100, examples=["reporting script"])
    expires_at: AwareDatetime | None = None


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The token itself. It is shown this once and never again.")
