"""What reach reports read: daily rollups per campaign, partner, channel, language and item,
rebuilt from the source tables by the worker (``hub.reports.rollup``).

Each row holds one measure. Measures of different kinds (sent, engaged, reported, measured) are
never added together; ``detail`` tells sub-kinds apart (a delivery's channel, a report's kind).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field


class Measure(StrEnum):
    sent = "sent"  # deliveries sent (detail: email, sms, webhook)
    visits = "visits"  # partner users who opened the campaign, per day
    downloads = "downloads"  # material downloads by partners
    reports = "reports"  # forward reports made (detail: the report's kind)
    reported = "reported"  # self-reported reach (detail: the report's kind)
    clicks = "clicks"  # tracked-link clicks (detail: the hop, "1" own link, "2+" shared on)
    uniques = "uniques"  # daily unique-visitor estimates, summed
    previews = "previews"  # link previews (chat apps' fetches)


MEASURE_KIND = {
    Measure.sent: "sent",
    Measure.visits: "engaged",
    Measure.downloads: "engaged",
    Measure.reports: "reported",
    Measure.reported: "reported",
    Measure.clicks: "measured",
    Measure.uniques: "measured",
    Measure.previews: "measured",
}


class ReachDay(SQLModel, table=True):
    """One measure of one partner for one campaign on one day, by channel, language and item."""

    __tablename__ = "reach_day"
    __table_args__ = (
        sa.Index("ix_reach_day_campaign_measure_day", "campaign_id", "measure", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    day: date = Field(index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    measure: Measure = enum_field(Measure)
    detail: str = Field(default="", max_length=20)
    # The partner's channel (tracked links, reports); "" where there is none (deliveries).
    channel: str = Field(default="", max_length=20)
    language: str = Field(default="", max_length=8)
    item_id: int | None = Field(default=None, foreign_key="campaign_item.id", ondelete="SET NULL")
    value: int = Field(default=0, sa_type=sa.BigInteger)


class CampaignVisit(SQLModel, table=True):
    """A partner user opened a campaign's kit on a day (once per user and day)."""

    __tablename__ = "campaign_visit"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    first_at: datetime = created_at_field()


class ReachTotal(SQLModel, table=True):
    """``reach_day`` without the day: what reports over a campaign's whole span read (a
    fraction of the rows)."""

    __tablename__ = "reach_total"
    __table_args__ = (sa.Index("ix_reach_total_campaign_measure", "campaign_id", "measure"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    measure: Measure = enum_field(Measure)
    detail: str = Field(default="", max_length=20)
    channel: str = Field(default="", max_length=20)
    language: str = Field(default="", max_length=8)
    item_id: int | None = Field(default=None, foreign_key="campaign_item.id", ondelete="SET NULL")
    value: int = Field(default=0, sa_type=sa.BigInteger)


class ReachChannelDay(SQLModel, table=True):
    """``reach_day`` by channel only: what reports over time read when they filter by nothing
    but campaign, dates and channel."""

    __tablename__ = "reach_channel_day"
    __table_args__ = (sa.Index("ix_reach_channel_day_campaign_day", "campaign_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    day: date
    measure: Measure = enum_field(Measure)
    detail: str = Field(default="", max_length=20)
    channel: str = Field(default="", max_length=20)
    value: int = Field(default=0, sa_type=sa.BigInteger)
