"""Downloads through the hub: who may fetch, what is recorded, shared links, old versions."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from hub.db import Database
from hub.models import MaterialDownload, Role
from tests.factories import api_token, bearer, make_contact, make_partner, make_user
from tests.materials import samples


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database) -> dict[str, object]:
    officer = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    somali = await make_partner(db, name="Somali", languages=["so"])
    turkish = await make_partner(db, name="Turkish", languages=["tr"])
    partner = bearer(await api_token(client, db, await make_contact(db, somali)))
    outsider = bearer(await api_token(client, db, await make_contact(db, turkish)))
    campaign = (
        await client.post(
            "/api/v1/campaigns",
            json={"title": "Vinter", "audience_spec": {"languages": ["so"]}},
            headers=officer,
        )
    ).json()
    item = (
        await client.post(
            f"/api/v1/campaigns/{campaign['id']}/items",
            json={"kind": "poster", "title": "Plakat før vinteren"},
            headers=officer,
        )
    ).json()
    uploaded = await client.post(
        "/api/v1/materials",
        headers=officer,
        files={"file": ("plakat.pdf", samples.pdf(), "application/octet-stream")},
    )
    assert uploaded.status_code == 201, uploaded.text
    variant = (
        await client.put(
            f"/api/v1/items/{item['id']}/variants/so",
            json={"material_id": uploaded.json()["id"]},
            headers=officer,
        )
    ).json()
    return {
        "officer": officer,
        "partner": partner,
        "outsider": outsider,
        "campaign": campaign["id"],
        "variant": variant["id"],
        "somali": somali.id,
        "material": uploaded.json()["id"],
    }


async def _downloads(db: Database) -> list[MaterialDownload]:
    async with db.session(write=False) as session:
        return list((await session.exec(select(MaterialDownload))).all())


async def test_addressed_partner_downloads_and_it_is_recorded(
    client: httpx.AsyncClient, db: Database, world: dict[str, object]
) -> None:
    url = f"/api/v1/variants/{world['variant']}/download"
    # Not before the campaign is published.
    assert (await client.get(url, headers=world["partner"])).status_code == 404  # type: ignore[arg-type]
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=world["officer"])  # type: ignore[arg-type]
    response = await client.get(url, headers=world["partner"])  # type: ignore[arg-type]
    assert response.status_code == 200 and response.content == samples.pdf()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''Plakat%20f%C3%B8r" in (
        disposition
    )
    etag = response.headers["etag"]
    # A later range and a revalidation are not new downloads.
    part = await client.get(url, headers={**world["partner"], "Range": "bytes=5-9"})  # type: ignore[dict-item]
    assert part.status_code == 206 and part.content == samples.pdf()[5:10]
    same = await client.get(url, headers={**world["partner"], "If-None-Match": etag})  # type: ignore[dict-item]
    assert same.status_code == 304
    bad = await client.get(url, headers={**world["partner"], "Range": "bytes=99999-"})  # type: ignore[dict-item]
    assert bad.status_code == 416
    [record] = await _downloads(db)
    assert (record.organisation_id, record.material_id, record.variant_id) == (
        world["somali"],
        world["material"],
        world["variant"],
    )
    # Officers download too, without being counted as a partner.
    assert (await client.get(url, headers=world["officer"])).status_code == 200  # type: ignore[arg-type]
    assert len(await _downloads(db)) == 1


async def test_an_organisation_not_addressed_gets_404(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=world["officer"])  # type: ignore[arg-type]
    url = f"/api/v1/variants/{world['variant']}/download"
    assert (await client.get(url, headers=world["outsider"])).status_code == 404  # type: ignore[arg-type]
    share = await client.post(
        f"/api/v1/variants/{world['variant']}/share", headers=world["outsider"]
    )  # type: ignore[arg-type]
    assert share.status_code == 404
    material = f"/api/v1/materials/{world['material']}/download"
    assert (await client.get(material, headers=world["partner"])).status_code == 403  # type: ignore[arg-type]
    assert (await client.get(material, headers=world["officer"])).status_code == 200  # type: ignore[arg-type]


async def test_a_shared_link_works_without_an_account_until_the_campaign_is_archived(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    db: Database,
    world: dict[str, object],
) -> None:
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=world["officer"])  # type: ignore[arg-type]
    shared = await client.post(
        f"/api/v1/variants/{world['variant']}/share", headers=world["partner"]
    )  # type: ignore[arg-type]
    assert shared.status_code == 200
    path = shared.json()["url"].removeprefix("http://testserver")
    response = await anon_client.get(path)
    assert response.status_code == 200 and response.content == samples.pdf()
    assert "set-cookie" not in response.headers
    [record] = await _downloads(db)
    assert record.organisation_id == world["somali"]  # reach counts for the sharing partner
    assert (await anon_client.get(path[:-3] + "xyz")).status_code == 404  # tampered
    for action in ("close", "archive"):
        await client.post(
            f"/api/v1/campaigns/{world['campaign']}/{action}", headers=world["officer"]
        )  # type: ignore[arg-type]
    assert (await anon_client.get(path)).status_code == 404


async def test_a_replaced_file_reaches_old_links_and_stays_for_officers(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    officer = world["officer"]
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=officer)  # type: ignore[arg-type]
    shared = (
        await client.post(f"/api/v1/variants/{world['variant']}/share", headers=world["partner"])
    ).json()  # type: ignore[arg-type]
    corrected = await client.post(
        "/api/v1/materials",
        headers=officer,
        files={  # type: ignore[arg-type]
            "file": ("plakat.png", samples.png(), "application/octet-stream")
        },
    )
    item_id = (
        await client.get(f"/api/v1/campaigns/{world['campaign']}/items", headers=officer)
    ).json()[0]["id"]  # type: ignore[arg-type]
    updated = await client.put(
        f"/api/v1/items/{item_id}/variants/so",
        headers=officer,  # type: ignore[arg-type]
        json={"material_id": corrected.json()["id"]},
    )
    assert updated.json()["version"] == 2
    fresh = await anon_client.get(shared["url"].removeprefix("http://testserver"))
    assert fresh.content == samples.png()  # the old link leads to the new version
    old = await client.get(f"/api/v1/materials/{world['material']}/download", headers=officer)  # type: ignore[arg-type]
    assert old.status_code == 200 and old.content == samples.pdf()


async def test_renditions_that_do_not_exist_yet_are_404(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    url = f"/api/v1/variants/{world['variant']}/download?rendition=whatsapp"
    assert (await client.get(url, headers=world["officer"])).status_code == 404  # type: ignore[arg-type]
    bad = f"/api/v1/variants/{world['variant']}/download?rendition=everything"
    assert (await client.get(bad, headers=world["officer"])).status_code == 422  # type: ignore[arg-type]


async def test_organisations_that_downloaded_an_old_version_hear_of_the_correction(
    client: httpx.AsyncClient,
    db: Database,
    settings: object,
    mailbox: object,
    world: dict[str, object],
) -> None:
    from tests.test_worker_e2e import run_burst_worker

    officer = world["officer"]
    async with db.session(write=False) as session:
        from hub.models import User

        contact = (
            await session.exec(select(User).where(User.organisation_id == world["somali"]))
        ).one()
    other = await make_partner(db, name="Also Somali", languages=["so"])
    bystander = await make_contact(db, other, email="bystander@example.org")
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=officer)  # type: ignore[arg-type]
    await client.get(f"/api/v1/variants/{world['variant']}/download", headers=world["partner"])  # type: ignore[arg-type]
    await run_burst_worker(settings)  # type: ignore[arg-type]
    mailbox.clear()  # type: ignore[attr-defined]

    corrected = await client.post(
        "/api/v1/materials",
        headers=officer,
        files={  # type: ignore[arg-type]
            "file": ("plakat.png", samples.png(), "application/octet-stream")
        },
    )
    item_id = (
        await client.get(f"/api/v1/campaigns/{world['campaign']}/items", headers=officer)
    ).json()[0]["id"]  # type: ignore[arg-type]
    await client.put(
        f"/api/v1/items/{item_id}/variants/so",
        headers=officer,  # type: ignore[arg-type]
        json={"material_id": corrected.json()["id"]},
    )
    await run_burst_worker(settings)  # type: ignore[arg-type]
    [notice] = mailbox.to(contact.email)  # type: ignore[attr-defined]
    from email.header import decode_header, make_header

    subject = str(make_header(decode_header(notice["Subject"])))
    assert subject == "Corrected material: Plakat før vinteren"
    assert mailbox.to(bystander.email) == []  # type: ignore[attr-defined]


async def test_head_answers_without_a_body_and_is_not_counted(
    client: httpx.AsyncClient, db: Database, world: dict[str, object]
) -> None:
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=world["officer"])  # type: ignore[arg-type]
    head = await client.head(
        f"/api/v1/variants/{world['variant']}/download", headers=world["partner"]
    )  # type: ignore[arg-type]
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(samples.pdf())
    assert await _downloads(db) == []


async def test_pictures_shown_on_a_page_are_not_downloads(
    client: httpx.AsyncClient, db: Database, world: dict[str, object]
) -> None:
    await client.post(f"/api/v1/campaigns/{world['campaign']}/publish", headers=world["officer"])  # type: ignore[arg-type]
    url = f"/api/v1/variants/{world['variant']}/download"
    shown = await client.get(url, headers={**world["partner"], "Sec-Fetch-Dest": "image"})  # type: ignore[dict-item]
    assert shown.status_code == 200
    assert await _downloads(db) == []
    taken = await client.get(url, headers={**world["partner"], "Sec-Fetch-Dest": "document"})  # type: ignore[dict-item]
    assert taken.status_code == 200
    assert len(await _downloads(db)) == 1
