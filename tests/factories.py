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
    async with unit_of_work(db, None) as session:
        organisation = Organisation(name=name or f"Forening {secrets.token_hex(3)}", kind=kind)
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
