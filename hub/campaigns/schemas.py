"""API shapes for campaigns, items and variants."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.audiences.service import AudienceSpec
from hub.models import CampaignStatus, ItemKind
from hub.schemas import MAX_DB_ID, ApiInput


class CampaignCreate(ApiInput):
    title: str = Field(min_length=1, max_length=200)
    purpose: str = Field(default="", max_length=2000)
    audience_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    audience_spec: AudienceSpec | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class CampaignUpdate(ApiInput):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    purpose: str | None = Field(default=None, max_length=2000)
    audience_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    audience_spec: AudienceSpec | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class CampaignSchedule(ApiInput):
    publish_at: AwareDatetime


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    purpose: str
    status: CampaignStatus
    owner_id: int | None
    audience_id: int | None
    audience_spec: dict[str, Any] | None
    starts_on: date | None
    ends_on: date | None
    publish_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None
    archived_at: datetime | None
    created_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    total: int
    limit: int
    offset: int


class ItemCreate(ApiInput):
    kind: ItemKind
    title: str = Field(min_length=1, max_length=200)
    base_language: str = Field(default="da", min_length=2, max_length=2)
    fallback_language: str | None = Field(default=None, min_length=2, max_length=2)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    place: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    map_url: str | None = Field(default=None, max_length=500)
    booking_help: str | None = Field(default=None, max_length=2000)


class ItemUpdate(ApiInput):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    base_language: str | None = Field(default=None, min_length=2, max_length=2)
    fallback_language: str | None = Field(default=None, min_length=2, max_length=2)
    position: int | None = Field(default=None, ge=0, le=10_000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    place: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    map_url: str | None = Field(default=None, max_length=500)
    booking_help: str | None = Field(default=None, max_length=2000)


class VariantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    language: str
    title: str = Field(description="The item's title in this language (may be empty).")
    text: str
    material_id: int | None
    captions_material_id: int | None = Field(description="WebVTT captions of the film")
    version: int
    credited_organisation_id: int | None


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    kind: ItemKind
    title: str
    position: int
    base_language: str
    fallback_language: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    place: str | None
    address: str | None
    map_url: str | None
    booking_help: str | None
    variants: list[VariantRead] = Field(default_factory=list)


class VariantWrite(ApiInput):
    text: str | None = Field(default=None, max_length=20000)
    title: str | None = Field(
        default=None, max_length=200, description="The item's title in this language."
    )
    material_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    captions_material_id: int | None = Field(
        default=None, ge=1, le=MAX_DB_ID, description="An uploaded WebVTT file: the film's captions"
    )


class CoverageRead(BaseModel):
    languages: list[str]
    cells: dict[int, dict[str, str]] = Field(
        description='item id → language → "text", "file", "both" (missing: not covered)'
    )
    audience_languages: list[str]
    uncovered: dict[int, list[str]] = Field(
        description="item id → languages the audience's partners serve but no variant covers"
    )
    warnings: list[str]
