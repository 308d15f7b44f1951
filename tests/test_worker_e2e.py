"""End to end through a burst arq worker on real Redis and a real SMTP server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from arq import Retry

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import OneTimeToken, Role
from hub.state import HubState
from tests.conftest import Mailbox
from tests.factories import csrf_from, csrf_token, login, make_user
from workers import auth as auth_jobs
from workers import build_worker


async def run_burst_worker(settings: Settings) -> None:
    worker = build_worker(settings, burst=True, poll_delay=0.05, handle_signals=False)
    try:
        await worker.async_run()
    finally:
        await worker.close()


def _text_part(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("no text part")


async def test_invited_officer_gets_the_email_and_signs_up(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    mailbox: Mailbox,
) -> None:
    admin = await make_user(db, role=Role.admin)
    await login(client, admin.email)
    page = await client.get("/users")
    response = await client.post(
        "/users",
        data={
            "email": "nina@example.org",
            "name": "Nina Jensen",
            "role": "officer",
            "organisation_id": "",
            "language": "en",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    assert mailbox.to("nina@example.org") == []  # the page does not send mail itself

    await run_burst_worker(settings)

    [message] = mailbox.to("nina@example.org")
    assert message["Subject"] == "You are invited to Partner Hub"
    assert message.is_multipart()
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    body = _text_part(message)
    assert "Hello Nina Jensen," in body
    link = re.search(r"http://testserver(/invitation/\S+)", body)
    assert link, body
    path = link.group(1)

    form = await anon_client.get(path)
    assert form.status_code == 200 and "nina@example.org" in form.text
    accepted = await anon_client.post(
        path,
        data={
            "password": "nina's long password",
            "password_again": "nina's long password",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert accepted.status_code == 303
    assert "Nina Jensen" in (await anon_client.get("/")).text
    # The link is single-use.
    assert (await anon_client.get(path)).status_code == 404
    # And the new password signs in from a fresh browser.
    await anon_client.post("/logout", data={"csrf_token": await csrf_token(anon_client, "/")})
    assert (await login(anon_client, "nina@example.org", "nina's long password")).status_code == 303


async def test_invitation_is_written_in_the_users_language(
    client: httpx.AsyncClient, db: Database, settings: Settings, mailbox: Mailbox
) -> None:
    admin = await make_user(db, role=Role.admin)
    await login(client, admin.email)
    await client.post(
        "/users",
        data={
            "email": "mette@example.org",
            "name": "Mette",
            "role": "officer",
            "language": "da",
            "csrf_token": await csrf_token(client, "/users"),
        },
    )
    await run_burst_worker(settings)
    [message] = mailbox.to("mette@example.org")
    assert message["Content-Language"] == "da"
    assert message["Subject"] != "You are invited to Partner Hub"
    assert "Hej Mette" in _text_part(message)


@pytest.fixture
async def hub_state(settings: Settings) -> Any:
    state = await HubState.open(settings)
    yield state
    await state.close()


async def test_unreachable_smtp_server_retries_later(
    db: Database, settings: Settings, hub_state: HubState
) -> None:
    user = await make_user(db, password=None)
    hub_state.settings = settings.model_copy(update={"smtp_port": 1})
    hub_state.mailer.settings = hub_state.settings
    with pytest.raises(Retry) as retry:
        await auth_jobs.send_invitation({"hub": hub_state, "job_try": 1}, user.id)  # type: ignore[arg-type]
    assert retry.value.defer_score == 30_000
    last = await auth_jobs.send_invitation(
        {"hub": hub_state, "job_try": len(auth_jobs.RETRY_DELAYS) + 1},
        user.id,  # type: ignore[arg-type]
    )
    assert last.startswith("failed")


async def test_refused_address_is_a_permanent_failure(
    db: Database, hub_state: HubState, mailbox: Mailbox
) -> None:
    user = await make_user(db, email="reject-me@example.org", password=None)
    result = await auth_jobs.send_invitation({"hub": hub_state, "job_try": 1}, user.id)  # type: ignore[arg-type]
    assert result.startswith("refused: 550")
    assert mailbox.messages == []


async def test_invitation_is_skipped_for_users_with_a_password(
    db: Database, hub_state: HubState, mailbox: Mailbox
) -> None:
    user = await make_user(db)  # has a password already
    result = await auth_jobs.send_invitation({"hub": hub_state, "job_try": 1}, user.id)  # type: ignore[arg-type]
    assert result.startswith("skipped")
    async with unit_of_work(db, None) as session:
        from sqlmodel import select

        assert (await session.exec(select(OneTimeToken))).all() == []


async def test_hubs_sharing_a_redis_each_get_their_own_scheduled_runs(
    settings: Settings, redis_url: str
) -> None:
    from arq import create_pool

    from hub import jobs
    from workers.settings import CRON_JOBS, cron_jobs_for

    hubs = [
        settings.model_copy(update={"redis_prefix": f"{settings.redis_prefix}{name}:"})
        for name in ("aarhus", "odense")
    ]
    schedules = [cron_jobs_for(hub) for hub in hubs]
    for hub, scheduled in zip(hubs, schedules, strict=True):
        assert [job.name for job in scheduled] == [
            f"{hub.redis_prefix}{job.name}" for job in CRON_JOBS
        ]
        assert [(job.second, job.minute, job.hour) for job in scheduled] == [
            (job.second, job.minute, job.hour) for job in CRON_JOBS
        ]
        assert not {id(job) for job in scheduled} & {id(job) for job in CRON_JOBS}

    # A worker queues a scheduled run under "<name>:<time in ms>" (arq's own rule): at the
    # same second both hubs' runs are queued, where one name would have queued only the first.
    pool = await create_pool(jobs.redis_settings(redis_url))
    try:
        when = 1_900_000_000_000
        for hub, scheduled in zip(hubs, schedules, strict=True):
            flush = next(job for job in scheduled if job.name.endswith("tracking.flush_clicks"))
            queued = await pool.enqueue_job(
                flush.name, _job_id=f"{flush.name}:{when}", _queue_name=hub.queue_name
            )
            assert queued is not None
        # The control: one name for both hubs, as before; the second run is not queued.
        shared = f"{settings.redis_prefix}tracking.flush_clicks"
        first, second = [
            await pool.enqueue_job(shared, _job_id=f"{shared}:{when}", _queue_name=hub.queue_name)
            for hub in hubs
        ]
        assert first is not None and second is None
    finally:
        await pool.aclose()
