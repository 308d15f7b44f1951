"""Sign-in by e-mailed link: real SMTP, burst worker, a confirm page that only POST uses."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import OneTimeToken, TokenPurpose
from tests.conftest import Mailbox
from tests.factories import csrf_from, csrf_token, make_contact, make_partner
from tests.test_worker_e2e import run_burst_worker


def _text(message: object) -> str:
    for part in message.walk():  # type: ignore[attr-defined]
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("no text part")


async def _request_link(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(
        "/login/link",
        data={"email": email, "csrf_token": await csrf_token(client)},
        headers={"Accept-Language": "en"},
    )


async def test_partner_signs_in_with_an_emailed_link(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    mailbox: Mailbox,
) -> None:
    organisation = await make_partner(db, name="Bydelsmødrene")
    contact = await make_contact(db, organisation, email="hodan@example.org", password=None)
    answer = await _request_link(client, "Hodan@Example.org")
    assert answer.status_code == 200
    assert "a sign-in link is on its way" in answer.text

    await run_burst_worker(settings)
    [message] = mailbox.to("hodan@example.org")
    assert message["Subject"] == "Your sign-in link for Partner Hub"
    path = re.search(r"http://testserver(/login/link/\S+)", _text(message)).group(1)  # type: ignore[union-attr]
    assert "15 minutes" in _text(message)

    # A mail scanner (or the user twice) opening the link does not use it up.
    for _ in range(2):
        page = await anon_client.get(path)
        assert page.status_code == 200
        assert "hub_session" not in anon_client.cookies
    assert page.headers["referrer-policy"] == "no-referrer"
    signed_in = await anon_client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert signed_in.status_code == 303
    home = await anon_client.get("/")
    assert home.status_code == 200 and contact.email in home.text
    # Used once: gone.
    assert (await anon_client.get(path)).status_code == 404
    replay = await anon_client.post(path, data={"csrf_token": await csrf_token(anon_client, "/")})
    assert replay.status_code == 404


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        ("/portal/campaigns/7", "/portal/campaigns/7"),
        ("/portal/campaigns?q=vaccine", "/portal/campaigns?q=vaccine"),
        ("https://evil.example/phish", "/"),
        ("//evil.example", "/"),
    ],
)
async def test_the_link_leads_where_the_user_was_going(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    mailbox: Mailbox,
    asked: str,
    lands: str,
) -> None:
    """A campaign e-mail's link meets the sign-in page; the link asked for there carries the
    page on, and signing in with it lands there — never on another site."""
    organisation = await make_partner(db, name="Bydelsmødrene")
    await make_contact(db, organisation, email="hodan@example.org", password=None)
    form = await client.get("/login", params={"next": asked})
    answer = await client.post(
        "/login/link",
        data={"email": "hodan@example.org", "next": asked, "csrf_token": csrf_from(form.text)},
    )
    assert answer.status_code == 200

    await run_burst_worker(settings)
    [message] = mailbox.to("hodan@example.org")
    link = re.search(r"http://testserver(/login/link/\S+)", _text(message))
    assert link is not None
    path = link.group(1)
    assert ("?next=" in path) is (lands != "/")
    page = await anon_client.get(path)
    signed_in = await anon_client.post(
        path.split("?")[0],
        data={"csrf_token": csrf_from(page.text), "next": _form_next(page.text)},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == lands


def _form_next(html: str) -> str:
    """The sign-in form's ``next`` (the page's last; the language picker has one too)."""
    return re.findall(r'name="next" value="([^"]*)"', html)[-1].replace("&amp;", "&")


async def test_unknown_address_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, db: Database, settings: Settings, mailbox: Mailbox
) -> None:
    organisation = await make_partner(db)
    await make_contact(db, organisation, email="known@example.org")
    known = await _request_link(client, "known@example.org")
    unknown = await _request_link(client, "unknown@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("known@", "X@") == unknown.text.replace("unknown@", "X@").replace(
        csrf_from(unknown.text), csrf_from(known.text)
    )
    await run_burst_worker(settings)
    assert mailbox.to("unknown@example.org") == []
    assert len(mailbox.to("known@example.org")) == 1


async def test_links_expire_within_15_minutes(
    client: httpx.AsyncClient, db: Database, settings: Settings, mailbox: Mailbox
) -> None:
    organisation = await make_partner(db)
    await make_contact(db, organisation, email="clock@example.org")
    await _request_link(client, "clock@example.org")
    await run_burst_worker(settings)
    [message] = mailbox.to("clock@example.org")
    raw = re.search(r"/login/link/(\S+)", _text(message)).group(1)  # type: ignore[union-attr]
    async with unit_of_work(db, None) as session:
        token = (
            await session.exec(
                select(OneTimeToken).where(OneTimeToken.purpose == TokenPurpose.magic_link)
            )
        ).one()
        assert timedelta(minutes=14) < token.expires_at - token.created_at <= timedelta(minutes=15)
        assert raw not in token.token_hash  # stored hashed
        token.expires_at = token.created_at - timedelta(seconds=1)
        session.add(token)
    assert (await client.get(f"/login/link/{raw}")).status_code == 404


async def test_link_requests_are_throttled_silently(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time as time_module

    organisation = await make_partner(db)
    await make_contact(db, organisation, email="spam@example.org")
    clock = [1_800_000_000.0]
    monkeypatch.setattr(time_module, "time", lambda: clock[0])
    for _ in range(settings.magic_link_max_per_window + 3):
        clock[0] += 61  # a new minute each time: no folding into one e-mail
        assert (await _request_link(client, "spam@example.org")).status_code == 200
    monkeypatch.undo()
    await run_burst_worker(settings)
    # Every request in the window up to the cap got its e-mail, none beyond.
    assert len(mailbox.to("spam@example.org")) == settings.magic_link_max_per_window


async def test_disabled_contact_gets_no_link(
    client: httpx.AsyncClient, db: Database, settings: Settings, mailbox: Mailbox
) -> None:
    organisation = await make_partner(db)
    contact = await make_contact(db, organisation, email="gone@example.org")
    async with unit_of_work(db, None) as session:
        from hub.partners import service as partners

        await partners.offboard_organisation(session, organisation)
    await _request_link(client, contact.email)
    await run_burst_worker(settings)
    assert mailbox.to("gone@example.org") == []


async def test_invited_partner_accepts_the_data_processing_agreement(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    mailbox: Mailbox,
) -> None:
    from hub.models import Role
    from tests.factories import api_token, bearer, make_user

    organisation = await make_partner(db, name="Ny Forening", status="invited", agreement=False)
    officer_h = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    invited = await client.post(
        f"/api/v1/organisations/{organisation.id}/contacts",
        json={
            "email": "leila@example.org",
            "name": "Leila",
            "language": "en",
            "org_role": "coordinator",
        },
        headers=officer_h,
    )
    assert invited.status_code == 201
    before = (
        await client.get(f"/api/v1/organisations/{organisation.id}", headers=officer_h)
    ).json()
    assert before["dpa_accepted_at"] is None and before["status"] == "invited"
    await run_burst_worker(settings)
    [message] = mailbox.to("leila@example.org")
    path = re.search(r"http://testserver(/invitation/\S+)", _text(message)).group(1)  # type: ignore[union-attr]
    form = await anon_client.get(path, headers={"Accept-Language": "en"})
    assert "Data-processing agreement" in form.text
    data = {
        "password": "leila's long password",
        "password_again": "leila's long password",
        "csrf_token": csrf_from(form.text),
    }
    refused = await anon_client.post(path, data=data, headers={"Accept-Language": "en"})
    assert refused.status_code == 400 and 'id="accept_dpa-error"' in refused.text
    accepted = await anon_client.post(path, data={**data, "accept_dpa": "yes"})
    assert accepted.status_code == 303
    org = (await client.get(f"/api/v1/organisations/{organisation.id}", headers=officer_h)).json()
    assert org["status"] == "active"
    assert org["dpa_version"] == settings.dpa_version and org["dpa_accepted_at"] is not None
