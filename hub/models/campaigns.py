"""Campaigns (minimal here; the campaigns issue adds items, variants and the life cycle)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field


class CampaignStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    closed = "closed"
    archived = "archived"


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    purpose: str = Field(default="", max_length=2000)
    status: CampaignStatus = enum_field(CampaignStatus, default=CampaignStatus.draft)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = created_at_field()
