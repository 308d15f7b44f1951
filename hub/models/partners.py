"""Partner organisations and areas (minimal here; the registry issue extends them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field


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


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    kind: OrganisationKind = enum_field(OrganisationKind)
    status: OrganisationStatus = enum_field(OrganisationStatus, default=OrganisationStatus.active)
    created_at: datetime = created_at_field()


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
