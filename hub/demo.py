"""Seed a small demo municipality (`hub demo`). Later issues extend it with their own data."""

from __future__ import annotations

import secrets
from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas import service as areas
from hub.auth import service as auth
from hub.models import (
    Area,
    AreaKind,
    Campaign,
    Channel,
    Organisation,
    OrganisationKind,
    OrgRole,
    Role,
)
from hub.partners import service as partners

MUNICIPALITY_CODE = "DEMO"

AREAS = [
    # code, name, kind, parent code, population, uptake series (month, percent)
    (
        MUNICIPALITY_CODE,
        "Demo Kommune",
        AreaKind.municipality,
        None,
        62_000,
        [(7, 74.0), (8, 75.5), (9, 76.0), (10, 77.2)],
    ),
    (
        "DEMO-N",
        "Nordbyen",
        AreaKind.district,
        MUNICIPALITY_CODE,
        21_500,
        [(7, 79.0), (8, 80.1), (9, 80.4), (10, 81.0)],
    ),
    (
        "DEMO-S",
        "Sønderbro",
        AreaKind.district,
        MUNICIPALITY_CODE,
        24_300,
        [(7, 66.0), (8, 66.8), (9, 67.5), (10, 68.1)],
    ),
    (
        "DEMO-S-VP",
        "Vestparken",
        AreaKind.housing_area,
        "DEMO-S",
        4_100,
        [(7, 54.0), (8, 55.2), (9, 57.9), (10, 58.5)],
    ),
    (
        "DEMO-N-SK",
        "Skovgårdsparken",
        AreaKind.housing_area,
        "DEMO-N",
        3_200,
        [(7, 61.0), (8, 62.5), (9, 63.0), (10, 64.4)],
    ),
    ("DEMO-P1", "Sankt Lukas Sogn", AreaKind.parish, MUNICIPALITY_CODE, 9_800, []),
]

# name, kind, languages, area codes, channels (channel, people reached)
ORGANISATIONS = [
    (
        "Somalisk Kulturforening",
        OrganisationKind.association,
        ["so", "da"],
        ["DEMO-S"],
        [(Channel.whatsapp, 420), (Channel.meeting, 60)],
    ),
    (
        "Ældre Sagen, lokalafdeling",
        OrganisationKind.association,
        ["da"],
        [MUNICIPALITY_CODE],
        [(Channel.newsletter, 1800), (Channel.meeting, 120)],
    ),
    (
        "Moskeforeningen Vestparken",
        OrganisationKind.faith_community,
        ["ar", "so", "da"],
        ["DEMO-S-VP"],
        [(Channel.sermon, 350), (Channel.whatsapp, 600), (Channel.poster, None)],
    ),
    (
        "Sankt Lukas Kirke",
        OrganisationKind.faith_community,
        ["da"],
        ["DEMO-P1"],
        [(Channel.sermon, 200), (Channel.newsletter, 900)],
    ),
    (
        "Boligforeningen Vestparken – boligsocial helhedsplan",
        OrganisationKind.housing_organisation,
        ["da", "ar", "so", "tr"],
        ["DEMO-S-VP"],
        [(Channel.poster, 1400), (Channel.flyer, 1400), (Channel.door_to_door, 300)],
    ),
    (
        "Bydelsmødre Sønderbro",
        OrganisationKind.civil_society,
        ["ar", "so", "ur", "fa"],
        ["DEMO-S"],
        [(Channel.door_to_door, 250), (Channel.whatsapp, 300)],
    ),
    (
        "Røde Kors, frivillige i Nordbyen",
        OrganisationKind.civil_society,
        ["da", "uk"],
        ["DEMO-N"],
        [(Channel.meeting, 80), (Channel.facebook, 1500)],
    ),
    (
        "Amina Hassan (ressourceperson)",
        OrganisationKind.resource_person,
        ["so"],
        ["DEMO-N-SK"],
        [(Channel.whatsapp, 180)],
    ),
    (
        "Sundhedshuset Nordbyen",
        OrganisationKind.public_institution,
        ["da", "en"],
        ["DEMO-N"],
        [(Channel.poster, None), (Channel.website, None)],
    ),
    (
        "Netværk for nydanske kvinder",
        OrganisationKind.other,
        ["ar", "tr", "fa"],
        ["DEMO-S", "DEMO-N"],
        [(Channel.facebook, 700)],
    ),
]


async def seed(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Create the demo data once; returns (role, e-mail, password) of the users it made."""
    existing = await session.exec(select(Area).where(Area.code == MUNICIPALITY_CODE))
    if existing.first() is not None:
        return []
    ids: dict[str, int] = {}
    for code, name, kind, parent, population, series in AREAS:
        area = await areas.create_area(
            session,
            code=code,
            name=name,
            kind=kind,
            parent_id=ids.get(parent or ""),
            population=population,
        )
        for month, share in series:
            await areas.record_uptake(
                session, area, measured_on=date(2026, month, 1), share_percent=share
            )
        ids[code] = area.id  # type: ignore[assignment]
    organisations: list[Organisation] = []
    for name, org_kind, languages, area_codes, channels in ORGANISATIONS:
        organisations.append(
            await partners.create_organisation(
                session,
                name=name,
                kind=org_kind,
                languages=languages,
                area_ids=[ids[c] for c in area_codes],
                channels=channels,  # type: ignore[arg-type]
                external_id=f"demo-{len(organisations) + 1}",
            )
        )

    created: list[tuple[str, str, str]] = []

    async def user(
        email: str,
        role: Role,
        name: str,
        organisation_id: int | None = None,
        org_role: OrgRole | None = None,
        language: str = "da",
    ) -> int:
        password = secrets.token_urlsafe(12)
        made = await auth.create_user(
            session,
            email=email,
            role=role,
            name=name,
            password=password,
            organisation_id=organisation_id,
            org_role=org_role,
            language=language,
        )
        created.append((role.value, email, password))
        return made.id  # type: ignore[return-value]

    officer_id = await user("officer@demo.example", Role.officer, "Mette Kommunikation")
    await user(
        "mosque@demo.example", Role.partner, "Yusuf Ali", organisations[2].id, OrgRole.coordinator
    )
    await user(
        "housing@demo.example",
        Role.partner,
        "Lone Boligsocial",
        organisations[4].id,
        OrgRole.coordinator,
    )
    await user(
        "mothers@demo.example",
        Role.partner,
        "Hodan Bydelsmor",
        organisations[5].id,
        OrgRole.coordinator,
    )
    await user(
        "member@demo.example", Role.partner, "Fatima Frivillig", organisations[5].id, OrgRole.member
    )
    session.add(
        Campaign(
            title="Vaccination før vinteren",
            purpose="Flere i Vestparken og Nordbyen vaccineres mod influenza og covid-19 "
            "før vinteren.",
            owner_id=officer_id,
        )
    )
    await session.flush()
    return created
