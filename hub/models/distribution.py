"""Distribution: one delivery per (campaign, recipient, channel), its state and its attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field, time_field


class DeliveryChannel(StrEnum):
    email = "email"
    sms = "sms"
    webhook = "webhook"


class DeliveryState(StrEnum):
    queued = "queued"  # written; waiting for a send job
    sending = "sending"  # claimed by a send job until lease_until
    sent = "sent"
    retrying = "retrying"  # a temporary failure; next attempt at next_attempt_at
    failed = "failed"  # permanent, or out of attempts; last_error says why
    cancelled = "cancelled"  # the officer cancelled the rest of the sending


class Delivery(SQLModel, table=True):
    """A campaign's notification to one recipient on one channel.

    ``recipient_key`` is ``contact:<user id>`` for email and SMS and ``organisation:<id>`` for a
    partner's webhook, so that the unique constraint holds for both (a NULL would not)."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "channel", "recipient_key"),
        sa.Index("ix_delivery_campaign_state", "campaign_id", "state"),
        sa.Index("ix_delivery_state_next_attempt", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    contact_id: int | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="SET NULL"
    )
    channel: DeliveryChannel = enum_field(DeliveryChannel)
    recipient_key: str = Field(max_length=40)
    state: DeliveryState = enum_field(DeliveryState, default=DeliveryState.queued)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = time_field()
    lease_until: datetime | None = time_field()
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    first_attempt_at: datetime | None = time_field()
    sent_at: datetime | None = time_field()
    updated_at: datetime | None = time_field()


class CampaignSending(SQLModel, table=True):
    """The progress of a campaign's fan-out: how far its deliveries have been handed to the
    queue (the watermark, a delivery id), and whether the officer paused it."""

    __tablename__ = "campaign_sending"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    watermark: int = Field(default=0, sa_type=sa.BigInteger)
    paused: bool = Field(default=False)
    started_at: datetime = created_at_field()
    paused_at: datetime | None = time_field()
    cancelled_at: datetime | None = time_field()
