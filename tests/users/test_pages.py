"""The admin's user pages: invite with errors beside fields, confirm before disabling."""

from __future__ import annotations

import httpx

from hub.db import Database
from hub.models import Role
from tests.factories import csrf_from, csrf_token, login, make_organisation, make_user


async def test_invite_form_shows_errors_beside_fields_and_keeps_input(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    await login(client, admin.email)
    response = await client.post(
        "/users",
        data={
            "email": "not-an-address",
            "name": "Kim",
            "role": "officer",
            "csrf_token": await csrf_token(client, "/users"),
        },
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert 'id="email-error"' in response.text and "Enter a valid e-mail address." in response.text
    assert 'value="Kim"' in response.text
    partner_without_org = await client.post(
        "/users",
        data={
            "email": "p@example.org",
            "role": "partner",
            "csrf_token": csrf_from(response.text),
        },
    )
    assert partner_without_org.status_code == 400
    assert 'id="organisation_id-error"' in partner_without_org.text
    bad_role = await client.post(
        "/users",
        data={
            "email": "p@example.org",
            "role": "superuser",
            "csrf_token": csrf_from(response.text),
        },
    )
    assert bad_role.status_code == 400 and 'id="role-error"' in bad_role.text


async def test_invite_a_partner_contact_from_the_page(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    mosque = await make_organisation(db, name="Moskeforeningen")
    await login(client, admin.email)
    page = await client.get("/users")
    assert "Moskeforeningen" in page.text
    response = await client.post(
        "/users",
        data={
            "email": "imam@example.org",
            "role": "partner",
            "organisation_id": str(mosque.id),
            "language": "da",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert (
        response.status_code == 303 and response.headers["location"] == "/users?done=user-invited"
    )
    listing = await client.get("/users?done=user-invited", headers={"Accept-Language": "en"})
    assert "imam@example.org" in listing.text
    assert "The invitation is on its way by e-mail." in listing.text


async def test_disabling_asks_first_then_signs_the_user_out(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    officer = await make_user(db, role=Role.officer)
    await login(anon_client, officer.email)
    assert (await anon_client.get("/")).status_code == 200
    await login(client, admin.email)
    confirm = await client.get(f"/users/{officer.id}/disable", headers={"Accept-Language": "en"})
    assert confirm.status_code == 200
    assert "will be signed out everywhere" in confirm.text
    assert (await anon_client.get("/")).status_code == 200  # nothing happened on GET
    done = await client.post(
        f"/users/{officer.id}/disable", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert done.status_code == 303
    assert (await anon_client.get("/")).status_code == 303  # signed out
    enable = await client.post(
        f"/users/{officer.id}/enable", data={"csrf_token": await csrf_token(client, "/users")}
    )
    assert enable.status_code == 303


async def test_admin_cannot_disable_themselves(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_user(db, role=Role.admin)
    await make_user(db, role=Role.admin)
    await login(client, admin.email)
    confirm = await client.get(f"/users/{admin.id}/disable")
    response = await client.post(
        f"/users/{admin.id}/disable",
        data={"csrf_token": csrf_from(confirm.text)},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 409
    assert "You cannot disable your own account." in response.text
    assert admin.email in response.text


async def test_user_pages_are_for_admins_only(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    other = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    assert (await client.get("/users")).status_code == 403
    assert (await client.get(f"/users/{other.id}/disable")).status_code == 403
    response = await client.post(
        f"/users/{other.id}/disable", data={"csrf_token": await csrf_token(client, "/")}
    )
    assert response.status_code == 403


async def test_user_list_paginates_and_searches(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_user(db, role=Role.admin, email="aaa-admin@example.org")
    for i in range(30):
        await make_user(db, email=f"user{i:02d}@example.org", password=None)
    await login(client, admin.email)
    first = await client.get("/users", headers={"Accept-Language": "en"})
    assert "Page 1 of 2" in first.text and "user23@example.org" in first.text
    assert "user24@example.org" not in first.text
    second = await client.get("/users?page=2")
    assert "user29@example.org" in second.text
    found = await client.get("/users?q=user07", headers={"Accept-Language": "en"})
    assert "user07@example.org" in found.text and "user08@example.org" not in found.text
    nothing = await client.get("/users?q=zzz", headers={"Accept-Language": "en"})
    assert "No user matches your search." in nothing.text
