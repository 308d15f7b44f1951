"""Partners' own films for scripts: submitted, reviewed, approved as a credited variant or
rejected with a reason the partner reads; the worker tells the partner."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import FilmSubmission, ItemVariant, Material, Organisation, Role, User
from tests.factories import api_token, bearer, login, make_contact, make_partner, make_user
from tests.materials import samples
from tests.materials.conftest import BOUNDARY, CONTENT_TYPE, multipart
from tests.test_worker_e2e import _text_part, run_burst_worker

SUBMIT = "/api/v1/submissions"
EN = {"Accept-Language": "en"}


class Setup:
    officer: dict[str, str]
    partner: dict[str, str]
    contact: User
    outsider: dict[str, str]
    campaign_id: int
    script_id: int
    message_id: int


@pytest.fixture
async def setup(client: httpx.AsyncClient, db: Database) -> Setup:
    s = Setup()
    s.officer = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    somali = await make_partner(db, languages=["so"])
    turkish = await make_partner(db, languages=["tr"])
    s.contact = await make_contact(db, somali)
    s.partner = bearer(await api_token(client, db, s.contact))
    s.outsider = bearer(await api_token(client, db, await make_contact(db, turkish)))
    created = await client.post(
        "/api/v1/campaigns",
        json={"title": "Vinterens vaccine", "audience_spec": {"languages": ["so"]}},
        headers=s.officer,
    )
    s.campaign_id = created.json()["id"]
    items = f"/api/v1/campaigns/{s.campaign_id}/items"
    script = await client.post(
        items, json={"kind": "script", "title": "Manuskript"}, headers=s.officer
    )
    message = await client.post(
        items, json={"kind": "message", "title": "Budskab"}, headers=s.officer
    )
    s.script_id, s.message_id = script.json()["id"], message.json()["id"]
    await client.put(
        f"/api/v1/items/{s.script_id}/variants/so",
        json={"text": "# Tallaabooyinka\n\nKu duub filim gaaban."},
        headers=s.officer,
    )
    published = await client.post(f"/api/v1/campaigns/{s.campaign_id}/publish", headers=s.officer)
    assert published.status_code == 200, published.text
    return s


async def _submit(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    item_id: object,
    language: str = "so",
    content: bytes | None = None,
    filename: str = "optagelse.mp4",
) -> httpx.Response:
    body = multipart(
        filename,
        content if content is not None else samples.mp4(),
        fields={"item_id": str(item_id), "language": language},
    )
    return await client.post(SUBMIT, content=body, headers={**headers, **CONTENT_TYPE})


async def test_a_partner_submits_and_an_officer_approves_into_a_credited_variant(
    client: httpx.AsyncClient, db: Database, setup: Setup
) -> None:
    sent = await _submit(client, setup.partner, item_id=setup.script_id)
    assert sent.status_code == 201, sent.text
    submission = sent.json()
    assert submission["status"] == "pending" and submission["language"] == "so"

    queue = (await client.get(SUBMIT, params={"status": "pending"}, headers=setup.officer)).json()
    assert [s["id"] for s in queue["items"]] == [submission["id"]]
    own = (await client.get(SUBMIT, headers=setup.partner)).json()
    assert [s["id"] for s in own["items"]] == [submission["id"]]
    assert (await client.get(SUBMIT, headers=setup.outsider)).json()["items"] == []
    other = await client.get(f"{SUBMIT}/{submission['id']}", headers=setup.outsider)
    assert other.status_code == 404
    refused = await client.post(f"{SUBMIT}/{submission['id']}/approve", headers=setup.partner)
    assert refused.status_code == 403

    approved = await client.post(f"{SUBMIT}/{submission['id']}/approve", headers=setup.officer)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    film_item = await client.get(f"/api/v1/items/{body['film_item_id']}", headers=setup.officer)
    film = film_item.json()
    assert film["kind"] == "film" and film["campaign_id"] == setup.campaign_id
    assert "Manuskript" in film["title"]
    [variant] = film["variants"]
    assert variant["language"] == "so" and variant["material_id"] == submission["material_id"]
    async with unit_of_work(db, None, write=False) as session:
        row = await session.get(ItemVariant, variant["id"])
        assert row is not None and row.credited_organisation_id == setup.contact.organisation_id

    again = await client.post(f"{SUBMIT}/{submission['id']}/approve", headers=setup.officer)
    assert again.status_code == 409


async def test_the_review_queue_is_searched_by_partner_script_and_campaign(
    client: httpx.AsyncClient, db: Database, setup: Setup
) -> None:
    sent = await _submit(client, setup.partner, item_id=setup.script_id)
    assert sent.status_code == 201, sent.text
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    async with unit_of_work(db, None, write=False) as session:
        organisation = await session.get(Organisation, setup.contact.organisation_id)
        assert organisation is not None
    link = f"/reviews/{sent.json()['id']}"
    for term in (organisation.name.upper(), "manuskript", "Vinterens"):
        found = await client.get("/reviews", params={"q": term}, headers=EN)
        assert found.status_code == 200 and link in found.text, term
    missed = await client.get("/reviews", params={"q": "Influenza"}, headers=EN)
    assert link not in missed.text and "No film matches your search." in missed.text
    # The status filters keep the search, and the search keeps the status.
    kept = await client.get("/reviews", params={"q": "Manuskript", "status": "all"}, headers=EN)
    assert "?status=pending&amp;q=Manuskript" in kept.text
    assert '<input type="hidden" name="status" value="all">' in kept.text and link in kept.text
    empty = await client.get("/reviews", params={"status": "approved"}, headers=EN)
    assert link not in empty.text and "No films here." in empty.text


async def test_approval_into_an_existing_film_item_needs_a_free_language(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    film = await client.post(
        f"/api/v1/campaigns/{setup.campaign_id}/items",
        json={"kind": "film", "title": "Film"},
        headers=setup.officer,
    )
    film_id = film.json()["id"]
    first = (await _submit(client, setup.partner, item_id=setup.script_id)).json()
    second = (
        await _submit(
            client,
            setup.partner,
            item_id=setup.script_id,
            content=samples.mov(),
            filename="anden.mov",
        )
    ).json()
    for target in (setup.message_id, 999_999):
        wrong = await client.post(
            f"{SUBMIT}/{first['id']}/approve", json={"item_id": target}, headers=setup.officer
        )
        assert wrong.status_code == 422, wrong.text
    ok = await client.post(
        f"{SUBMIT}/{first['id']}/approve", json={"item_id": film_id}, headers=setup.officer
    )
    assert ok.status_code == 200 and ok.json()["film_item_id"] == film_id
    taken = await client.post(
        f"{SUBMIT}/{second['id']}/approve", json={"item_id": film_id}, headers=setup.officer
    )
    assert taken.status_code == 422
    assert "already has a film" in taken.json()["detail"]


async def test_rejection_needs_a_reason_and_the_partner_reads_it(
    client: httpx.AsyncClient, setup: Setup, settings: Settings, mailbox: Any
) -> None:
    submission = (await _submit(client, setup.partner, item_id=setup.script_id)).json()
    no_reason = await client.post(
        f"{SUBMIT}/{submission['id']}/reject", json={"reason": "   "}, headers=setup.officer
    )
    assert no_reason.status_code == 422
    rejected = await client.post(
        f"{SUBMIT}/{submission['id']}/reject",
        json={"reason": "Lyden er for svag; optag igen et stille sted."},
        headers=setup.officer,
    )
    assert rejected.status_code == 200, rejected.text
    seen = (await client.get(f"{SUBMIT}/{submission['id']}", headers=setup.partner)).json()
    assert seen["status"] == "rejected" and seen["reason"].startswith("Lyden er for svag")

    await run_burst_worker(settings)
    [mail] = [m for m in mailbox.to(setup.contact.email) if "not approved" in m["Subject"]]
    text = _text_part(mail)
    assert "Lyden er for svag" in text
    assert f"/portal/campaigns/{setup.campaign_id}/items/{setup.script_id}" in text
    # The same film may be sent again after a rejection.
    again = await _submit(client, setup.partner, item_id=setup.script_id)
    assert again.status_code == 201, again.text


async def test_the_partner_hears_of_an_approval(
    client: httpx.AsyncClient, setup: Setup, settings: Settings, mailbox: Any
) -> None:
    submission = (await _submit(client, setup.partner, item_id=setup.script_id)).json()
    await client.post(f"{SUBMIT}/{submission['id']}/approve", headers=setup.officer)
    await run_burst_worker(settings)
    subjects = [m["Subject"] for m in mailbox.to(setup.contact.email)]
    assert "Your film was approved: Manuskript" in subjects


async def test_refused_submissions_leave_nothing_behind(
    client: httpx.AsyncClient, db: Database, settings: Settings, setup: Setup
) -> None:
    cases = [
        # Not a script, not visible to this partner, a document instead of a film, a bad language.
        ({"item_id": setup.message_id}, 409),
        ({"item_id": 999_999}, 422),
        ({"item_id": setup.script_id, "content": samples.pdf(), "filename": "a.pdf"}, 422),
        ({"item_id": setup.script_id, "language": "xx-not"}, 422),
        ({"item_id": "abc"}, 422),
    ]
    for kwargs, expected in cases:
        response = await _submit(client, setup.partner, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == expected, (kwargs, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    outsider = await _submit(client, setup.outsider, item_id=setup.script_id)
    assert outsider.status_code == 422
    officer = await _submit(client, setup.officer, item_id=setup.script_id)
    assert officer.status_code == 403
    async with unit_of_work(db, None, write=False) as session:
        assert (await session.exec(select(FilmSubmission))).all() == []
        assert (await session.exec(select(Material))).all() == []
    media = settings.media_root
    leftovers = [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
    assert leftovers == []


async def test_the_same_film_twice_is_refused(client: httpx.AsyncClient, setup: Setup) -> None:
    assert (await _submit(client, setup.partner, item_id=setup.script_id)).status_code == 201
    twice = await _submit(client, setup.partner, item_id=setup.script_id)
    assert twice.status_code == 422
    assert "sent before" in twice.json()["detail"]


async def test_an_anonymous_upload_is_refused_before_its_body(
    anon_client: httpx.AsyncClient, setup: Setup
) -> None:
    body = multipart("x.mp4", samples.mp4(), fields={"item_id": str(setup.script_id)})
    response = await anon_client.post(SUBMIT, content=body, headers=CONTENT_TYPE)
    assert response.status_code == 401
    assert BOUNDARY  # the body was built as a browser sends it


async def test_a_lost_film_job_is_enqueued_again(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    from datetime import timedelta

    from hub.models import MaterialKind, ProcessingStatus, utcnow
    from hub.state import HubState
    from workers import materials as film_jobs

    async with unit_of_work(db, None) as session:
        old = utcnow() - timedelta(hours=1)
        for n, status in enumerate(
            [ProcessingStatus.pending, ProcessingStatus.running, ProcessingStatus.done]
        ):
            session.add(
                Material(
                    sha256=f"{n:064d}",
                    size=1,
                    content_type="video/mp4",
                    kind=MaterialKind.film,
                    extension="mp4",
                    storage_key=f"{n:064d}.mp4",
                    processing_status=status,
                    created_at=old,
                )
            )
        session.add(
            Material(
                sha256="f" * 64,
                size=1,
                content_type="video/mp4",
                kind=MaterialKind.film,
                extension="mp4",
                storage_key="f.mp4",
                processing_status=ProcessingStatus.pending,
            )
        )
    state = await HubState.open(settings)
    try:
        assert await film_jobs.resume_films({"hub": state}) == 2
        # Again while the jobs are still queued: nothing is doubled.
        assert await film_jobs.resume_films({"hub": state}) == 2
        assert state.queue is not None
        queued = await state.queue.pool.queued_jobs(queue_name=settings.queue_name)
    finally:
        await state.close()
    async with unit_of_work(db, None, write=False) as session:
        stalled = sorted(
            m.id or 0
            for m in (await session.exec(select(Material))).all()
            if m.processing_status in (ProcessingStatus.pending, ProcessingStatus.running)
            and m.sha256 != "f" * 64
        )
    found = sorted((j.function, tuple(j.args)) for j in queued)
    assert found == [("materials.process_film", (i,)) for i in stalled]
