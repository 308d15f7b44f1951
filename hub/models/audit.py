"""The audit log: what officers and administrators did that matters afterwards."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import created_at_field, enum_field


class AuditAction(StrEnum):
    campaign_published = "campaign.published"
    campaign_scheduled = "campaign.scheduled"
    campaign_closed = "campaign.closed"
    campaign_archived = "campaign.archived"
    sending_cancelled = "sending.cancelled"
    import_partners = "import.partners"
    import_areas = "import.areas"
    partner_offboarded = "partner.offboarded"
    contact_erased = "contact.erased"
    user_invited = "user.invited"
    user_disabled = "user.disabled"
    user_enabled = "user.enabled"


class AuditEntry(SQLModel, table=True):
    """One action. ``actor_label`` keeps who it was (their e-mail, or the hub itself) even
    after the account is gone; ``summary`` never holds an erased person's data."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_action_at", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field(index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    actor_label: str = Field(max_length=320)
    action: AuditAction = enum_field(AuditAction)
    target_type: str = Field(max_length=40)
    target_id: int | None = Field(default=None)
    summary: str = Field(default="", max_length=500)
