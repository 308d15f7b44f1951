"""The officer's sending page: progress, controls with confirmation, the delivery list."""

from __future__ import annotations

import httpx

from hub.config import Settings
from hub.db import Database
from hub.models import Role
from tests.conftest import Mailbox
from tests.distribution.conftest import add_contact, deliveries, draft, publish
from tests.factories import csrf_from, login, make_contact, make_partner, make_user
from tests.test_worker_e2e import run_burst_worker

EN = {"Accept-Language": "en"}


async def test_the_sending_page_shows_progress_and_the_controls_work(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
) -> None:
    somali = await make_partner(db, name="Somalisk Forældrenetværk", languages=["so"])
    await add_contact(db, somali)
    await add_contact(db, somali, email="reject-page@example.org")
    campaign_id = await publish(client, officer, languages=["so"])
    user = await make_user(db, role=Role.officer)
    await login(client, user.email)
    url = f"/campaigns/{campaign_id}/sending"

    page = await client.get(url, headers=EN)
    assert page.status_code == 200
    assert 'data-progress-url="/api/v1/campaigns/' in page.text
    assert 'data-count="queued">2<' in page.text
    assert "js/progress.js" in page.text

    paused = await client.post(f"{url}/pause", data={"csrf_token": csrf_from(page.text)})
    assert paused.status_code == 303 and "done=sending-paused" in paused.headers["location"]
    page = await client.get(url, headers=EN)
    assert "Resume sending" in page.text and "Paused" in page.text
    await client.post(f"{url}/resume", data={"csrf_token": csrf_from(page.text)})
    await run_burst_worker(settings)

    page = await client.get(url, headers=EN)
    assert 'value="100"' in page.text
    assert "Retry 1 failed delivery" in page.text
    failed = await client.get(url, params={"state": "failed"}, headers=EN)
    assert "550" in failed.text and "Somalisk Forældrenetværk" in failed.text
    assert "1 delivery" in failed.text

    confirm = await client.get(f"{url}/cancel", headers=EN)
    assert confirm.status_code == 200 and "cannot be resumed" in confirm.text
    done = await client.post(f"{url}/cancel", data={"csrf_token": csrf_from(confirm.text)})
    assert done.status_code == 303
    refused = await client.post(f"{url}/resume", data={"csrf_token": csrf_from(confirm.text)})
    assert refused.status_code == 409
    assert "cancelled" in refused.text
    assert len(await deliveries(db, campaign_id)) == 2


async def test_partners_and_strangers_do_not_see_the_sending(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database, officer: dict[str, str]
) -> None:
    somali = await make_partner(db, languages=["so"])
    contact = await make_contact(db, somali)
    campaign_id = await publish(client, officer, languages=["so"])
    anonymous = await anon_client.get(f"/campaigns/{campaign_id}/sending")
    assert anonymous.status_code in (303, 307) or "/login" in str(anonymous.url)
    await login(client, contact.email)
    assert (await client.get(f"/campaigns/{campaign_id}/sending")).status_code in (403, 404)
    api = await client.get(f"/api/v1/campaigns/{campaign_id}/deliveries")
    assert api.status_code == 403
    post = await client.post(f"/campaigns/{campaign_id}/sending/pause", data={"csrf_token": "x"})
    assert post.status_code in (403, 404)


async def test_an_unknown_action_is_404(
    client: httpx.AsyncClient, db: Database, officer: dict[str, str]
) -> None:
    await make_partner(db, languages=["so"])
    campaign_id = await publish(client, officer, languages=["so"])
    user = await make_user(db, role=Role.officer)
    await login(client, user.email)
    page = await client.get(f"/campaigns/{campaign_id}/sending")
    response = await client.post(
        f"/campaigns/{campaign_id}/sending/explode", data={"csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 404


async def test_publishing_from_the_composer_notifies_and_the_progress_reaches_100(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
) -> None:
    somali = await make_partner(db, languages=["so"])
    contacts = [await add_contact(db, somali) for _ in range(3)]
    campaign_id = await draft(client, officer, languages=["so"])
    user = await make_user(db, role=Role.officer)
    await login(client, user.email)
    composer = await client.get(f"/campaigns/{campaign_id}", headers=EN)
    assert "data-progress-url" not in composer.text  # nothing sent before publishing
    published = await client.post(
        f"/campaigns/{campaign_id}/status",
        data={"csrf_token": csrf_from(composer.text), "action": "publish"},
    )
    assert published.status_code == 303, published.text
    composer = await client.get(f"/campaigns/{campaign_id}", headers=EN)
    assert 'data-count="queued">3<' in composer.text and 'value="0"' in composer.text
    await run_burst_worker(settings)
    composer = await client.get(f"/campaigns/{campaign_id}", headers=EN)
    assert 'data-count="sent">3<' in composer.text and 'value="100"' in composer.text
    assert all(len(mailbox.to(c.email)) == 1 for c in contacts)
