"""API shapes for managing users."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from hub.auth.schemas import UserRead
from hub.models import Role
from hub.schemas import MAX_DB_ID, ApiInput


class UserInvite(ApiInput):
    email: EmailStr
    name: str = Field(default="", max_length=200)
    role: Role
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    language: Literal["da", "en"] = "da"


class UserUpdate(ApiInput):
    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    language: Literal["da", "en"] | None = None
    is_active: bool | None = None


class UserPage(BaseModel):
    items: list[UserRead]
    total: int
    limit: int
    offset: int
