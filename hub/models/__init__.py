"""Every table of the hub. Alembic imports this package to see the whole schema."""

from hub.models.auth import ApiToken, OneTimeToken, Role, TokenPurpose, User, UserSession
from hub.models.base import UTCDateTime, utcnow
from hub.models.campaigns import Campaign, CampaignStatus
from hub.models.partners import (
    Area,
    AreaKind,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
)

__all__ = [
    "ApiToken",
    "Area",
    "AreaKind",
    "Campaign",
    "CampaignStatus",
    "OneTimeToken",
    "Organisation",
    "OrganisationKind",
    "OrganisationStatus",
    "Role",
    "TokenPurpose",
    "UTCDateTime",
    "User",
    "UserSession",
    "utcnow",
]
