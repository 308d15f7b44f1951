"""No access for a partner's people until the organisation accepted the current agreement."""

from __future__ import annotations

import httpx

from hub.config import Settings
from hub.db import Database
from hub.models import Role
from tests.factories import (
    api_token,
    bearer,
    csrf_from,
    login,
    make_contact,
    make_partner,
    make_user,
)

EN = {"Accept-Language": "en"}


async def test_partner_without_agreement_is_sent_to_accept_it_first(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    organisation = await make_partner(db, name="Imported Forening", agreement=False)
    contact = await make_contact(db, organisation)  # e.g. from a CSV import, never invited
    token = await api_token(client, db, contact)
    await login(client, contact.email)

    page = await client.get("/organisation")
    assert page.status_code == 303
    assert page.headers["location"] == "/organisation/agreement?next=/organisation"
    api = await client.get("/api/v1/me", headers=bearer(token))
    assert api.status_code == 403 and api.json()["type"] == "/problems/agreement-required"

    form = await client.get("/organisation/agreement?next=/organisation", headers=EN)
    assert "must accept the data-processing agreement" in form.text
    refused = await client.post(
        "/organisation/agreement",
        data={"csrf_token": csrf_from(form.text), "next": "/organisation"},
        headers=EN,
    )
    assert refused.status_code == 400 and 'id="accept_dpa-error"' in refused.text
    accepted = await client.post(
        "/organisation/agreement",
        data={"csrf_token": csrf_from(form.text), "next": "/organisation", "accept_dpa": "yes"},
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/organisation?done=agreement-accepted"
    thanked = await client.get(accepted.headers["location"], headers=EN)
    assert thanked.status_code == 200
    assert "Your organisation has accepted the data-processing agreement." in thanked.text
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200

    officer_h = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    org = (await client.get(f"/api/v1/organisations/{organisation.id}", headers=officer_h)).json()
    assert org["dpa_version"] == settings.dpa_version and org["dpa_accepted_at"]


async def test_a_new_agreement_version_is_asked_for_again(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    from asgi_lifespan import LifespanManager

    from hub.main import create_app

    organisation = await make_partner(db)  # accepted the current version
    contact = await make_contact(db, organisation)
    app = create_app(settings.model_copy(update={"dpa_version": "2027-1"}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            await login(c, contact.email)
            response = await c.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/organisation/agreement")


async def test_staff_are_never_asked(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/organisation/agreement")).status_code == 404
