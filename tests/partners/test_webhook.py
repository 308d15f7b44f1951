"""A partner's webhook: set by officers or the organisation's coordinator, checked when saved,
with a signing secret that can be replaced."""

from __future__ import annotations

import httpx

from hub.config import Settings
from hub.db import Database
from hub.distribution import webhooks
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


async def test_officers_set_check_rotate_and_remove_a_webhook(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    officer = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    organisation = await make_partner(db)
    url = f"/api/v1/organisations/{organisation.id}/webhook"

    assert (await client.get(url, headers=officer)).json() == {"url": None, "secret": None}
    internal = await client.put(url, json={"url": "http://127.0.0.1:9/hook"}, headers=officer)
    assert internal.status_code == 422
    assert internal.json()["errors"][0]["field"] == "webhook_url"
    for bad in ("ftp://example.org/x", "https://user:pw@example.org/", "x" * 600):
        assert (await client.put(url, json={"url": bad}, headers=officer)).status_code == 422

    settings.webhook_allow_private = True
    saved = await client.put(url, json={"url": "http://127.0.0.1:9/hook"}, headers=officer)
    assert saved.status_code == 200, saved.text
    first = saved.json()["secret"]
    assert first.startswith(webhooks.SECRET_PREFIX)
    again = await client.put(url, json={"url": "http://127.0.0.1:9/other"}, headers=officer)
    assert again.json()["secret"] == first  # changing the address keeps the secret
    rotated = await client.post(f"{url}/rotate-secret", headers=officer)
    assert rotated.json()["secret"] not in (first, None)
    read = await client.get(f"/api/v1/organisations/{organisation.id}", headers=officer)
    assert read.json()["webhook_url"] == "http://127.0.0.1:9/other"

    assert (await client.delete(url, headers=officer)).status_code == 204
    assert (await client.get(url, headers=officer)).json() == {"url": None, "secret": None}
    assert (await client.post(f"{url}/rotate-secret", headers=officer)).status_code == 409


async def test_only_the_coordinator_of_the_organisation_manages_it(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    settings.webhook_allow_private = True
    organisation = await make_partner(db)
    other = await make_partner(db)
    coordinator = bearer(
        await api_token(client, db, await make_contact(db, organisation, coordinator=True))
    )
    member = bearer(await api_token(client, db, await make_contact(db, organisation)))
    stranger = bearer(await api_token(client, db, await make_contact(db, other, coordinator=True)))
    url = f"/api/v1/organisations/{organisation.id}/webhook"
    body = {"url": "http://127.0.0.1:9/hook"}

    assert (await client.put(url, json=body, headers=coordinator)).status_code == 200
    assert (await client.get(url, headers=coordinator)).json()["secret"]
    assert (await client.get(url, headers=member)).status_code == 403
    assert (await client.put(url, json=body, headers=member)).status_code == 403
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.put(url, json=body, headers=stranger)).status_code == 404


async def test_the_webhook_form_on_the_organisation_page(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    organisation = await make_partner(db, name="Moské Fællesskabet")
    coordinator = await make_contact(db, organisation, coordinator=True)
    await login(client, coordinator.email)
    page = await client.get("/organisation", headers=EN)
    assert 'id="webhook"' in page.text and "Save the address" in page.text
    token = csrf_from(page.text)
    action = f"/organisations/{organisation.id}/webhook"

    refused = await client.post(
        action,
        data={"csrf_token": token, "action": "save", "webhook_url": "http://10.0.0.7/x"},
        headers=EN,
    )
    assert refused.status_code == 422
    assert 'id="webhook_url-error"' in refused.text and "internal network address" in refused.text
    assert 'value="http://10.0.0.7/x"' in refused.text  # the input is kept

    settings.webhook_allow_private = True
    saved = await client.post(
        action, data={"csrf_token": token, "action": "save", "webhook_url": "http://10.0.0.7/x"}
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith(
        "/organisation?done=webhook-saved#webhook"
    )
    page = await client.get("/organisation", headers=EN)
    assert "Show the signing secret" in page.text and "whsec_" in page.text
    # Replacing the secret and removing the webhook break the partner's system: asked first.
    assert 'value="rotate"' not in page.text and 'value="remove"' not in page.text
    for step, done in (("rotate", "webhook-rotated"), ("remove", "webhook-removed")):
        confirm_url = f"/organisations/{organisation.id}/webhook/{step}"
        assert f'href="http://testserver{confirm_url}"' in page.text
        confirm = await client.get(confirm_url, headers=EN)
        assert confirm.status_code == 200
        assert "http://10.0.0.7/x" in confirm.text and f'value="{step}"' in confirm.text
        assert 'href="http://testserver/organisation#webhook">Cancel' in confirm.text
        assert "whsec_" in (await client.get("/organisation", headers=EN)).text  # not yet
        confirmed = await client.post(
            action, data={"csrf_token": csrf_from(confirm.text), "action": step}
        )
        assert confirmed.headers["location"].endswith(f"/organisation?done={done}#webhook")
    page = await client.get("/organisation?done=webhook-removed", headers=EN)
    assert "whsec_" not in page.text and "The webhook is removed." in page.text
    # Nothing left to remove: the confirmation leads back to the form.
    gone = await client.get(f"/organisations/{organisation.id}/webhook/remove")
    assert gone.status_code == 303 and gone.headers["location"].endswith("/organisation#webhook")


async def test_a_member_sees_no_webhook_form(client: httpx.AsyncClient, db: Database) -> None:
    organisation = await make_partner(db)
    member = await make_contact(db, organisation)
    await login(client, member.email)
    page = await client.get("/organisation", headers=EN)
    assert 'id="webhook"' not in page.text
    token = csrf_from(page.text)
    response = await client.post(
        f"/organisations/{organisation.id}/webhook",
        data={"csrf_token": token, "action": "save", "webhook_url": "https://example.org/"},
    )
    assert response.status_code == 403
    confirm = await client.get(f"/organisations/{organisation.id}/webhook/remove")
    assert confirm.status_code == 403
