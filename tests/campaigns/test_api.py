"""Campaigns: the life cycle, who sees what, items and language variants, coverage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from hub.campaigns import service as campaigns
from hub.db import Database, unit_of_work
from hub.models import Campaign, CampaignStatus, Role, VariantVersion
from tests.factories import api_token, bearer, make_area, make_contact, make_partner, make_user


@pytest.fixture
async def officer(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return bearer(await api_token(client, db, await make_user(db, role=Role.officer)))


async def _campaign(
    client: httpx.AsyncClient,
    h: dict[str, str],
    *,
    ready: bool = True,
    spec: dict[str, object] | None = None,
) -> dict[str, object]:
    body: dict[str, object] = {"title": "Vaccination før vinteren", "purpose": "Flere vaccineret"}
    if ready or spec is not None:
        body["audience_spec"] = spec if spec is not None else {"languages": ["so"]}
    created = await client.post("/api/v1/campaigns", json=body, headers=h)
    assert created.status_code == 201, created.text
    campaign = created.json()
    if ready:
        item = await client.post(
            f"/api/v1/campaigns/{campaign['id']}/items",
            json={"kind": "message", "title": "Budskab"},
            headers=h,
        )
        assert item.status_code == 201, item.text
    return campaign


async def _post(
    client: httpx.AsyncClient, h: dict[str, str], campaign_id: object, action: str, **body: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/campaigns/{campaign_id}/{action}", json=body or None, headers=h
    )


async def test_the_whole_life_cycle_and_every_refused_transition(
    client: httpx.AsyncClient, db: Database, officer: dict[str, str]
) -> None:
    await make_partner(db, languages=["so"])
    c = (await _campaign(client, officer))["id"]
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    # draft: may be scheduled or published; not closed or archived.
    for action in ("close", "archive", "unschedule"):
        refused = await _post(client, officer, c, action)
        assert refused.status_code == 409, action
        assert "A draft campaign cannot become" in refused.json()["detail"]
    assert (await _post(client, officer, c, "schedule", publish_at=soon)).json()["status"] == (
        "scheduled"
    )
    # scheduled: back to draft, or published; not closed/archived.
    for action in ("close", "archive"):
        assert (await _post(client, officer, c, action)).status_code == 409
    assert (await _post(client, officer, c, "unschedule")).json()["status"] == "draft"
    assert (await _post(client, officer, c, "schedule", publish_at=soon)).status_code == 200
    published = await _post(client, officer, c, "publish")
    assert published.json()["status"] == "published" and published.json()["published_at"]
    # published: only closed.
    for action in ("publish", "archive", "unschedule"):
        assert (await _post(client, officer, c, action)).status_code == 409, action
    assert (await _post(client, officer, c, "schedule", publish_at=soon)).status_code == 409
    assert (await _post(client, officer, c, "close")).json()["status"] == "closed"
    # closed: published again, or archived.
    assert (await _post(client, officer, c, "publish")).json()["status"] == "published"
    assert (await _post(client, officer, c, "close")).status_code == 200
    assert (await _post(client, officer, c, "archive")).json()["status"] == "archived"
    # archived: nothing, and no changes.
    for action in ("publish", "close", "unschedule"):
        assert (await _post(client, officer, c, action)).status_code == 409, action
    edit = await client.patch(f"/api/v1/campaigns/{c}", json={"title": "Ny"}, headers=officer)
    assert edit.status_code == 409


async def test_publishing_needs_an_audience_and_an_item(
    client: httpx.AsyncClient, officer: dict[str, str]
) -> None:
    bare = (await _campaign(client, officer, ready=False))["id"]
    refused = await _post(client, officer, bare, "publish")
    assert refused.status_code == 409 and "audience" in refused.json()["detail"]
    await client.patch(f"/api/v1/campaigns/{bare}", json={"audience_spec": {}}, headers=officer)
    refused = await _post(client, officer, bare, "publish")
    assert refused.status_code == 409 and "at least one item" in refused.json()["detail"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert (await _post(client, officer, bare, "schedule", publish_at=past)).status_code == 422


async def test_scheduled_campaigns_are_published_when_due(
    client: httpx.AsyncClient, db: Database, officer: dict[str, str]
) -> None:
    c = (await _campaign(client, officer))["id"]
    later = datetime.now(UTC) + timedelta(hours=1)
    await _post(client, officer, c, "schedule", publish_at=later.isoformat())
    async with unit_of_work(db, None) as session:
        assert await campaigns.publish_due(session) == []  # not yet
    async with unit_of_work(db, None) as session:
        assert await campaigns.publish_due(session, now=later + timedelta(seconds=1)) == [c]
    async with db.session(write=False) as session:
        campaign = await session.get(Campaign, c)
        assert campaign is not None and campaign.status is CampaignStatus.published


async def test_partners_see_only_published_campaigns_that_address_them(
    client: httpx.AsyncClient, db: Database, officer: dict[str, str]
) -> None:
    somali = await make_partner(db, name="Somali", languages=["so"])
    turkish = await make_partner(db, name="Turkish", languages=["tr"])
    addressed = bearer(await api_token(client, db, await make_contact(db, somali)))
    outsider = bearer(await api_token(client, db, await make_contact(db, turkish)))
    c = (await _campaign(client, officer))["id"]
    item_id = (await client.get(f"/api/v1/campaigns/{c}/items", headers=officer)).json()[0]["id"]

    # A draft is nobody's business but the municipality's.
    assert (await client.get(f"/api/v1/campaigns/{c}", headers=addressed)).status_code == 404
    await _post(client, officer, c, "publish")
    assert (await client.get(f"/api/v1/campaigns/{c}", headers=addressed)).status_code == 200
    listing = await client.get("/api/v1/campaigns", headers=addressed)
    assert [x["id"] for x in listing.json()["items"]] == [c]
    assert (await client.get(f"/api/v1/items/{item_id}", headers=addressed)).status_code == 200
    # The organisation not addressed gets 404 for the campaign and everything in it.
    for path in (
        f"/api/v1/campaigns/{c}",
        f"/api/v1/campaigns/{c}/items",
        f"/api/v1/items/{item_id}",
    ):
        assert (await client.get(path, headers=outsider)).status_code == 404, path
    assert (await client.get("/api/v1/campaigns", headers=outsider)).json()["total"] == 0
    # Partners never change campaigns.
    assert (
        await client.patch(f"/api/v1/campaigns/{c}", json={"title": "x"}, headers=addressed)
    ).status_code == 403
    assert (await _post(client, addressed, c, "close")).status_code == 403
    # Archived: gone from the partner's view.
    await _post(client, officer, c, "close")
    assert (await client.get(f"/api/v1/campaigns/{c}", headers=addressed)).status_code == 200
    await _post(client, officer, c, "archive")
    assert (await client.get(f"/api/v1/campaigns/{c}", headers=addressed)).status_code == 404


async def test_items_variants_versions_and_coverage(
    client: httpx.AsyncClient, db: Database, officer: dict[str, str]
) -> None:
    area = await make_area(db, code="S", uptake=[("2026-10-01", 60.0)])
    await make_partner(db, languages=["so", "ar"], area_ids=[area])
    await make_partner(db, languages=["da"], area_ids=[area])
    c = (await _campaign(client, officer, ready=False, spec={"uptake_below": 70}))["id"]
    film = (
        await client.post(
            f"/api/v1/campaigns/{c}/items",
            json={
                "kind": "film",
                "title": "Kort film",
                "base_language": "da",
                "fallback_language": "en",
            },
            headers=officer,
        )
    ).json()
    event = await client.post(
        f"/api/v1/campaigns/{c}/items",
        json={
            "kind": "event",
            "title": "Informationsmøde",
            "place": "Beboerhuset",
            "address": "Vestparken 1",
            "map_url": "https://maps.example.org/?q=Vestparken",
            "starts_at": "2026-12-01T17:00:00+01:00",
            "ends_at": "2026-12-01T19:00:00+01:00",
            "booking_help": "Ring til sundhedshuset",
        },
        headers=officer,
    )
    assert event.status_code == 201
    assert event.json()["starts_at"].startswith("2026-12-01T16:00:00")  # stored in UTC
    wrong = await client.post(
        f"/api/v1/campaigns/{c}/items",
        json={"kind": "message", "title": "X", "place": "Here"},
        headers=officer,
    )
    assert wrong.status_code == 422
    backwards = await client.post(
        f"/api/v1/campaigns/{c}/items",
        json={
            "kind": "event",
            "title": "X",
            "starts_at": "2026-12-01T19:00:00Z",
            "ends_at": "2026-12-01T17:00:00Z",
        },
        headers=officer,
    )
    assert backwards.status_code == 422

    for language, text in (("da", "Se filmen"), ("ar", "شاهد الفيلم")):
        response = await client.put(
            f"/api/v1/items/{film['id']}/variants/{language}", json={"text": text}, headers=officer
        )
        assert response.status_code == 200 and response.json()["text"] == text
    bad = await client.put(
        f"/api/v1/items/{film['id']}/variants/xx", json={"text": "x"}, headers=officer
    )
    assert bad.status_code == 422
    empty = await client.put(f"/api/v1/items/{film['id']}/variants/so", json={}, headers=officer)
    assert empty.status_code == 422

    coverage = (await client.get(f"/api/v1/campaigns/{c}/coverage", headers=officer)).json()
    assert coverage["audience_languages"] == ["ar", "da", "so"]
    assert coverage["cells"][str(film["id"])] == {"ar": "text", "da": "text"}
    assert coverage["uncovered"][str(film["id"])] == ["so"]
    assert coverage["warnings"] == ["ar", "da", "so"]  # the event has no variants yet

    # Replacing a variant's file keeps the old one as a version.
    from hub.models import Material, MaterialKind

    async with unit_of_work(db, None) as session:
        first = Material(
            sha256="a" * 64,
            size=1,
            content_type="video/mp4",
            kind=MaterialKind.film,
            extension="mp4",
            storage_key="a",
        )
        second = Material(
            sha256="b" * 64,
            size=1,
            content_type="video/mp4",
            kind=MaterialKind.film,
            extension="mp4",
            storage_key="b",
        )
        session.add_all([first, second])
        await session.flush()
        ids = first.id, second.id
    v1 = await client.put(
        f"/api/v1/items/{film['id']}/variants/da", json={"material_id": ids[0]}, headers=officer
    )
    assert v1.json()["version"] == 1 and v1.json()["text"] == "Se filmen"
    v2 = await client.put(
        f"/api/v1/items/{film['id']}/variants/da", json={"material_id": ids[1]}, headers=officer
    )
    assert v2.json()["version"] == 2 and v2.json()["material_id"] == ids[1]
    async with db.session(write=False) as session:
        [old] = (await session.exec(select(VariantVersion))).all()
    assert (old.version, old.material_id) == (1, ids[0])
    missing = await client.put(
        f"/api/v1/items/{film['id']}/variants/da", json={"material_id": 424242}, headers=officer
    )
    assert missing.status_code == 422


async def test_bad_campaign_input_is_4xx(
    client: httpx.AsyncClient, officer: dict[str, str]
) -> None:
    for body in (
        {"title": ""},
        {"title": "x", "starts_on": "2026-12-01", "ends_on": "2026-11-01"},
        {"title": "x", "audience_id": 999999},
        {"title": "x", "audience_id": 1, "audience_spec": {}},
        {"title": "x", "audience_spec": {"area_ids": [999999]}},
        {"title": "x\x00"},
    ):
        response = await client.post("/api/v1/campaigns", json=body, headers=officer)
        assert response.status_code == 422, (body, response.status_code)
    assert (await client.get("/api/v1/campaigns", headers=officer)).json()["total"] == 0
