"""API shapes for areas and uptake."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from hub.models import AreaKind
from hub.schemas import MAX_DB_ID, ApiInput


class AreaCreate(ApiInput):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    kind: AreaKind
    parent_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    population: int | None = Field(default=None, ge=0, le=100_000_000)


class AreaUpdate(ApiInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: AreaKind | None = None
    parent_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    population: int | None = Field(default=None, ge=0, le=100_000_000)


class UptakeWrite(ApiInput):
    measured_on: date
    share_percent: float = Field(ge=0, le=100)
    age_band: str = Field(default="", max_length=20, description='"" means all ages')


class UptakeRead(UptakeWrite):
    pass


class AreaRead(BaseModel):
    id: int
    code: str
    name: str
    kind: AreaKind
    parent_id: int | None
    population: int | None
    latest_uptake: UptakeRead | None


class AreaPage(BaseModel):
    items: list[AreaRead]
    total: int
    limit: int
    offset: int
