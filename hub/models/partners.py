"""Partner organisations, what they reach (areas, languages, channels), and areas with uptake."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field, time_field


class OrganisationKind(StrEnum):
    association = "association"
    faith_community = "faith_community"
    housing_organisation = "housing_organisation"
    civil_society = "civil_society"
    resource_person = "resource_person"
    public_institution = "public_institution"
    other = "other"


class OrganisationStatus(StrEnum):
    invited = "invited"
    active = "active"
    paused = "paused"
    offboarded = "offboarded"


class Channel(StrEnum):
    whatsapp = "whatsapp"
    facebook = "facebook"
    instagram = "instagram"
    newsletter = "newsletter"
    email_list = "email_list"
    sms_list = "sms_list"
    poster = "poster"
    flyer = "flyer"
    meeting = "meeting"
    sermon = "sermon"
    door_to_door = "door_to_door"
    website = "website"
    other = "other"


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    kind: OrganisationKind = enum_field(OrganisationKind)
    status: OrganisationStatus = enum_field(OrganisationStatus, default=OrganisationStatus.active)
    description: str = Field(default="", max_length=4000)
    notes: str = Field(default="", max_length=4000)
    # Set by the registry's own CSV (or another system) so a re-import updates, not duplicates.
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    dpa_accepted_at: datetime | None = time_field()
    dpa_version: str | None = Field(default=None, max_length=40)
    # The partner's own system, told of new campaigns by a signed webhook (Standard Webhooks).
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=100)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = time_field()
    offboarded_at: datetime | None = time_field()


class OrganisationLanguage(SQLModel, table=True):
    """A language (ISO 639-1) an organisation serves."""

    __tablename__ = "organisation_language"

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    language: str = Field(max_length=8, primary_key=True, index=True)


class OrganisationArea(SQLModel, table=True):
    """An area an organisation serves."""

    __tablename__ = "organisation_area"

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    area_id: int = Field(foreign_key="area.id", primary_key=True, index=True, ondelete="CASCADE")


class OrganisationChannel(SQLModel, table=True):
    """A channel an organisation uses, with how many people it reaches there."""

    __tablename__ = "organisation_channel"

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    channel: Channel = Field(
        sa_type=sa.Enum(
            Channel,
            native_enum=False,
            create_constraint=False,
            length=30,
            values_callable=lambda cls: [m.value for m in cls],
        ),
        primary_key=True,
    )
    audience_estimate: int | None = Field(default=None, ge=0)


class AreaKind(StrEnum):
    municipality = "municipality"
    district = "district"
    parish = "parish"
    housing_area = "housing_area"


class Area(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    kind: AreaKind = enum_field(AreaKind)
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    population: int | None = Field(default=None, ge=0)
    created_at: datetime = created_at_field()


class AreaUptake(SQLModel, table=True):
    """Vaccination uptake in an area on a date; ``age_band`` "" is all ages."""

    __tablename__ = "area_uptake"
    __table_args__ = (sa.UniqueConstraint("area_id", "measured_on", "age_band"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True, ondelete="CASCADE")
    measured_on: date
    age_band: str = Field(default="", max_length=20)
    share_percent: float = Field(ge=0, le=100)


class Audience(SQLModel, table=True):
    """A saved audience spec (see hub.partners.audiences.AudienceSpec)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    spec: dict[str, Any] = Field(sa_type=sa.JSON, default_factory=dict)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = time_field()
