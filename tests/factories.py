"""Small async factories and helpers for tests."""

from __future__ import annotations

import re
import secrets

import httpx

from hub.auth import service as auth
from hub.db import Database, unit_of_work
from hub.models import Organisation, OrganisationKind, Role, User

PASSWORD = "correct horse battery staple"


async def make_organisation(
    db: Database, *, name: str = "", kind: OrganisationKind = OrganisationKind.association
) -> Organisation:
    from hub.config import Settings
    from hub.models import utcnow

    async with unit_of_work(db, None) as session:
        organisation = Organisation(
            name=name or f"Forening {secrets.token_hex(3)}",
            kind=kind,
            dpa_accepted_at=utcnow(),
            dpa_version=Settings().dpa_version,
        )
        session.add(organisation)
        await session.flush()
        return organisation


async def make_user(
    db: Database,
    *,
    role: Role = Role.officer,
    email: str | None = None,
    password: str | None = PASSWORD,
    organisation_id: int | None = None,
    name: str = "",
    language: str = "en",
) -> User:
    async with unit_of_work(db, None) as session:
        return await auth.create_user(
            session,
            email=email or f"{role.value}-{secrets.token_hex(4)}@example.org",
            role=role,
            name=name,
            password=password,
            organisation_id=organisation_id,
            language=language,
        )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path, follow_redirects=True)
    return csrf_from(page.text)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"}
    )


async def api_token(client: httpx.AsyncClient, db: Database, user: User) -> str:
    async with unit_of_work(db, None) as session:
        _token, raw = await auth.create_api_token(session, user=user, name="test")
    return raw


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


async def make_area(
    db: Database,
    *,
    code: str,
    name: str = "",
    kind: str = "district",
    parent_id: int | None = None,
    population: int | None = None,
    uptake: list[tuple[str, float]] | None = None,
) -> int:
    """An area (and its all-ages uptake series of (ISO date, percent)); returns its id."""
    from datetime import date

    from hub.areas import service as areas
    from hub.models import AreaKind

    async with unit_of_work(db, None) as session:
        area = await areas.create_area(
            session,
            code=code,
            name=name or code,
            kind=AreaKind(kind),
            parent_id=parent_id,
            population=population,
        )
        for day, share in uptake or []:
            await areas.record_uptake(
                session, area, measured_on=date.fromisoformat(day), share_percent=share
            )
        return area.id  # type: ignore[return-value]


async def make_partner(
    db: Database,
    *,
    name: str = "",
    kind: OrganisationKind = OrganisationKind.association,
    languages: list[str] | None = None,
    area_ids: list[int] | None = None,
    status: str = "active",
    channels: list[tuple[str, int | None]] | None = None,
    agreement: bool = True,
) -> Organisation:
    """A partner organisation; by default it has accepted the current data-processing
    agreement (its contacts could not use the hub otherwise)."""
    from hub.config import Settings
    from hub.models import Channel, OrganisationStatus
    from hub.partners import service as partners

    async with unit_of_work(db, None) as session:
        organisation = await partners.create_organisation(
            session,
            name=name or f"Partner {secrets.token_hex(3)}",
            kind=kind,
            status=OrganisationStatus(status),
            languages=languages or [],
            area_ids=area_ids or [],
            channels=[(Channel(c), n) for c, n in channels or []],
        )
        if agreement:
            await partners.accept_dpa(session, organisation, version=Settings().dpa_version)
            organisation.status = OrganisationStatus(status)  # accepting activates invited ones
        return organisation


async def make_contact(
    db: Database,
    organisation: Organisation,
    *,
    coordinator: bool = False,
    email: str | None = None,
    password: str | None = PASSWORD,
) -> User:
    from hub.models import OrgRole

    async with unit_of_work(db, None) as session:
        return await auth.create_user(
            session,
            email=email or f"contact-{secrets.token_hex(4)}@example.org",
            role=Role.partner,
            organisation_id=organisation.id,
            password=password,
            org_role=OrgRole.coordinator if coordinator else OrgRole.member,
            language="en",
        )
