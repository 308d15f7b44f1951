"""Managing users over the API: who may invite, who sees whom, the last admin."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Role, User
from tests.factories import api_token, bearer, make_organisation, make_user


async def test_admin_invites_a_user_and_the_invitation_job_is_queued(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    admin = await make_user(db, role=Role.admin)
    raw = await api_token(client, db, admin)
    response = await client.post(
        "/api/v1/users",
        json={
            "email": "New.Officer@Example.org",
            "name": "Nina",
            "role": "officer",
            "language": "da",
        },
        headers=bearer(raw),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new.officer@example.org" and body["role"] == "officer"
    redis = Redis.from_url(settings.redis_url)
    queued = [j.decode() for j in await redis.zrange(settings.queue_name, 0, -1)]
    await redis.aclose()
    assert queued == [f"{settings.redis_prefix}auth.send_invitation:{body['id']}"]


async def test_only_admins_invite(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    raw = await api_token(client, db, officer)
    response = await client.post(
        "/api/v1/users", json={"email": "x@example.org", "role": "officer"}, headers=bearer(raw)
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    async with unit_of_work(db, None) as session:
        assert len((await session.exec(select(User))).all()) == 1


async def test_duplicate_email_is_a_conflict(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_user(db, role=Role.admin)
    raw = await api_token(client, db, admin)
    response = await client.post(
        "/api/v1/users",
        json={"email": admin.email.upper(), "role": "officer"},
        headers=bearer(raw),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "email"


async def test_partner_users_need_an_organisation_and_staff_must_not_have_one(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    organisation = await make_organisation(db)
    raw = await api_token(client, db, admin)
    no_org = await client.post(
        "/api/v1/users", json={"email": "p@example.org", "role": "partner"}, headers=bearer(raw)
    )
    assert no_org.status_code == 422
    assert no_org.json()["errors"][0]["field"] == "organisation_id"
    staff_with_org = await client.post(
        "/api/v1/users",
        json={"email": "o@example.org", "role": "officer", "organisation_id": organisation.id},
        headers=bearer(raw),
    )
    assert staff_with_org.status_code == 422
    unknown_org = await client.post(
        "/api/v1/users",
        json={"email": "q@example.org", "role": "partner", "organisation_id": 99999},
        headers=bearer(raw),
    )
    assert unknown_org.status_code == 422
    ok = await client.post(
        "/api/v1/users",
        json={"email": "p@example.org", "role": "partner", "organisation_id": organisation.id},
        headers=bearer(raw),
    )
    assert ok.status_code == 201


async def test_partners_see_only_their_own_organisation(
    client: httpx.AsyncClient, db: Database
) -> None:
    from tests.factories import make_contact

    mosque = await make_organisation(db, name="Moskeforening")
    housing = await make_organisation(db, name="Boligforening")
    imam = await make_contact(db, mosque, coordinator=True)
    colleague = await make_contact(db, mosque)
    other = await make_contact(db, housing)
    await make_user(db, role=Role.officer)
    raw = await api_token(client, db, imam)
    listing = await client.get("/api/v1/users", headers=bearer(raw))
    assert listing.status_code == 200
    assert {u["email"] for u in listing.json()["items"]} == {imam.email, colleague.email}
    assert listing.json()["total"] == 2
    assert (
        await client.get(f"/api/v1/users/{colleague.id}", headers=bearer(raw))
    ).status_code == 200
    # Another organisation's user does not exist as far as this partner can tell.
    hidden = await client.get(f"/api/v1/users/{other.id}", headers=bearer(raw))
    assert hidden.status_code == 404
    # A member sees only themselves: colleagues' details are for the coordinator.
    member = bearer(await api_token(client, db, colleague))
    mine = await client.get("/api/v1/users", headers=member)
    assert [u["email"] for u in mine.json()["items"]] == [colleague.email]
    assert (await client.get(f"/api/v1/users/{imam.id}", headers=member)).status_code == 404


async def test_user_list_is_searchable_and_paginated(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin, email="admin@example.org")
    for i in range(7):
        await make_user(db, email=f"officer{i}@example.org", name=f"Officer {i}")
    raw = await api_token(client, db, admin)
    page = await client.get("/api/v1/users?limit=3&offset=3", headers=bearer(raw))
    assert page.json()["total"] == 8
    assert [u["email"] for u in page.json()["items"]] == [
        "officer2@example.org",
        "officer3@example.org",
        "officer4@example.org",
    ]
    found = await client.get("/api/v1/users?q=OFFICER 5", headers=bearer(raw))
    assert [u["email"] for u in found.json()["items"]] == ["officer5@example.org"]
    bad = await client.get("/api/v1/users?limit=0", headers=bearer(raw))
    assert bad.status_code == 422


async def test_the_last_admin_cannot_be_disabled_or_demoted(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    other_admin = await make_user(db, role=Role.admin)
    raw = await api_token(client, db, admin)
    self_disable = await client.patch(
        f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=bearer(raw)
    )
    assert self_disable.status_code == 409
    demoted = await client.patch(
        f"/api/v1/users/{other_admin.id}", json={"role": "officer"}, headers=bearer(raw)
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "officer"
    last = await client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "officer"}, headers=bearer(raw)
    )
    assert last.status_code == 409
    assert "at least one active administrator" in last.json()["detail"]


async def test_disabling_a_user_over_the_api_revokes_their_access(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    officer = await make_user(db, role=Role.officer)
    admin_raw = await api_token(client, db, admin)
    officer_raw = await api_token(client, db, officer)
    assert (await client.get("/api/v1/me", headers=bearer(officer_raw))).status_code == 200
    response = await client.patch(
        f"/api/v1/users/{officer.id}", json={"is_active": False}, headers=bearer(admin_raw)
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await client.get("/api/v1/me", headers=bearer(officer_raw))).status_code == 401
