"""Seed a small demo municipality (`hub demo`). Later issues extend it with their own data."""

from __future__ import annotations

import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth import service as auth
from hub.models import (
    Area,
    AreaKind,
    Campaign,
    Organisation,
    OrganisationKind,
    Role,
)

MUNICIPALITY_CODE = "DEMO"

AREAS = [
    # code, name, kind, parent code, population
    (MUNICIPALITY_CODE, "Demo Kommune", AreaKind.municipality, None, 62_000),
    ("DEMO-N", "Nordbyen", AreaKind.district, MUNICIPALITY_CODE, 21_500),
    ("DEMO-S", "Sønderbro", AreaKind.district, MUNICIPALITY_CODE, 24_300),
    ("DEMO-S-VP", "Vestparken", AreaKind.housing_area, "DEMO-S", 4_100),
    ("DEMO-N-SK", "Skovgårdsparken", AreaKind.housing_area, "DEMO-N", 3_200),
    ("DEMO-P1", "Sankt Lukas Sogn", AreaKind.parish, MUNICIPALITY_CODE, 9_800),
]

ORGANISATIONS = [
    ("Somalisk Kulturforening", OrganisationKind.association),
    ("Ældre Sagen, lokalafdeling", OrganisationKind.association),
    ("Moskeforeningen Vestparken", OrganisationKind.faith_community),
    ("Sankt Lukas Kirke", OrganisationKind.faith_community),
    ("Boligforeningen Vestparken – boligsocial helhedsplan", OrganisationKind.housing_organisation),
    ("Bydelsmødre Sønderbro", OrganisationKind.civil_society),
    ("Røde Kors, frivillige i Nordbyen", OrganisationKind.civil_society),
    ("Amina Hassan (ressourceperson)", OrganisationKind.resource_person),
    ("Sundhedshuset Nordbyen", OrganisationKind.public_institution),
    ("Netværk for nydanske kvinder", OrganisationKind.other),
]


async def seed(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Create the demo data once; returns (role, e-mail, password) of the users it made."""
    existing = await session.exec(select(Area).where(Area.code == MUNICIPALITY_CODE))
    if existing.first() is not None:
        return []
    ids: dict[str, int] = {}
    for code, name, kind, parent, population in AREAS:
        area = Area(
            code=code, name=name, kind=kind, parent_id=ids.get(parent or ""), population=population
        )
        session.add(area)
        await session.flush()
        ids[code] = area.id  # type: ignore[assignment]
    organisations = []
    for name, org_kind in ORGANISATIONS:
        organisation = Organisation(name=name, kind=org_kind)
        session.add(organisation)
        organisations.append(organisation)
    await session.flush()

    created: list[tuple[str, str, str]] = []

    async def user(email: str, role: Role, name: str, organisation_id: int | None = None) -> int:
        password = secrets.token_urlsafe(12)
        made = await auth.create_user(
            session,
            email=email,
            role=role,
            name=name,
            password=password,
            organisation_id=organisation_id,
        )
        created.append((role.value, email, password))
        return made.id  # type: ignore[return-value]

    officer_id = await user("officer@demo.example", Role.officer, "Mette Kommunikation")
    await user("mosque@demo.example", Role.partner, "Yusuf Ali", organisations[2].id)
    await user("housing@demo.example", Role.partner, "Lone Boligsocial", organisations[4].id)
    await user("mothers@demo.example", Role.partner, "Hodan Bydelsmor", organisations[5].id)
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
