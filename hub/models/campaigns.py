"""Campaigns, their multilingual items, the materials library and what partners did with it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, created_at_field, enum_field, time_field


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
    # Who it addresses: a saved audience, or a spec of its own (hub.audiences.AudienceSpec).
    audience_id: int | None = Field(default=None, foreign_key="audience.id", index=True)
    audience_spec: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    starts_on: date | None = None
    ends_on: date | None = None
    publish_at: datetime | None = time_field()
    published_at: datetime | None = time_field()
    closed_at: datetime | None = time_field()
    archived_at: datetime | None = time_field()
    # When the retention job deleted its old download log: its rollups are kept, not rebuilt.
    logs_pruned_at: datetime | None = time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = time_field()


class CampaignRecipient(SQLModel, table=True):
    """An organisation a published campaign addresses (fixed when it is published)."""

    __tablename__ = "campaign_recipient"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    added_at: datetime = created_at_field()


class ItemKind(StrEnum):
    message = "message"
    film = "film"
    script = "script"
    poster = "poster"
    flyer = "flyer"
    qa = "qa"
    event = "event"


class CampaignItem(SQLModel, table=True):
    __tablename__ = "campaign_item"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    kind: ItemKind = enum_field(ItemKind)
    title: str = Field(max_length=200)
    position: int = Field(default=0)
    base_language: str = Field(default="da", max_length=8)
    fallback_language: str | None = Field(default=None, max_length=8)
    # Events (an information meeting, a pop-up vaccination site).
    starts_at: datetime | None = time_field()
    ends_at: datetime | None = time_field()
    place: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    map_url: str | None = Field(default=None, max_length=500)
    booking_help: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = time_field()


class MaterialKind(StrEnum):
    film = "film"
    audio = "audio"
    document = "document"
    image = "image"
    captions = "captions"  # WebVTT captions of a film


class ProcessingStatus(StrEnum):
    none = "none"  # nothing to do (not a film)
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class Material(SQLModel, table=True):
    """A stored file. Identical content is stored once (``sha256`` is unique)."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    size: int = Field(sa_type=sa.BigInteger)
    content_type: str = Field(max_length=100)
    kind: MaterialKind = enum_field(MaterialKind)
    extension: str = Field(max_length=10)
    storage_key: str = Field(max_length=200)  # server-generated, never the uploaded name
    original_filename: str = Field(default="", max_length=255)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = created_at_field()
    # Films: what processing found and made.
    processing_status: ProcessingStatus = enum_field(
        ProcessingStatus, default=ProcessingStatus.none
    )
    processing_error: str | None = Field(default=None, max_length=2000)
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    poster_key: str | None = Field(default=None, max_length=200)
    whatsapp_key: str | None = Field(default=None, max_length=200)
    whatsapp_size: int | None = Field(default=None, sa_type=sa.BigInteger)


class ItemVariant(SQLModel, table=True):
    """An item in one language: text and/or a material."""

    __tablename__ = "item_variant"
    __table_args__ = (sa.UniqueConstraint("item_id", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="campaign_item.id", index=True, ondelete="CASCADE")
    language: str = Field(max_length=8)
    # The item's title in this language (citizen pages and printed posters show it).
    title: str = Field(default="", max_length=200)
    text: str = Field(default="", max_length=20000)
    material_id: int | None = Field(default=None, foreign_key="material.id", index=True)
    # A film's captions in the variant's language (WebVTT), for those who cannot hear it.
    captions_material_id: int | None = Field(default=None, foreign_key="material.id")
    version: int = Field(default=1)
    # A partner's own recorded film, approved by an officer, is credited to its organisation.
    credited_organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = time_field()


class VariantVersion(SQLModel, table=True):
    """An earlier material of a variant, kept for officers when it is replaced."""

    __tablename__ = "variant_version"

    id: int | None = Field(default=None, primary_key=True)
    variant_id: int = Field(foreign_key="item_variant.id", index=True, ondelete="CASCADE")
    version: int
    material_id: int = Field(foreign_key="material.id")
    replaced_at: datetime = created_at_field()
    replaced_by_id: int | None = Field(default=None, foreign_key="user.id")


class MaterialDownload(SQLModel, table=True):
    """One download by a partner organisation (for reach reports and correction notices)."""

    __tablename__ = "material_download"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    material_id: int = Field(foreign_key="material.id", index=True)
    variant_id: int | None = Field(default=None, foreign_key="item_variant.id", index=True)
    downloaded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SubmissionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class FilmSubmission(SQLModel, table=True):
    """A film a partner recorded from a script, waiting for an officer's review."""

    __tablename__ = "film_submission"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="campaign_item.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    language: str = Field(max_length=8)
    material_id: int = Field(foreign_key="material.id")
    status: SubmissionStatus = enum_field(SubmissionStatus, default=SubmissionStatus.pending)
    reason: str | None = Field(default=None, max_length=2000)
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = created_at_field()
    reviewed_at: datetime | None = time_field()
