"""Every table of the hub. Alembic imports this package to see the whole schema."""

from hub.models.auth import (
    ApiToken,
    NotifyBy,
    OneTimeToken,
    OrgRole,
    Role,
    TokenPurpose,
    User,
    UserSession,
)
from hub.models.base import UTCDateTime, utcnow
from hub.models.campaigns import Campaign, CampaignStatus
from hub.models.partners import (
    Area,
    AreaKind,
    AreaUptake,
    Audience,
    Channel,
    Organisation,
    OrganisationArea,
    OrganisationChannel,
    OrganisationKind,
    OrganisationLanguage,
    OrganisationStatus,
)

__all__ = [
    "ApiToken",
    "Area",
    "AreaKind",
    "AreaUptake",
    "Audience",
    "Campaign",
    "CampaignStatus",
    "Channel",
    "NotifyBy",
    "OneTimeToken",
    "OrgRole",
    "Organisation",
    "OrganisationArea",
    "OrganisationChannel",
    "OrganisationKind",
    "OrganisationLanguage",
    "OrganisationStatus",
    "Role",
    "TokenPurpose",
    "UTCDateTime",
    "User",
    "UserSession",
    "utcnow",
]
