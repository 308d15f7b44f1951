"""Tracked links, their daily counts, and what partners report they forwarded or did.

Nothing here describes a citizen: a click is a number in a daily rollup, and unique visitors an
estimate computed in Redis under a salt that never reaches the database.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field, time_field
from hub.models.partners import Channel


class TrackedLink(SQLModel, table=True):
    """A partner's own link to an item in a language, for one channel (and placement).

    ``key`` makes "one per (organisation, item, language, channel, placement)" a unique
    constraint that also holds where NULLs would slip through one; a child link, issued by a
    citizen's "share further", has the key ``child:<parent id>``.
    """

    __tablename__ = "tracked_link"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    key: str = Field(max_length=300, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    item_id: int = Field(foreign_key="campaign_item.id", index=True, ondelete="CASCADE")
    language: str = Field(max_length=8)
    channel: Channel = enum_field(Channel)
    placement: str = Field(default="", max_length=100)
    parent_id: int | None = Field(
        default=None, foreign_key="tracked_link.id", index=True, ondelete="CASCADE"
    )
    # 1 for the partner's own link, 2 for a link shared on by someone who opened it, and so on.
    hop: int = Field(default=1)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class LinkDay(SQLModel, table=True):
    """The counts of one link on one day (Copenhagen's calendar), flushed from Redis."""

    __tablename__ = "link_day"

    link_id: int = Field(foreign_key="tracked_link.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True, index=True)
    clicks: int = Field(default=0, sa_type=sa.BigInteger)
    previews: int = Field(default=0, sa_type=sa.BigInteger)
    # An estimate (HyperLogLog over salted hashes), never more than the clicks.
    uniques: int = Field(default=0, sa_type=sa.BigInteger)


class TrackingFlush(SQLModel, table=True):
    """A batch of counts already added to ``link_day``: a re-run of a flush skips it."""

    __tablename__ = "tracking_flush"

    batch: str = Field(max_length=40, primary_key=True)
    applied_at: datetime = created_at_field(index=True)


class ReportKind(StrEnum):
    forward = "forward"  # shared on a channel (WhatsApp group, Facebook, newsletter ...)
    meeting = "meeting"  # an information meeting
    sermon = "sermon"  # a mention in a sermon or an announcement
    door_to_door = "door_to_door"
    posters = "posters"  # posters or flyers put up


class ForwardReport(SQLModel, table=True):
    """What a partner says it did with a campaign: self-reported, never summed with measures."""

    __tablename__ = "forward_report"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    kind: ReportKind = enum_field(ReportKind, index=True)
    item_id: int | None = Field(
        default=None, foreign_key="campaign_item.id", index=True, ondelete="SET NULL"
    )
    language: str | None = Field(default=None, max_length=8)
    channel: Channel | None = Field(
        default=None,
        sa_type=sa.Enum(
            Channel,
            native_enum=False,
            create_constraint=False,
            length=20,
            values_callable=lambda cls: [m.value for m in cls],
        ),
        nullable=True,
    )
    occurred_on: date
    audience_estimate: int | None = None
    placement: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)
    evidence_material_id: int | None = Field(
        default=None, foreign_key="material.id", ondelete="SET NULL"
    )
    # Information meetings.
    place: str = Field(default="", max_length=200)
    languages: list[str] | None = Field(default=None, sa_type=sa.JSON)
    attendance: int | None = None
    questions: str = Field(default="", max_length=4000)
    # Door-to-door visits.
    doors_knocked: int | None = None
    conversations: int | None = None
    # Posters and flyers put up.
    poster_count: int | None = None
    buildings: str = Field(default="", max_length=1000)
    # An officer who doubts a report flags it, with the reason; it stays, marked.
    flagged_at: datetime | None = time_field()
    flagged_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    flag_reason: str | None = Field(default=None, max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field(index=True)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    updated_at: datetime | None = time_field()
