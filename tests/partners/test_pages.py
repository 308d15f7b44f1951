"""Registry pages: officers register and edit partners; partners see their own page."""

from __future__ import annotations

import httpx

from hub.db import Database
from hub.models import OrganisationKind, Role
from tests.factories import (
    csrf_from,
    csrf_token,
    login,
    make_area,
    make_contact,
    make_partner,
    make_user,
)

EN = {"Accept-Language": "en"}
DA = {"Accept-Language": "da"}


async def test_labels_follow_each_requests_language(
    client: httpx.AsyncClient, db: Database
) -> None:
    """Labels kept in a template of their own (kinds, roles, statuses) are read in each
    request's language, not in that of the first page the process happened to render."""
    officer = await make_user(db, role=Role.officer)
    organisation = await make_partner(db, name="Moské Nord", kind=OrganisationKind.faith_community)
    await make_contact(db, organisation, coordinator=True)
    await login(client, officer.email)
    for headers, kind, role in (
        (EN, "Faith community", "Coordinator"),
        (DA, "Trossamfund", "Koordinator"),
        (EN, "Faith community", "Coordinator"),
    ):
        page = await client.get(f"/partners/{organisation.id}", headers=headers)
        assert kind in page.text and role in page.text, headers


async def test_officer_registers_a_partner_through_the_form(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    syd = await make_area(db, code="S", name="Sønderbro")
    await login(client, officer.email)
    empty = await client.get("/partners", headers=EN)
    assert "No partners yet." in empty.text
    form = await client.get("/partners/new", headers=EN)
    assert form.status_code == 200 and "Sønderbro" in form.text
    response = await client.post(
        "/partners/new",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "Somalisk Kulturforening",
            "kind": "association",
            "status": "active",
            "description": "Møder hver lørdag",
            "languages": "so, da",
            "area_ids": [str(syd)],
            "use_whatsapp": "yes",
            "estimate_whatsapp": "1.200",
            "estimate_meeting": "40",
            "external_id": "SK-1",
        },
    )
    assert response.status_code == 303
    detail = await client.get(response.headers["location"], headers=EN)
    assert detail.status_code == 200
    text = detail.text
    assert "Somalisk Kulturforening" in text and "The partner is saved." in text
    assert "WhatsApp (1200 people)" in text and "Meetings (40 people)" in text
    assert "Somali" in text and "Sønderbro" in text
    listing = await client.get("/partners?language=so", headers=EN)
    assert "Somalisk Kulturforening" in listing.text and "1 partner" in listing.text


async def test_bad_form_input_shows_errors_beside_fields_and_writes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    token = await csrf_token(client, "/partners/new")
    response = await client.post(
        "/partners/new",
        data={
            "csrf_token": token,
            "name": "",
            "kind": "club",
            "status": "active",
            "languages": "so xx-yy",
            "estimate_poster": "many",
        },
        headers=EN,
    )
    assert response.status_code == 400
    for field in ("name", "kind", "estimate_poster"):
        assert f'id="{field}-error"' in response.text
    assert 'value="many"' in response.text  # input kept
    bad_language = await client.post(
        "/partners/new",
        data={
            "csrf_token": token,
            "name": "X",
            "kind": "other",
            "status": "active",
            "languages": "so somali",
        },
        headers=EN,
    )
    assert bad_language.status_code == 400 and 'id="languages-error"' in bad_language.text
    assert "No partners yet." in (await client.get("/partners", headers=EN)).text


async def test_edit_invite_and_offboard_from_the_detail_page(
    client: httpx.AsyncClient, db: Database, mailbox: object
) -> None:
    officer = await make_user(db, role=Role.officer)
    organisation = await make_partner(
        db,
        name="Moskéen",
        kind=OrganisationKind.faith_community,
        languages=["ar"],
        channels=[("sermon", 300)],
    )
    await login(client, officer.email)
    edit = await client.get(f"/partners/{organisation.id}/edit")
    assert 'name="use_sermon" value="yes" checked' in edit.text
    saved = await client.post(
        f"/partners/{organisation.id}/edit",
        data={
            "csrf_token": csrf_from(edit.text),
            "name": "Moskéen Vest",
            "kind": "faith_community",
            "status": "paused",
            "languages": "ar ur",
            "use_sermon": "yes",
            "estimate_sermon": "350",
        },
    )
    assert saved.status_code == 303
    detail = await client.get(f"/partners/{organisation.id}", headers=EN)
    assert "Moskéen Vest" in detail.text and "Sermons (350 people)" in detail.text
    assert "Paused" in detail.text

    invited = await client.post(
        f"/partners/{organisation.id}/contacts",
        data={
            "csrf_token": csrf_from(detail.text),
            "email": "imam@example.org",
            "name": "Imam",
            "language": "ar",
            "notify_by": "both",
            "org_role": "coordinator",
        },
    )
    assert invited.status_code == 303
    detail = await client.get(f"/partners/{organisation.id}", headers=EN)
    assert "imam@example.org" in detail.text and "Coordinator" in detail.text
    bad = await client.post(
        f"/partners/{organisation.id}/contacts",
        data={"csrf_token": csrf_from(detail.text), "email": "imam@example.org"},
        headers=EN,
    )
    assert bad.status_code == 400 and "already exists" in bad.text

    confirm = await client.get(f"/partners/{organisation.id}/offboard", headers=EN)
    assert "signed out at once" in confirm.text
    done = await client.post(
        f"/partners/{organisation.id}/offboard", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert done.status_code == 303
    assert "Offboarded" in (await client.get(f"/partners/{organisation.id}", headers=EN)).text


async def test_partners_cannot_open_the_officer_pages(
    client: httpx.AsyncClient, db: Database
) -> None:
    organisation = await make_partner(db)
    contact = await make_contact(db, organisation, coordinator=True)
    await login(client, contact.email)
    for path in (
        "/partners",
        "/partners/new",
        f"/partners/{organisation.id}",
        f"/partners/{organisation.id}/edit",
        f"/partners/{organisation.id}/offboard",
    ):
        assert (await client.get(path)).status_code == 403, path


async def test_coordinator_edits_own_profile_and_manages_members(
    client: httpx.AsyncClient, db: Database, mailbox: object
) -> None:
    own = await make_partner(db, name="Bydelsmødrene", languages=["so"])
    other = await make_partner(db, name="Andre")
    coordinator = await make_contact(db, own, coordinator=True)
    member = await make_contact(db, own, email="member@example.org")
    stranger = await make_contact(db, other)
    await login(client, coordinator.email)
    page = await client.get("/organisation", headers=EN)
    assert page.status_code == 200 and "Bydelsmødrene" in page.text
    assert "member@example.org" in page.text and "Andre" not in page.text
    edit = await client.get("/organisation/edit")
    assert 'name="name"' not in edit.text  # the municipality keeps the name
    saved = await client.post(
        "/organisation/edit",
        data={
            "csrf_token": csrf_from(edit.text),
            "description": "Vi går dør-til-dør",
            "languages": "so ar",
            "use_door_to_door": "yes",
            "estimate_door_to_door": "500",
            "name": "Hijacked",
        },
    )
    assert saved.status_code == 303
    page = await client.get("/organisation", headers=EN)
    assert "Door-to-door (500 people)" in page.text and "Hijacked" not in page.text

    invited = await client.post(
        "/organisation/members",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "new@example.org",
            "language": "so",
            "org_role": "coordinator",
        },
    )
    assert invited.status_code == 303
    page = await client.get("/organisation", headers=EN)
    assert "new@example.org" in page.text
    assert (await client.get(f"/contacts/{stranger.id}/remove")).status_code == 404
    confirm = await client.get(f"/contacts/{member.id}/remove", headers=EN)
    assert "loses access" in confirm.text
    removed = await client.post(
        f"/contacts/{member.id}/remove", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert removed.status_code == 303 and removed.headers["location"].startswith("/organisation")


async def test_members_see_but_do_not_manage(client: httpx.AsyncClient, db: Database) -> None:
    own = await make_partner(db, name="Forening")
    await make_contact(db, own, coordinator=True, email="boss@example.org")
    member = await make_contact(db, own)
    await login(client, member.email)
    page = await client.get("/organisation", headers=EN)
    assert page.status_code == 200 and member.email in page.text
    assert "boss@example.org" not in page.text  # colleagues' details are the coordinator's
    assert "Invite a contact person" not in page.text
    assert (await client.get("/organisation/edit")).status_code == 403
    post = await client.post(
        "/organisation/members", data={"csrf_token": csrf_from(page.text), "email": "x@example.org"}
    )
    assert post.status_code == 403


async def test_staff_have_no_organisation_page(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    assert (await client.get("/organisation")).status_code == 404


async def test_admin_exports_and_erases_a_contact_from_the_page(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    organisation = await make_partner(db, name="Forening")
    contact = await make_contact(db, organisation, email="hodan@example.org")
    await login(client, admin.email)
    detail = await client.get(f"/partners/{organisation.id}", headers=EN)
    assert f"/api/v1/contacts/{contact.id}/export" in detail.text
    exported = await client.get(f"/api/v1/contacts/{contact.id}/export")
    assert exported.json()["contact"]["email"] == "hodan@example.org"
    confirm = await client.get(f"/contacts/{contact.id}/erase", headers=EN)
    assert "cannot be undone" in confirm.text
    erased = await client.post(
        f"/contacts/{contact.id}/erase", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert erased.status_code == 303
    detail = await client.get(f"/partners/{organisation.id}?done=contact-erased", headers=EN)
    assert "hodan@example.org" not in detail.text
    assert "personal data is erased" in detail.text


async def test_officers_cannot_erase(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    organisation = await make_partner(db)
    contact = await make_contact(db, organisation)
    await login(client, officer.email)
    assert (await client.get(f"/contacts/{contact.id}/erase")).status_code == 403
    detail = await client.get(f"/partners/{organisation.id}")
    assert f"/contacts/{contact.id}/erase" not in detail.text


async def test_invitation_can_be_sent_again_with_a_fresh_link(
    client: httpx.AsyncClient, db: Database, settings: object, mailbox: object
) -> None:
    import re

    from tests.test_worker_e2e import run_burst_worker

    officer = await make_user(db, role=Role.officer)
    organisation = await make_partner(db, name="Forening")
    await login(client, officer.email)
    detail = await client.get(f"/partners/{organisation.id}")
    await client.post(
        f"/partners/{organisation.id}/contacts",
        data={"csrf_token": csrf_from(detail.text), "email": "late@example.org"},
    )
    await run_burst_worker(settings)  # type: ignore[arg-type]
    detail = await client.get(f"/partners/{organisation.id}", headers=EN)
    assert "Send the invitation again" in detail.text
    contact_id = re.search(r"/contacts/(\d+)/invitation", detail.text).group(1)  # type: ignore[union-attr]
    again = await client.post(
        f"/contacts/{contact_id}/invitation", data={"csrf_token": csrf_from(detail.text)}
    )
    assert again.status_code == 303
    await run_burst_worker(settings)  # type: ignore[arg-type]
    first, second = mailbox.to("late@example.org")  # type: ignore[attr-defined]

    def link(message: object) -> str:
        for part in message.walk():  # type: ignore[attr-defined]
            if part.get_content_type() == "text/plain":
                text = part.get_payload(decode=True).decode()
                return re.search(r"http://testserver(/invitation/\S+)", text).group(1)  # type: ignore[union-attr]
        raise AssertionError

    assert (await client.get(link(first))).status_code == 404  # the old link stopped working
    assert (await client.get(link(second))).status_code == 200
