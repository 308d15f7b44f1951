"""API shapes for organisations (partners) and their contacts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from hub.models import Channel, NotifyBy, OrganisationKind, OrganisationStatus, OrgRole
from hub.schemas import ApiInput, DbId


class ChannelReach(ApiInput):
    channel: Channel
    audience_estimate: int | None = Field(default=None, ge=0, le=100_000_000)


class OrganisationBase(ApiInput):
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    description: str = Field(default="", max_length=4000)
    languages: list[str] = Field(
        default_factory=list, max_length=50, description="ISO 639-1 codes, e.g. da, ar, so"
    )
    area_ids: list[DbId] = Field(default_factory=list, max_length=500)
    channels: list[ChannelReach] = Field(default_factory=list, max_length=20)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class OrganisationCreate(OrganisationBase):
    status: OrganisationStatus = OrganisationStatus.active
    notes: str = Field(default="", max_length=4000)
    external_id: str | None = Field(default=None, min_length=1, max_length=100)


class OrganisationUpdate(ApiInput):
    """Only the fields given are changed. Partners may change description, languages and
    channels of their own organisation; the rest is for officers."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: OrganisationKind | None = None
    status: OrganisationStatus | None = None
    description: str | None = Field(default=None, max_length=4000)
    notes: str | None = Field(default=None, max_length=4000)
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    languages: list[str] | None = Field(default=None, max_length=50)
    area_ids: list[DbId] | None = Field(default=None, max_length=500)
    channels: list[ChannelReach] | None = Field(default=None, max_length=20)


class OrganisationRead(BaseModel):
    id: int
    name: str
    kind: OrganisationKind
    status: OrganisationStatus
    description: str
    notes: str | None = Field(description="Officers' notes; null for partners")
    external_id: str | None
    languages: list[str]
    area_ids: list[DbId]
    channels: list[ChannelReach]
    dpa_accepted_at: datetime | None
    dpa_version: str | None
    webhook_url: str | None = Field(description="Where the partner's system hears of campaigns")
    created_at: datetime
    updated_at: datetime | None


class OrganisationPage(BaseModel):
    items: list[OrganisationRead]
    total: int
    limit: int
    offset: int


class ContactCreate(ApiInput):
    email: EmailStr
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    language: str = Field(default="da", min_length=2, max_length=2)
    notify_by: NotifyBy = NotifyBy.email
    org_role: OrgRole = OrgRole.member


class ContactUpdate(ApiInput):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, min_length=2, max_length=2)
    notify_by: NotifyBy | None = None
    org_role: OrgRole | None = None


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int | None
    email: str
    name: str
    phone: str | None
    language: str
    notify_by: NotifyBy
    org_role: OrgRole | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    erased_at: datetime | None
