"""The words an import file may use for the hub's fixed values: the English value itself (with
spaces or hyphens for underscores, any case) or the Danish word a municipality would write."""

from __future__ import annotations

from hub.imports.csvfile import vocabulary, word_key
from hub.models import AreaKind, Channel, NotifyBy, OrganisationKind, OrganisationStatus, OrgRole

ORGANISATION_KINDS = vocabulary(
    OrganisationKind,
    {
        "forening": OrganisationKind.association,
        "trossamfund": OrganisationKind.faith_community,
        "menighed": OrganisationKind.faith_community,
        "boligorganisation": OrganisationKind.housing_organisation,
        "almen boligorganisation": OrganisationKind.housing_organisation,
        "boligforening": OrganisationKind.housing_organisation,
        "civilsamfundsorganisation": OrganisationKind.civil_society,
        "civilsamfund": OrganisationKind.civil_society,
        "civil society organisation": OrganisationKind.civil_society,
        "ressourceperson": OrganisationKind.resource_person,
        "offentlig institution": OrganisationKind.public_institution,
        "institution": OrganisationKind.public_institution,
        "andet": OrganisationKind.other,
        "anden": OrganisationKind.other,
    },
)

ORGANISATION_STATUSES = vocabulary(
    OrganisationStatus,
    {
        "inviteret": OrganisationStatus.invited,
        "aktiv": OrganisationStatus.active,
        "pause": OrganisationStatus.paused,
        "på pause": OrganisationStatus.paused,
        "sat på pause": OrganisationStatus.paused,
        "afsluttet": OrganisationStatus.offboarded,
        "ophørt": OrganisationStatus.offboarded,
    },
)

AREA_KINDS = vocabulary(
    AreaKind,
    {
        "kommune": AreaKind.municipality,
        "bydel": AreaKind.district,
        "distrikt": AreaKind.district,
        "sogn": AreaKind.parish,
        "boligområde": AreaKind.housing_area,
        "boligomraade": AreaKind.housing_area,
        "boligomrade": AreaKind.housing_area,
        "housing estate": AreaKind.housing_area,
    },
)

NOTIFY_BY = vocabulary(
    NotifyBy,
    {
        "e-mail": NotifyBy.email,
        "mail": NotifyBy.email,
        "begge": NotifyBy.both,
        "e-mail og sms": NotifyBy.both,
        "email and sms": NotifyBy.both,
        "ingen": NotifyBy.none,
        "nej": NotifyBy.none,
    },
)

ORG_ROLES = vocabulary(
    OrgRole,
    {"koordinator": OrgRole.coordinator, "medlem": OrgRole.member},
)

CHANNELS = vocabulary(
    Channel,
    {
        "nyhedsbrev": Channel.newsletter,
        "e-mail-liste": Channel.email_list,
        "mailliste": Channel.email_list,
        "mailingliste": Channel.email_list,
        "sms-liste": Channel.sms_list,
        "plakat": Channel.poster,
        "plakater": Channel.poster,
        "løbeseddel": Channel.flyer,
        "løbesedler": Channel.flyer,
        "flyers": Channel.flyer,
        "møde": Channel.meeting,
        "møder": Channel.meeting,
        "informationsmøde": Channel.meeting,
        "prædiken": Channel.sermon,
        "fredagsbøn": Channel.sermon,
        "dør-til-dør": Channel.door_to_door,
        "dør til dør": Channel.door_to_door,
        "door-to-door": Channel.door_to_door,
        "hjemmeside": Channel.website,
        "andet": Channel.other,
    },
)

# Age-band words that mean "all ages" (stored as "").
ALL_AGES_WORDS = frozenset(word_key(w) for w in ("alle", "all", "alle aldre", "all ages", "i alt"))
