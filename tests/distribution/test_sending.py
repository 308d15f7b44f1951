"""Publishing reaches every addressed contact on the channels they chose: e-mail over a real
SMTP server, SMS and webhooks to a real HTTP receiver, with retries and final failures."""

from __future__ import annotations

import json
from collections import Counter
from email.header import decode_header, make_header

import httpx
import pytest

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.distribution import service, webhooks
from hub.models import DeliveryChannel, DeliveryState, NotifyBy
from hub.state import HubState
from tests.conftest import Mailbox
from tests.distribution.conftest import (
    add_contact,
    deliveries,
    make_retries_due,
    publish,
    set_webhook,
)
from tests.factories import make_partner
from tests.receiver import Receiver
from tests.test_worker_e2e import _text_part, run_burst_worker
from workers import distribution as distribution_jobs

S = DeliveryState


async def _sweep_and_run(settings: Settings) -> None:
    state = await HubState.open(settings)
    try:
        await distribution_jobs.sweep({"hub": state})
    finally:
        await state.close()
    await run_burst_worker(settings)


async def test_publishing_writes_one_delivery_per_contact_and_channel(
    client: httpx.AsyncClient, db: Database, officer: dict[str, str], receiver: Receiver
) -> None:
    somali = await make_partner(db, languages=["so"])
    other = await make_partner(db, languages=["tr"])
    mail = await add_contact(db, somali, notify_by=NotifyBy.email)
    both = await add_contact(db, somali, notify_by=NotifyBy.both, phone="+45 20 30 40 50")
    await add_contact(db, somali, notify_by=NotifyBy.none)
    await add_contact(db, somali, notify_by=NotifyBy.sms)  # no phone: nothing to send to
    await add_contact(db, other, notify_by=NotifyBy.email)  # not addressed
    await set_webhook(db, somali, f"{receiver.url}/hook")

    campaign_id = await publish(client, officer, languages=["so"])
    rows = await deliveries(db, campaign_id)
    assert sorted((d.channel, d.recipient_key) for d in rows) == sorted(
        [
            (DeliveryChannel.email, f"contact:{mail.id}"),
            (DeliveryChannel.email, f"contact:{both.id}"),
            (DeliveryChannel.sms, f"contact:{both.id}"),
            (DeliveryChannel.webhook, f"organisation:{somali.id}"),
        ]
    )
    assert {d.state for d in rows} == {S.queued}

    # Closing and reopening does not notify again.
    await client.post(f"/api/v1/campaigns/{campaign_id}/close", headers=officer)
    await client.post(f"/api/v1/campaigns/{campaign_id}/publish", headers=officer)
    assert len(await deliveries(db, campaign_id)) == 4


async def test_every_channel_is_sent_once_and_progress_reaches_100(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
    receiver: Receiver,
) -> None:
    settings.sms_gateway_url = f"{receiver.url}/sms"
    somali = await make_partner(db, languages=["so"])
    contacts = [await add_contact(db, somali) for _ in range(5)]
    texter = await add_contact(
        db, somali, notify_by=NotifyBy.sms, phone="20 30 40 50", language="da"
    )
    secret = await set_webhook(db, somali, f"{receiver.url}/hook")
    campaign_id = await publish(client, officer, languages=["so"])

    before = (await client.get(f"/api/v1/campaigns/{campaign_id}/sending", headers=officer)).json()
    assert before["counts"]["queued"] == 7 and before["percent"] == 0

    await run_burst_worker(settings)

    rows = await deliveries(db, campaign_id)
    assert {d.state for d in rows} == {S.sent}
    assert all(d.attempts == 1 and d.sent_at for d in rows)
    after = (await client.get(f"/api/v1/campaigns/{campaign_id}/sending", headers=officer)).json()
    assert after["percent"] == 100 and after["counts"]["sent"] == 7

    # E-mail: text and HTML in the contact's language, a stable Message-ID, the kit link.
    by_delivery = {d.contact_id: d for d in rows if d.channel == DeliveryChannel.email}
    for contact in contacts:
        [message] = mailbox.to(contact.email)
        assert message["Message-ID"] == f"<delivery-{by_delivery[contact.id].id}@testserver>"
        subject = str(make_header(decode_header(message["Subject"])))
        assert subject == "New campaign from the municipality: Vaccination før vinteren"
        text = _text_part(message)
        assert f"http://testserver/portal/campaigns/{campaign_id}" in text
        assert contact.name in text or contact.email in text
        assert message.is_multipart()

    # SMS: through the gateway with its auth header, in Danish, within one segment here.
    [sms] = [r for r in receiver.requests if r.path == "/sms"]
    assert sms.headers["authorization"] == "Bearer gateway-test-key"
    body = json.loads(sms.body)
    assert body["to"] == "+4520304050" and body["from"] == settings.sms_sender
    assert "Ny kampagne" in body["text"] and f"/portal/campaigns/{campaign_id}" in body["text"]
    assert texter.id in {d.contact_id for d in rows if d.channel == DeliveryChannel.sms}

    # Webhook: a Standard Webhooks signature the partner can verify with its secret.
    [hook] = [r for r in receiver.requests if r.path == "/hook"]
    assert webhooks.verify(
        secret,
        message_id=hook.headers["webhook-id"],
        timestamp=int(hook.headers["webhook-timestamp"]),
        body=hook.body,
        header=hook.headers["webhook-signature"],
    )
    event = json.loads(hook.body)
    assert event["type"] == "campaign.published"
    assert event["data"]["campaign_id"] == campaign_id

    # Run everything again: nothing is sent twice.
    await _sweep_and_run(settings)
    assert len(mailbox.messages) == 5 and len(receiver.requests) == 2


async def test_temporary_failures_retry_on_the_schedule_and_permanent_ones_fail_at_once(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
    receiver: Receiver,
) -> None:
    somali = await make_partner(db, languages=["so"])
    busy = await add_contact(db, somali, email="busy-mailbox@example.org")
    gone = await add_contact(db, somali, email="rejected@example.org")
    fine = await add_contact(db, somali)
    await set_webhook(db, somali, f"{receiver.url}/hook")
    receiver.script = [503, 503, 503]  # then 200
    campaign_id = await publish(client, officer, languages=["so"])

    await run_burst_worker(settings)
    rows = {d.recipient_key: d for d in await deliveries(db, campaign_id)}
    assert rows[f"contact:{fine.id}"].state == S.sent
    permanent = rows[f"contact:{gone.id}"]
    assert permanent.state == S.failed and permanent.attempts == 1
    assert "550" in (permanent.last_error or "")
    temporary = rows[f"contact:{busy.id}"]
    assert temporary.state == S.retrying and "451" in (temporary.last_error or "")
    assert temporary.next_attempt_at is not None and temporary.first_attempt_at is not None
    wait = temporary.next_attempt_at - (temporary.updated_at or temporary.first_attempt_at)
    assert 55 <= wait.total_seconds() <= 65  # the first step of the schedule: one minute
    hook = rows[f"organisation:{somali.id}"]
    assert hook.state == S.retrying and "503" in (hook.last_error or "")

    for _ in range(3):
        await make_retries_due(db)
        await _sweep_and_run(settings)
    rows = {d.recipient_key: d for d in await deliveries(db, campaign_id)}
    assert rows[f"organisation:{somali.id}"].state == S.sent
    assert rows[f"organisation:{somali.id}"].attempts == 4
    assert rows[f"contact:{busy.id}"].state == S.retrying
    assert rows[f"contact:{busy.id}"].attempts == 4
    assert rows[f"contact:{gone.id}"].attempts == 1  # never tried again
    hooks = [r for r in receiver.requests if r.path == "/hook"]
    assert [r.headers["webhook-id"] for r in hooks] == [hooks[0].headers["webhook-id"]] * 4

    # Out of attempts: failed for good, with the last error kept.
    for _ in range(2):
        await make_retries_due(db)
        await _sweep_and_run(settings)
    final = {d.recipient_key: d for d in await deliveries(db, campaign_id)}[f"contact:{busy.id}"]
    assert final.state == S.failed and final.attempts == 6 and "451" in (final.last_error or "")


async def test_a_client_error_from_a_receiver_is_final(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    receiver: Receiver,
) -> None:
    somali = await make_partner(db, languages=["so"])
    await set_webhook(db, somali, f"{receiver.url}/hook")
    receiver.default = 400
    campaign_id = await publish(client, officer, languages=["so"])
    await run_burst_worker(settings)
    [hook] = await deliveries(db, campaign_id)
    assert hook.state == S.failed and hook.attempts == 1
    assert "HTTP 400" in (hook.last_error or "")


async def test_webhooks_to_internal_addresses_are_refused_unless_allowed(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    receiver: Receiver,
) -> None:
    settings.webhook_allow_private = False
    somali = await make_partner(db, languages=["so"])
    await set_webhook(db, somali, f"{receiver.url}/hook")
    campaign_id = await publish(client, officer, languages=["so"])
    await run_burst_worker(settings)
    [hook] = await deliveries(db, campaign_id)
    assert hook.state == S.failed and "internal network address" in (hook.last_error or "")
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
async def test_internal_targets(url: str) -> None:
    with pytest.raises(webhooks.UnsafeTarget):
        await webhooks.check_target(url, allow_private=False)
    assert await webhooks.check_target(url, allow_private=True) == url


async def test_unsupported_webhook_urls_are_refused() -> None:
    for url in ("ftp://example.org/", "https://user:pw@example.org/", "https:///nohost", "x"):
        with pytest.raises(webhooks.UnsafeTarget):
            await webhooks.check_target(url, allow_private=True)


async def test_pause_resume_cancel_and_retry_failed(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
) -> None:
    somali = await make_partner(db, languages=["so"])
    for _ in range(3):
        await add_contact(db, somali)
    gone = await add_contact(db, somali, email="reject-me@example.org")
    campaign_id = await publish(client, officer, languages=["so"])
    base = f"/api/v1/campaigns/{campaign_id}/sending"

    paused = await client.post(f"{base}/pause", headers=officer)
    assert paused.status_code == 200 and paused.json()["progress"]["paused"] is True
    await run_burst_worker(settings)
    assert mailbox.messages == []
    assert {d.state for d in await deliveries(db, campaign_id)} == {S.queued}

    resumed = await client.post(f"{base}/resume", headers=officer)
    assert resumed.status_code == 200, resumed.text
    await run_burst_worker(settings)
    counts = Counter(d.state for d in await deliveries(db, campaign_id))
    assert counts == {S.sent: 3, S.failed: 1}

    retried = await client.post(f"{base}/retry-failed", headers=officer)
    assert retried.json()["changed"] == 1
    await run_burst_worker(settings)
    failed = [d for d in await deliveries(db, campaign_id) if d.state == S.failed]
    assert [d.contact_id for d in failed] == [gone.id] and failed[0].attempts == 1
    assert len(mailbox.to("reject-me@example.org")) == 0
    assert len(mailbox.messages) == 3

    cancelled = await client.post(f"{base}/cancel", headers=officer)
    assert cancelled.status_code == 200 and cancelled.json()["changed"] == 0
    again = await client.post(f"{base}/resume", headers=officer)
    assert again.status_code == 409


async def test_cancel_stops_what_is_not_sent(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
) -> None:
    somali = await make_partner(db, languages=["so"])
    for _ in range(4):
        await add_contact(db, somali)
    campaign_id = await publish(client, officer, languages=["so"])
    cancelled = await client.post(
        f"/api/v1/campaigns/{campaign_id}/sending/cancel", headers=officer
    )
    assert cancelled.json()["changed"] == 4
    await run_burst_worker(settings)
    assert mailbox.messages == []
    assert {d.state for d in await deliveries(db, campaign_id)} == {S.cancelled}


async def test_a_flushed_redis_loses_nothing(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
) -> None:
    somali = await make_partner(db, languages=["so"])
    for _ in range(6):
        await add_contact(db, somali)
    campaign_id = await publish(client, officer, languages=["so"])
    state = await HubState.open(settings)
    try:
        # Every queued job of this test is gone, as after FLUSHALL.
        keys = [k async for k in state.redis.scan_iter(match=f"{settings.redis_prefix}*")]
        queue_keys = [k async for k in state.redis.scan_iter(match=f"{settings.queue_name}*")]
        arq_keys = [k async for k in state.redis.scan_iter(match="arq:*")]
        for key in keys + queue_keys + arq_keys:
            await state.redis.delete(key)
    finally:
        await state.close()
    await run_burst_worker(settings)
    assert mailbox.messages == []
    # A while later the sweep finds the deliveries nobody claimed.
    async with unit_of_work(db, None) as session:
        from datetime import timedelta

        import sqlalchemy as sa

        from hub.models import Delivery, utcnow

        await session.exec(
            sa.update(Delivery).values(created_at=utcnow() - service.QUEUED_GRACE - timedelta(1))
        )
    await _sweep_and_run(settings)
    assert {d.state for d in await deliveries(db, campaign_id)} == {S.sent}
    assert len(mailbox.messages) == 6


async def test_the_weekly_cap_per_contact(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
    mailbox: Mailbox,
) -> None:
    settings.notifications_per_contact_per_week = 2
    somali = await make_partner(db, languages=["so"])
    contact = await add_contact(db, somali)
    campaigns = []
    for _ in range(3):
        campaigns.append(await publish(client, officer, languages=["so"]))
        await run_burst_worker(settings)
    assert len(mailbox.to(contact.email)) == 2
    [capped] = await deliveries(db, campaigns[-1])
    assert capped.state == S.failed and "2 notifications a week" in (capped.last_error or "")


async def test_the_delivery_list_filters_and_exports(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    officer: dict[str, str],
) -> None:
    somali = await make_partner(db, name="Somali Kvindeforening", languages=["so"])
    await add_contact(db, somali)
    await add_contact(db, somali, email="reject-x@example.org")
    campaign_id = await publish(client, officer, languages=["so"])
    await run_burst_worker(settings)
    base = f"/api/v1/campaigns/{campaign_id}/deliveries"
    failed = (await client.get(base, params={"state": "failed"}, headers=officer)).json()
    assert failed["total"] == 1 and "550" in failed["items"][0]["last_error"]
    by_org = await client.get(base, params={"organisation_id": somali.id}, headers=officer)
    assert by_org.json()["total"] == 2
    csv = await client.get(f"{base}.csv", params={"state": "failed"}, headers=officer)
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("delivery_id;organisation;contact;channel;state")
    assert len(lines) == 2 and "Somali Kvindeforening" in lines[1] and "550" in lines[1]
    bad = await client.get(base, params={"state": "lost"}, headers=officer)
    assert bad.status_code == 422
