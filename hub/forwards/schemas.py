"""API bodies of forward reports: one shape per kind on the way in, one on the way out.

The schemas check types; what the values may be (dates, bounds, required fields, items and
languages of the campaign) is checked by :mod:`hub.forwards.service`, so the API and the pages
give the same answers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from hub.forwards import service
from hub.forwards.service import KindTotal, ReportView
from hub.models import Channel, ReportKind, User
from hub.schemas import ApiInput, DbId

# Longer texts than any field takes are refused here, before they are read any further.
Text = Annotated[str | None, Field(max_length=10_000)]
Count = Annotated[int | None, Field(description="A whole number, 0 or more")]


class _Common(ApiInput):
    occurred_on: date | None = Field(
        default=None,
        description="When (not in the future, not before the day before publishing)",
    )
    item_id: DbId | None = Field(default=None, description="The campaign's item")
    language: str | None = Field(
        default=None, max_length=16, description="The item's language version (ISO 639-1)"
    )
    note: Text = None


class ForwardCreate(_Common):
    """Shared on a channel: a WhatsApp group, a Facebook page, a newsletter ..."""

    kind: Literal["forward"]
    channel: Channel | None = None
    audience_estimate: Count = None
    placement: Text = Field(default=None, description="Which group, page or list")


class MeetingCreate(_Common):
    """An information meeting."""

    kind: Literal["meeting"]
    place: Text = None
    languages: list[str] | None = Field(
        default=None, max_length=50, description="Languages spoken, from the campaign's"
    )
    attendance: Count = None
    questions: Text = Field(default=None, description="Questions people raised")


class SermonCreate(_Common):
    """A mention in a sermon or an announcement."""

    kind: Literal["sermon"]
    placement: Text = Field(default=None, description="Which congregation or place of worship")
    audience_estimate: Count = None


class DoorToDoorCreate(_Common):
    """Door-to-door visits."""

    kind: Literal["door_to_door"]
    placement: Text = Field(default=None, description="Which streets or buildings")
    doors_knocked: Count = None
    conversations: Count = None


class PostersCreate(_Common):
    """Posters or flyers put up."""

    kind: Literal["posters"]
    channel: Channel | None = Field(default=None, description="poster (default) or flyer")
    poster_count: Count = None
    buildings: Text = Field(default=None, description="Where: buildings, stairwells, shops")
    audience_estimate: Count = None


ReportCreate = Annotated[
    ForwardCreate | MeetingCreate | SermonCreate | DoorToDoorCreate | PostersCreate,
    Field(discriminator="kind"),
]


class ReportUpdate(ApiInput):
    """A correction: only the fields sent change; the fields must be of the report's kind."""

    kind: ReportKind | None = Field(default=None, description="If sent, the report's own kind")
    occurred_on: date | None = None
    item_id: DbId | None = None
    language: str | None = Field(default=None, max_length=16)
    note: Text = None
    channel: Channel | None = None
    audience_estimate: Count = None
    placement: Text = None
    place: Text = None
    languages: list[str] | None = Field(default=None, max_length=50)
    attendance: Count = None
    questions: Text = None
    doors_knocked: Count = None
    conversations: Count = None
    poster_count: Count = None
    buildings: Text = None


class Flag(ApiInput):
    reason: str = Field(max_length=1000, description="Why the report seems implausible")


class ReportRead(BaseModel):
    id: int
    campaign_id: int
    organisation_id: int
    organisation_name: str
    kind: ReportKind
    item_id: int | None
    item_title: str | None
    language: str | None
    channel: Channel | None
    occurred_on: date
    reach: int | None = Field(
        description="The reported reach: audience estimate, attendance or conversations"
    )
    audience_estimate: int | None
    placement: str
    note: str
    place: str
    languages: list[str] | None
    attendance: int | None
    questions: str
    doors_knocked: int | None
    conversations: int | None
    poster_count: int | None
    buildings: str
    has_evidence: bool
    created_at: datetime
    updated_at: datetime | None
    editable_until: datetime
    correctable: bool = Field(description="Whether the caller may correct it now")
    # Officers only; partners get null.
    flagged: bool | None
    flagged_at: datetime | None
    flag_reason: str | None

    @classmethod
    def of(cls, view: ReportView, principal: User) -> ReportRead:
        r = view.report
        staff = service.is_staff(principal)
        values: dict[str, Any] = {
            name: getattr(r, name)
            for name in (
                "campaign_id",
                "organisation_id",
                "kind",
                "item_id",
                "language",
                "channel",
                "occurred_on",
                "audience_estimate",
                "placement",
                "note",
                "place",
                "languages",
                "attendance",
                "questions",
                "doors_knocked",
                "conversations",
                "poster_count",
                "buildings",
                "created_at",
                "updated_at",
            )
        }
        return cls(
            id=r.id or 0,
            organisation_name=view.organisation.name,
            item_title=view.item.title if view.item else None,
            reach=view.reach,
            has_evidence=r.evidence_material_id is not None,
            editable_until=service.editable_until(r),
            correctable=service.can_correct(r, principal),
            flagged=r.flagged_at is not None if staff else None,
            flagged_at=r.flagged_at if staff else None,
            flag_reason=r.flag_reason if staff else None,
            **values,
        )


class KindTotalRead(BaseModel):
    kind: ReportKind
    reports: int
    reach: int = Field(
        description="Reported reach of this kind (officers: of the reports not flagged)"
    )
    flagged: int | None = Field(description="Flagged reports (officers only)")
    reports_with_reach: int = Field(description="How many of the counted reports give a number")

    @classmethod
    def of(cls, total: KindTotal, *, staff: bool) -> KindTotalRead:
        return cls(
            kind=total.kind,
            reports=total.reports,
            reach=total.reach,
            flagged=total.flagged if staff else None,
            reports_with_reach=total.with_reach,
        )


class ReportPage(BaseModel):
    items: list[ReportRead]
    total: int
    limit: int
    offset: int
    totals: list[KindTotalRead] = Field(
        description="Per kind, over the reports the caller sees (never summed across kinds)"
    )
