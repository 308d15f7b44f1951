"""The partner registry API: officers manage, partners see and change only their own."""

from __future__ import annotations

import httpx
import pytest

from hub.db import Database
from hub.models import OrganisationKind, Role
from tests.factories import (
    api_token,
    bearer,
    login,
    make_area,
    make_contact,
    make_partner,
    make_user,
)


@pytest.fixture
async def officer_token(client: httpx.AsyncClient, db: Database) -> str:
    return await api_token(client, db, await make_user(db, role=Role.officer))


async def test_officer_registers_an_organisation_with_its_reach(
    client: httpx.AsyncClient, db: Database, officer_token: str
) -> None:
    area = await make_area(db, code="S", name="Sønderbro")
    response = await client.post(
        "/api/v1/organisations",
        json={
            "name": "Moskéforeningen Ærø",
            "kind": "faith_community",
            "description": "Fredagsbøn",
            "languages": ["AR", "so", "ar"],
            "area_ids": [area],
            "channels": [
                {"channel": "whatsapp", "audience_estimate": 250},
                {"channel": "sermon", "audience_estimate": 400},
            ],
            "external_id": "M-1",
            "notes": "Kontakt via imamen",
        },
        headers=bearer(officer_token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Moskéforeningen Ærø" and body["languages"] == ["ar", "so"]
    assert body["area_ids"] == [area] and body["notes"] == "Kontakt via imamen"
    assert body["channels"] == [
        {"channel": "whatsapp", "audience_estimate": 250},
        {"channel": "sermon", "audience_estimate": 400},
    ]
    duplicate = await client.post(
        "/api/v1/organisations",
        json={"name": "Other", "kind": "other", "external_id": "M-1"},
        headers=bearer(officer_token),
    )
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "X", "kind": "club"}, "body.kind"),
        ({"name": "   ", "kind": "other"}, "body.name"),
        ({"name": "X", "kind": "other", "languages": ["somali"]}, "languages"),
        ({"name": "X", "kind": "other", "area_ids": [424242]}, "area_ids"),
        (
            {"name": "X", "kind": "other", "channels": [{"channel": "pigeon"}]},
            "body.channels.0.channel",
        ),
        (
            {
                "name": "X",
                "kind": "other",
                "channels": [{"channel": "poster"}, {"channel": "poster"}],
            },
            "channels",
        ),
        (
            {
                "name": "X",
                "kind": "other",
                "channels": [{"channel": "poster", "audience_estimate": -1}],
            },
            "body.channels.0.audience_estimate",
        ),
    ],
)
async def test_bad_organisations_are_refused_with_the_field_named(
    client: httpx.AsyncClient, db: Database, officer_token: str, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/v1/organisations", json=body, headers=bearer(officer_token))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}
    listing = await client.get("/api/v1/organisations", headers=bearer(officer_token))
    assert listing.json()["total"] == 0  # nothing half-written


async def test_list_filters_by_kind_area_language_status_and_search(
    client: httpx.AsyncClient, db: Database, officer_token: str
) -> None:
    syd = await make_area(db, code="S")
    vest = await make_area(db, code="S-VP", parent_id=syd, kind="housing_area")
    nord = await make_area(db, code="N")
    await make_partner(
        db,
        name="Boligforeningen Vest",
        kind=OrganisationKind.housing_organisation,
        languages=["ar"],
        area_ids=[vest],
    )
    await make_partner(db, name="Ældre Sagen", languages=["da"], area_ids=[nord])
    await make_partner(
        db, name="Somalisk Forening", languages=["so"], area_ids=[syd], status="paused"
    )

    async def names(query: str) -> list[str]:
        response = await client.get(f"/api/v1/organisations?{query}", headers=bearer(officer_token))
        assert response.status_code == 200
        return [o["name"] for o in response.json()["items"]]

    assert await names("") == ["Boligforeningen Vest", "Somalisk Forening", "Ældre Sagen"]
    assert await names("kind=housing_organisation") == ["Boligforeningen Vest"]
    assert await names(f"area_id={syd}") == ["Boligforeningen Vest", "Somalisk Forening"]
    assert await names("language=so") == ["Somalisk Forening"]
    assert await names("status=paused") == ["Somalisk Forening"]
    assert await names("q=ældre") == ["Ældre Sagen"]
    assert await names("limit=1&offset=1") == ["Somalisk Forening"]
    bad = await client.get("/api/v1/organisations?kind=club", headers=bearer(officer_token))
    assert bad.status_code == 422


async def test_partner_sees_and_changes_only_its_own_organisation(
    client: httpx.AsyncClient, db: Database
) -> None:
    own = await make_partner(db, name="Own", languages=["so"])
    other = await make_partner(db, name="Other")
    coordinator = await make_contact(db, own, coordinator=True)
    other_contact = await make_contact(db, other)
    raw = await api_token(client, db, coordinator)
    h = bearer(raw)

    listing = await client.get("/api/v1/organisations", headers=h)
    assert [o["name"] for o in listing.json()["items"]] == ["Own"]
    mine = await client.get(f"/api/v1/organisations/{own.id}", headers=h)
    assert mine.status_code == 200 and mine.json()["notes"] is None  # officers' notes hidden

    # Every partner-facing route answers 404 for another organisation's objects.
    for method, path, body in [
        ("GET", f"/api/v1/organisations/{other.id}", None),
        ("PATCH", f"/api/v1/organisations/{other.id}", {"description": "x"}),
        ("GET", f"/api/v1/organisations/{other.id}/contacts", None),
        ("POST", f"/api/v1/organisations/{other.id}/contacts", {"email": "x@example.org"}),
        ("GET", f"/api/v1/contacts/{other_contact.id}", None),
        ("PATCH", f"/api/v1/contacts/{other_contact.id}", {"name": "x"}),
        ("DELETE", f"/api/v1/contacts/{other_contact.id}", None),
    ]:
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code == 404, (method, path, response.status_code)

    # Officer-only routes refuse partners.
    for method, path, body in [
        ("POST", "/api/v1/organisations", {"name": "N", "kind": "other"}),
        ("POST", f"/api/v1/organisations/{own.id}/offboard", None),
        ("POST", "/api/v1/areas", {"code": "X", "name": "X", "kind": "district"}),
        ("POST", "/api/v1/audiences/resolve", {}),
        ("GET", f"/api/v1/contacts/{coordinator.id}/export", None),
        ("POST", f"/api/v1/contacts/{coordinator.id}/erase", None),
    ]:
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code == 403, (method, path, response.status_code)

    # The coordinator edits the profile and channels, not what the municipality decides.
    edited = await client.patch(
        f"/api/v1/organisations/{own.id}",
        json={
            "description": "Vi mødes hver fredag",
            "languages": ["so", "ar"],
            "channels": [{"channel": "whatsapp", "audience_estimate": 180}],
        },
        headers=h,
    )
    assert edited.status_code == 200
    assert edited.json()["languages"] == ["ar", "so"]
    refused = await client.patch(
        f"/api/v1/organisations/{own.id}", json={"status": "active", "name": "Renamed"}, headers=h
    )
    assert refused.status_code == 403


async def test_members_read_but_only_coordinators_manage(
    client: httpx.AsyncClient, db: Database, mailbox: object
) -> None:
    own = await make_partner(db, name="Own")
    coordinator = await make_contact(db, own, coordinator=True)
    member = await make_contact(db, own)
    member_h = bearer(await api_token(client, db, member))
    coordinator_h = bearer(await api_token(client, db, coordinator))

    assert (
        await client.get(f"/api/v1/organisations/{own.id}/contacts", headers=member_h)
    ).status_code == 200
    assert (
        await client.patch(
            f"/api/v1/organisations/{own.id}", json={"description": "x"}, headers=member_h
        )
    ).status_code == 403
    assert (
        await client.post(
            f"/api/v1/organisations/{own.id}/contacts",
            json={"email": "new@example.org"},
            headers=member_h,
        )
    ).status_code == 403
    # A member may change their own contact details.
    me = await client.patch(
        f"/api/v1/contacts/{member.id}",
        json={"phone": "+45 12 34 56 78", "notify_by": "sms"},
        headers=member_h,
    )
    assert me.status_code == 200 and me.json()["notify_by"] == "sms"

    added = await client.post(
        f"/api/v1/organisations/{own.id}/contacts",
        json={"email": "new@example.org", "name": "Ny", "language": "so"},
        headers=coordinator_h,
    )
    assert added.status_code == 201 and added.json()["org_role"] == "member"
    promote = await client.post(
        f"/api/v1/organisations/{own.id}/contacts",
        json={"email": "boss@example.org", "org_role": "coordinator"},
        headers=coordinator_h,
    )
    assert promote.status_code == 403
    removed = await client.delete(f"/api/v1/contacts/{member.id}", headers=coordinator_h)
    assert removed.status_code == 204
    assert (await client.get("/api/v1/me", headers=member_h)).status_code == 401


async def test_offboarding_cuts_off_sessions_and_tokens_at_once(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database, officer_token: str
) -> None:
    organisation = await make_partner(db, name="Leaving")
    contact = await make_contact(db, organisation)
    token = await api_token(client, db, contact)
    await login(anon_client, contact.email)
    assert (await anon_client.get("/")).status_code == 200
    response = await client.post(
        f"/api/v1/organisations/{organisation.id}/offboard", headers=bearer(officer_token)
    )
    assert response.status_code == 200 and response.json()["status"] == "offboarded"
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await anon_client.get("/")).status_code == 303
    assert (await login(anon_client, contact.email)).status_code == 400
    # Not active again until the organisation is.
    admin_h = bearer(await api_token(client, db, await make_user(db, role=Role.admin)))
    enable = await client.patch(
        f"/api/v1/users/{contact.id}", json={"is_active": True}, headers=admin_h
    )
    assert enable.status_code == 409


async def test_contact_export_and_erasure(client: httpx.AsyncClient, db: Database) -> None:
    organisation = await make_partner(db, name="Forening")
    contact = await make_contact(db, organisation, email="amina@example.org")
    await api_token(client, db, contact)
    admin_h = bearer(await api_token(client, db, await make_user(db, role=Role.admin)))
    officer_h = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))

    export = await client.get(f"/api/v1/contacts/{contact.id}/export", headers=admin_h)
    assert export.status_code == 200
    data = export.json()
    assert data["contact"]["email"] == "amina@example.org"
    assert data["organisation"]["name"] == "Forening" and len(data["api_tokens"]) == 1
    assert (
        await client.get(f"/api/v1/contacts/{contact.id}/export", headers=officer_h)
    ).status_code == 403

    erased = await client.post(f"/api/v1/contacts/{contact.id}/erase", headers=admin_h)
    assert erased.status_code == 200
    body = erased.json()
    assert "amina" not in body["email"] and body["name"] == "" and body["phone"] is None
    assert body["erased_at"] is not None and body["is_active"] is False
    after = (await client.get(f"/api/v1/contacts/{contact.id}/export", headers=admin_h)).json()
    assert "amina" not in str(after) and after["api_tokens"] == []
    contacts = await client.get(
        f"/api/v1/organisations/{organisation.id}/contacts", headers=officer_h
    )
    assert contacts.json() == []
    # The address is free again for a new invitation.
    again = await client.post(
        f"/api/v1/organisations/{organisation.id}/contacts",
        json={"email": "amina@example.org"},
        headers=officer_h,
    )
    assert again.status_code == 201


async def test_areas_api_with_uptake(
    client: httpx.AsyncClient, db: Database, officer_token: str
) -> None:
    h = bearer(officer_token)
    kommune = (
        await client.post(
            "/api/v1/areas",
            json={"code": "K", "name": "Kommune", "kind": "municipality", "population": 60000},
            headers=h,
        )
    ).json()
    district = await client.post(
        "/api/v1/areas",
        json={"code": "S", "name": "Sønderbro", "kind": "district", "parent_id": kommune["id"]},
        headers=h,
    )
    assert district.status_code == 201
    sid = district.json()["id"]
    for day, share in [("2026-09-01", 70.5), ("2026-10-01", 66.25), ("2026-10-01", 66.0)]:
        response = await client.put(
            f"/api/v1/areas/{sid}/uptake",
            json={"measured_on": day, "share_percent": share},
            headers=h,
        )
        assert response.status_code == 200
    series = await client.get(f"/api/v1/areas/{sid}/uptake", headers=h)
    assert [(p["measured_on"], p["share_percent"]) for p in series.json()] == [
        ("2026-09-01", 70.5),
        ("2026-10-01", 66.0),
    ]
    read = await client.get(f"/api/v1/areas/{sid}", headers=h)
    assert read.json()["latest_uptake"]["share_percent"] == 66.0
    loop = await client.patch(f"/api/v1/areas/{kommune['id']}", json={"parent_id": sid}, headers=h)
    assert loop.status_code == 422
    assert (
        await client.put(
            f"/api/v1/areas/{sid}/uptake",
            json={"measured_on": "2026-11-01", "share_percent": 101},
            headers=h,
        )
    ).status_code == 422
    assert (
        await client.post(
            "/api/v1/areas", json={"code": "S", "name": "Dup", "kind": "district"}, headers=h
        )
    ).status_code == 409


async def test_ids_beyond_the_database_range_are_refused_not_500(
    client: httpx.AsyncClient, db: Database, officer_token: str
) -> None:
    huge = 99_999_999_999
    for method, path, body in [
        ("GET", f"/api/v1/organisations/{huge}", None),
        ("GET", f"/api/v1/contacts/{huge}", None),
        ("GET", f"/api/v1/areas/{huge}", None),
        ("GET", f"/api/v1/users/{huge}", None),
        ("GET", f"/api/v1/audiences/{huge}", None),
        ("DELETE", f"/api/v1/tokens/{huge}", None),
        ("GET", f"/api/v1/organisations?area_id={huge}", None),
        ("POST", "/api/v1/organisations", {"name": "X", "kind": "other", "area_ids": [huge]}),
        ("POST", "/api/v1/audiences/resolve", {"include_ids": [huge]}),
    ]:
        response = await client.request(method, path, json=body, headers=bearer(officer_token))
        assert response.status_code == 422, (method, path, response.status_code)
