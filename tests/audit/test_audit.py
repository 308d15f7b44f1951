"""The audit log: officers' and administrators' actions, with who did them, for admins only;
an erased person's e-mail address leaves it too."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.imports.command import _run
from hub.models import AuditAction, AuditEntry, Role, utcnow
from tests.factories import (
    api_token,
    bearer,
    csrf_from,
    csrf_token,
    login,
    make_contact,
    make_partner,
    make_user,
)
from tests.tracking.conftest import make_published

EN = {"Accept-Language": "en"}


async def entries(db: Database) -> list[AuditEntry]:
    async with unit_of_work(db, None, write=False) as session:
        return list((await session.exec(select(AuditEntry).order_by(AuditEntry.id))).all())


async def test_publishing_from_the_composer_is_logged_with_the_officer(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    published = await make_published(db, settings, status="draft")
    await login(client, published.officer.email)
    composer = await client.get(f"/campaigns/{published.campaign.id}")
    answer = await client.post(
        f"/campaigns/{published.campaign.id}/status",
        data={"action": "publish", "csrf_token": csrf_from(composer.text)},
    )
    assert answer.status_code == 303, answer.text
    [entry] = [e for e in await entries(db) if e.action is AuditAction.campaign_published]
    assert (entry.actor_id, entry.actor_label) == (published.officer.id, published.officer.email)
    assert (entry.target_type, entry.target_id) == ("campaign", published.campaign.id)
    assert entry.summary == published.campaign.title

    # Administrators read it on a page and through the API; officers do not.
    assert (await client.get("/audit")).status_code == 403
    token = await api_token(client, db, published.officer)
    assert (await client.get("/api/v1/audit", headers=bearer(token))).status_code == 403
    admin = await make_user(db, role=Role.admin)
    await login(anon_client, admin.email)
    page = await anon_client.get("/audit", headers=EN)
    assert page.status_code == 200
    assert "Published a campaign" in page.text and published.officer.email in page.text
    assert f'/campaigns/{published.campaign.id}">Published a campaign</a>' in page.text
    only = await anon_client.get("/audit", params={"action": "import.areas"}, headers=EN)
    assert "Nothing of this kind yet." in only.text
    admin_token = await api_token(anon_client, db, admin)
    listed = await anon_client.get(
        "/api/v1/audit", params={"action": "campaign.published"}, headers=bearer(admin_token)
    )
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1 and body["entries"][0]["actor"] == published.officer.email


async def test_scheduled_work_and_the_command_line_name_themselves(
    db: Database, settings: Settings
) -> None:
    published = await make_published(db, settings, status="draft")
    async with unit_of_work(db, None) as session:
        from hub.campaigns import service as campaigns

        campaign = await session.get(type(published.campaign), published.campaign.id)
        assert campaign is not None
        await campaigns.schedule_campaign(
            session, campaign, publish_at=utcnow() + timedelta(minutes=5)
        )
    async with unit_of_work(db, None) as session:
        from hub.campaigns import service as campaigns

        await campaigns.publish_due(session, now=utcnow() + timedelta(minutes=6))
    csv = b"code;name;kind;population\r\nKBH;Kommunen;municipality;1000\r\n"
    plan = await _run(settings, "areas", csv, commit=True)
    assert plan.committed
    logged = {e.action: e for e in await entries(db)}
    assert logged[AuditAction.campaign_published].actor_label == "Partner Hub"
    assert logged[AuditAction.campaign_published].actor_id is None
    imported = logged[AuditAction.import_areas]
    assert imported.actor_label == "hub import (command line)"
    assert "area: 1 new" in imported.summary


async def test_erasing_a_contact_removes_their_address_from_the_log(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    organisation = await make_partner(db, name="Boligforeningen")
    await login(client, admin.email)
    page = await client.get(f"/partners/{organisation.id}")
    invited = await client.post(
        f"/partners/{organisation.id}/contacts",
        data={
            "email": "hodan.secret@example.org",
            "name": "Hodan",
            "language": "so",
            "notify_by": "email",
            "org_role": "member",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert invited.status_code == 303, invited.text
    [invitation] = [e for e in await entries(db) if e.action is AuditAction.user_invited]
    assert "hodan.secret@example.org" in invitation.summary
    contact_id = invitation.target_id
    erased = await client.post(
        f"/contacts/{contact_id}/erase", data={"csrf_token": await csrf_token(client, "/")}
    )
    assert erased.status_code == 303, erased.text
    logged = await entries(db)
    assert [e.action for e in logged] == [AuditAction.user_invited, AuditAction.contact_erased]
    assert all("hodan" not in (e.summary + e.actor_label).lower() for e in logged)
    assert logged[1].actor_label == admin.email and logged[1].target_id == contact_id


async def test_offboarding_is_logged_once_not_per_member(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    organisation = await make_partner(db, name="Kulturforeningen")
    for _ in range(3):
        await make_contact(db, organisation)
    await login(client, officer.email)
    confirm = await client.get(f"/partners/{organisation.id}/offboard")
    done = await client.post(
        f"/partners/{organisation.id}/offboard", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert done.status_code == 303, done.text
    logged = await entries(db)
    assert [e.action for e in logged] == [AuditAction.partner_offboarded]
    assert logged[0].summary == "Kulturforeningen" and logged[0].actor_id == officer.id
