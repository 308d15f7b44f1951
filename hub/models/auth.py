"""Users, their sessions, API tokens and one-time links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.models.base import UTCDateTime, created_at_field, enum_field, time_field


class Role(StrEnum):
    admin = "admin"
    officer = "officer"
    partner = "partner"


class NotifyBy(StrEnum):
    email = "email"
    sms = "sms"
    both = "both"
    none = "none"


class OrgRole(StrEnum):
    """A partner user's role in their own organisation."""

    coordinator = "coordinator"
    member = "member"


class TokenPurpose(StrEnum):
    setup = "setup"  # the first admin, printed by `hub serve` on an empty hub
    invitation = "invitation"  # a new user sets a password
    password_reset = "password_reset"  # noqa: S105 - a purpose name
    magic_link = "magic_link"  # sign-in by e-mail, confirmed by a POST


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    role: Role = enum_field(Role)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    language: str = Field(default="da", max_length=8)
    # Partner contacts: how to reach them and what they may do in their organisation.
    phone: str | None = Field(default=None, max_length=40)
    notify_by: NotifyBy = enum_field(NotifyBy, default=NotifyBy.email)
    org_role: OrgRole | None = Field(
        default=None,
        sa_type=sa.Enum(
            OrgRole,
            native_enum=False,
            create_constraint=False,
            length=20,
            values_callable=lambda cls: [m.value for m in cls],
        ),
        nullable=True,
    )
    is_active: bool = Field(default=True)
    erased_at: datetime | None = time_field()
    created_at: datetime = created_at_field()
    last_login_at: datetime | None = time_field()
    disabled_at: datetime | None = time_field()


class UserSession(SQLModel, table=True):
    """A server-side sign-in session; the cookie holds a random id, the table its hash."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = time_field()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # shown in lists so a user can tell tokens apart
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = time_field()
    expires_at: datetime | None = time_field()
    revoked_at: datetime | None = time_field()


class OneTimeToken(SQLModel, table=True):
    """A single-use link (setup, invitation, password reset), stored hashed, expiring."""

    __tablename__ = "one_time_token"

    id: int | None = Field(default=None, primary_key=True)
    purpose: TokenPurpose = enum_field(TokenPurpose)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = time_field()
