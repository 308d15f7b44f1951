"""Odd input never gives a 500, coordinators manage members only, nothing leaks across
organisations, and offboarding leaves no link alive."""

from __future__ import annotations

import httpx
import pytest

from hub.config import Settings
from hub.db import Database
from hub.models import Role
from tests.factories import (
    api_token,
    bearer,
    csrf_token,
    login,
    make_area,
    make_contact,
    make_partner,
    make_user,
)

EN = {"Accept-Language": "en"}


@pytest.mark.parametrize("estimate", ["²", "3000000000", "1" * 24, "-5", "12,5"])
async def test_odd_audience_estimates_from_the_partner_form_are_refused(
    client: httpx.AsyncClient, db: Database, estimate: str
) -> None:
    organisation = await make_partner(db, channels=[("poster", 10)])
    coordinator = await make_contact(db, organisation, coordinator=True)
    await login(client, coordinator.email)
    response = await client.post(
        "/organisation/edit",
        data={
            "csrf_token": await csrf_token(client, "/organisation/edit"),
            "use_poster": "yes",
            "estimate_poster": estimate,
        },
        headers=EN,
    )
    assert response.status_code == 400 and 'id="estimate_poster-error"' in response.text
    officer_h = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    listing = await client.get("/api/v1/organisations", headers=officer_h)
    assert listing.status_code == 200
    assert listing.json()["items"][0]["channels"] == [
        {"channel": "poster", "audience_estimate": 10}
    ]


@pytest.mark.parametrize("value", ["²", "3000000000", "1" * 24, "abc"])
async def test_odd_ids_in_officer_forms_and_filters_are_refused(
    client: httpx.AsyncClient, db: Database, value: str
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    filtered = await client.get(f"/partners?area_id={value}")
    assert filtered.status_code == 200  # an unusable filter is ignored
    created = await client.post(
        "/partners/new",
        data={
            "csrf_token": await csrf_token(client, "/partners/new"),
            "name": "X",
            "kind": "other",
            "status": "active",
            "area_ids": [value],
        },
        headers=EN,
    )
    assert created.status_code == 400 and 'id="area_ids-error"' in created.text
    admin = await make_user(db, role=Role.admin)
    await login(client, admin.email)
    invited = await client.post(
        "/users",
        data={
            "csrf_token": await csrf_token(client, "/users"),
            "email": "p@example.org",
            "role": "partner",
            "organisation_id": value,
        },
        headers=EN,
    )
    assert invited.status_code == 400


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "x" * 300),
        ("description", "y" * 5000),
        ("name", "Nul\x00byte"),
        ("external_id", "z" * 101),
        ("notes", "bell\x07"),
    ],
)
async def test_long_or_control_character_text_is_a_field_error(
    client: httpx.AsyncClient, db: Database, field: str, value: str
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    data = {
        "csrf_token": await csrf_token(client, "/partners/new"),
        "name": "Ok",
        "kind": "other",
        "status": "active",
        field: value,
    }
    response = await client.post("/partners/new", data=data, headers=EN)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    raw = await api_token(client, db, officer)
    api = await client.post(
        "/api/v1/organisations",
        json={"name": "Ok", "kind": "other", field: value},
        headers=bearer(raw),
    )
    assert api.status_code == 422
    assert (await client.get("/api/v1/organisations", headers=bearer(raw))).json()["total"] == 0


async def test_control_characters_anywhere_in_the_api_are_4xx(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    h = bearer(await api_token(client, db, officer))
    organisation = await make_partner(db)
    area = await make_area(db, code="A")
    for method, path, body in [
        ("POST", "/api/v1/areas", {"code": "N\x00", "name": "x", "kind": "district"}),
        ("PATCH", f"/api/v1/areas/{area}", {"name": "a\x00b"}),
        (
            "POST",
            f"/api/v1/organisations/{organisation.id}/contacts",
            {"email": "c@example.org", "name": "a\x00b"},
        ),
        (
            "POST",
            f"/api/v1/organisations/{organisation.id}/contacts",
            {"email": "d@example.org", "phone": "1" * 60},
        ),
        ("POST", "/api/v1/audiences", {"name": "x\x00", "spec": {}}),
        ("POST", "/api/v1/tokens", {"name": "t\x00"}),
        ("GET", "/api/v1/organisations?q=%00", None),
        ("GET", "/api/v1/users?q=%00", None),
        ("GET", "/api/v1/areas?q=%00", None),
    ]:
        response = await client.request(method, path, json=body, headers=h)
        assert 400 <= response.status_code < 500 or (
            method == "GET" and response.status_code == 200
        ), (method, path, response.status_code)


async def test_uptake_in_the_future_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    area = await make_area(db, code="A")
    response = await client.put(
        f"/api/v1/areas/{area}/uptake",
        json={"measured_on": "9999-12-31", "share_percent": 50},
        headers=bearer(await api_token(client, db, officer)),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "measured_on"


async def test_coordinators_manage_members_not_other_coordinators(
    client: httpx.AsyncClient, db: Database
) -> None:
    organisation = await make_partner(db)
    first = await make_contact(db, organisation, coordinator=True)
    second = await make_contact(db, organisation, coordinator=True)
    member = await make_contact(db, organisation)
    h = bearer(await api_token(client, db, first))
    assert (await client.delete(f"/api/v1/contacts/{second.id}", headers=h)).status_code == 403
    assert (
        await client.patch(f"/api/v1/contacts/{second.id}", json={"name": "x"}, headers=h)
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/contacts/{member.id}", json={"name": "Ny"}, headers=h)
    ).status_code == 200
    assert (await client.delete(f"/api/v1/contacts/{member.id}", headers=h)).status_code == 204


async def test_no_new_user_joins_an_offboarded_organisation(
    client: httpx.AsyncClient, db: Database
) -> None:
    organisation = await make_partner(db, status="offboarded")
    admin_h = bearer(await api_token(client, db, await make_user(db, role=Role.admin)))
    response = await client.post(
        "/api/v1/users",
        json={"email": "late@example.org", "role": "partner", "organisation_id": organisation.id},
        headers=admin_h,
    )
    assert response.status_code == 409


async def test_offboarding_kills_unused_invitation_links(
    client: httpx.AsyncClient, db: Database, settings: Settings, mailbox: object
) -> None:
    import re

    from tests.test_worker_e2e import run_burst_worker

    organisation = await make_partner(db)
    officer_h = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    await client.post(
        f"/api/v1/organisations/{organisation.id}/contacts",
        json={"email": "new@example.org"},
        headers=officer_h,
    )
    await run_burst_worker(settings)
    [message] = mailbox.to("new@example.org")  # type: ignore[attr-defined]
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    path = re.search(
        r"http://testserver(/invitation/\S+)", text.get_payload(decode=True).decode()
    ).group(1)  # type: ignore[union-attr]
    assert (await client.get(path)).status_code == 200
    await client.post(f"/api/v1/organisations/{organisation.id}/offboard", headers=officer_h)
    assert (await client.get(path)).status_code == 404


async def test_every_route_with_another_organisations_id_is_not_found(
    client: httpx.AsyncClient, db: Database
) -> None:
    own = await make_partner(db, name="Own")
    other = await make_partner(db, name="Other")
    coordinator = await make_contact(db, own, coordinator=True)
    stranger = await make_contact(db, other, password=None)
    h = bearer(await api_token(client, db, coordinator))
    for method, path in [
        ("POST", f"/api/v1/contacts/{stranger.id}/invitation"),
        ("GET", f"/api/v1/contacts/{stranger.id}/export"),
        ("POST", f"/api/v1/contacts/{stranger.id}/erase"),
        ("GET", f"/api/v1/organisations/{other.id}/contacts"),
    ]:
        response = await client.request(method, path, headers=h)
        assert response.status_code == 404, (method, path, response.status_code)
    await login(client, coordinator.email)
    token = await csrf_token(client, "/organisation")
    for method, path in [
        ("GET", f"/contacts/{stranger.id}/remove"),
        ("POST", f"/contacts/{stranger.id}/remove"),
        ("POST", f"/contacts/{stranger.id}/invitation"),
        ("GET", f"/contacts/{stranger.id}/erase"),
    ]:
        data = {"csrf_token": token} if method == "POST" else None
        response = await client.request(method, path, data=data)
        assert response.status_code == 404, (method, path, response.status_code)


async def test_officer_only_routes_refuse_partners(client: httpx.AsyncClient, db: Database) -> None:
    own = await make_partner(db)
    coordinator = await make_contact(db, own, coordinator=True)
    area = await make_area(db, code="A")
    h = bearer(await api_token(client, db, coordinator))
    for method, path, body in [
        ("PATCH", f"/api/v1/areas/{area}", {"name": "x"}),
        ("PUT", f"/api/v1/areas/{area}/uptake", {"measured_on": "2026-01-01", "share_percent": 1}),
        ("GET", "/api/v1/audiences", None),
        ("POST", "/api/v1/audiences", {"name": "x", "spec": {}}),
        ("GET", "/api/v1/audiences/1", None),
        ("GET", "/api/v1/audiences/1/resolve", None),
        ("PUT", "/api/v1/audiences/1", {"name": "x", "spec": {}}),
        ("DELETE", "/api/v1/audiences/1", None),
        ("GET", "/api/v1/exports/partners.csv", None),
        ("POST", f"/api/v1/organisations/{own.id}/offboard", None),
    ]:
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code == 403, (method, path, response.status_code)
    imported = await client.post(
        "/api/v1/imports/partners",
        headers=h,
        files={"file": ("a.csv", b"external_id;name\n", "text/csv")},
    )
    assert imported.status_code == 403


async def test_resolve_lists_contacts_and_saved_audiences_resolve_by_id(
    client: httpx.AsyncClient, db: Database
) -> None:
    area = await make_area(db, code="S", uptake=[("2026-10-01", 60.0)])
    organisation = await make_partner(db, name="Somali", languages=["so"], area_ids=[area])
    contact = await make_contact(db, organisation)
    h = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    spec = {"languages": ["so"], "uptake_below": 70}
    resolved = (await client.post("/api/v1/audiences/resolve", json=spec, headers=h)).json()
    assert [c["id"] for c in resolved["contacts"]] == [contact.id]
    saved = (
        await client.post("/api/v1/audiences", json={"name": "S", "spec": spec}, headers=h)
    ).json()
    again = await client.get(f"/api/v1/audiences/{saved['id']}/resolve", headers=h)
    assert again.status_code == 200 and again.json()["partner_count"] == 1
