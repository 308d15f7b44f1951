"""Publishing to 10,000 e-mail contacts: deliveries per second from the publish to the last
`sent`, against two baselines measured in the same run (this machine is shared and noisy):

1. one arq worker (max_jobs=100, poll_delay=0.05) draining 10,000 no-op jobs: what one job per
   delivery could reach at best;
2. the SMTP sink alone: messages per second a plain client delivers on one connection (the
   physical limit here).

The hub's own worker runs with its defaults except that the e-mail rate limit is off. The mail
sink is a separate process (aiosmtpd); the database is PostgreSQL (BENCH_DATABASE=sqlite for
SQLite).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "10000"))
NOOP_JOBS = int(os.environ.get("BENCH_NOOP_JOBS", "10000"))
SINK_MESSAGES = int(os.environ.get("BENCH_SINK_MESSAGES", "3000"))
PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    if sink.stdout.readline().strip() != "ready":
        raise RuntimeError("the SMTP sink did not start")
    return sink


async def sink_alone(port: int) -> float:
    """Messages per second into the sink from one plain client on one connection."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "x"
    message.set_content("Ny kampagne fra kommunen.\n" * 20)
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await smtp.connect()
    start = time.perf_counter()
    for _ in range(SINK_MESSAGES):
        await smtp.send_message(message)
    elapsed = time.perf_counter() - start
    await smtp.quit()
    return SINK_MESSAGES / elapsed


async def noop_drain(settings: object) -> float:
    from hub import jobs
    from workers import build_worker

    s = settings
    queue = await jobs.create_queue(s.redis_url, prefix=s.redis_prefix, queue_name=s.queue_name)  # type: ignore[attr-defined]
    try:
        pipe_size = 500
        for start in range(0, NOOP_JOBS, pipe_size):
            await asyncio.gather(
                *(
                    queue.pool.enqueue_job(
                        "system.noop",
                        _job_id=f"{s.redis_prefix}noop:{i}",
                        _queue_name=s.queue_name,  # type: ignore[attr-defined]
                    )
                    for i in range(start, min(start + pipe_size, NOOP_JOBS))
                )
            )
        worker = build_worker(
            s, burst=True, poll_delay=0.05, max_jobs=100, handle_signals=False, cron_jobs=[]
        )
        begin = time.perf_counter()
        await worker.async_run()
        elapsed = time.perf_counter() - begin
        await worker.close()
        assert worker.jobs_complete == NOOP_JOBS, worker.jobs_complete
    finally:
        await queue.pool.aclose()
    return NOOP_JOBS / elapsed


async def fan_out(settings: object) -> tuple[float, float, int]:
    from sqlmodel import col, func, select

    from hub.campaigns import service as campaigns
    from hub.db import Database, unit_of_work
    from hub.models import (
        Delivery,
        DeliveryState,
        Organisation,
        OrganisationKind,
        OrganisationLanguage,
        Role,
        User,
    )
    from hub.state import HubState
    from workers import build_worker

    state = await HubState.open(settings)  # type: ignore[arg-type]
    db: Database = state.db
    try:
        async with unit_of_work(db, None) as session:
            organisation = Organisation(name="Bench Forening", kind=OrganisationKind.association)
            session.add(organisation)
            await session.flush()
            session.add(OrganisationLanguage(organisation_id=organisation.id, language="so"))  # type: ignore[arg-type]
            officer = User(email="officer@bench.example", role=Role.officer)
            session.add(officer)
            session.add_all(
                User(
                    email=f"kontakt-{n:05d}@bench.example",
                    name=f"Kontakt {n}",
                    role=Role.partner,
                    organisation_id=organisation.id,
                    language="da",
                )
                for n in range(CONTACTS)
            )
        begin = time.perf_counter()
        async with unit_of_work(db, state.queue) as session:
            owner = (await session.exec(select(User).where(User.role == Role.officer))).one()
            campaign = await campaigns.create_campaign(
                session,
                owner=owner,
                title="Vinterens vaccination",
                audience_spec={"languages": ["so"]},
            )
            await campaigns.create_item(session, campaign, kind="message", title="Budskab")  # type: ignore[arg-type]
            await campaigns.publish_campaign(session, campaign)
            campaign_id = campaign.id
        published = time.perf_counter() - begin
        worker = build_worker(
            settings, burst=True, handle_signals=False, cron_jobs=[], poll_delay=0.05
        )
        await worker.async_run()
        await worker.close()
        elapsed = time.perf_counter() - begin
        async with unit_of_work(db, None, write=False) as session:
            sent = (
                await session.exec(
                    select(func.count()).where(
                        col(Delivery.campaign_id) == campaign_id,
                        col(Delivery.state) == DeliveryState.sent,
                    )
                )
            ).one()
    finally:
        await state.close()
    return elapsed, published, int(sent)


async def main() -> None:
    from hub.config import Settings
    from hub.migrate import upgrade

    kind = os.environ.get("BENCH_DATABASE", "postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        name = f"hub_bench_{secrets.token_hex(4)}"
        if kind == "postgresql":
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
            url = f"{base}/{name}"
        else:
            url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        port = free_port()
        sink = start_sink(port)
        try:
            await asyncio.to_thread(upgrade, url)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                env="test",
                secret_key=secrets.token_urlsafe(48),
                database_url=url,
                redis_url=os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                redis_prefix=f"hubbench:{secrets.token_hex(3)}:",
                var_dir=work / "var",
                media_root=work / "media",
                smtp_host="127.0.0.1",
                smtp_port=port,
                email_per_second=0,
                notifications_per_contact_per_week=100,
                default_language="da",
                delivery_batch_size=int(os.environ.get("BENCH_BATCH", "250")),
            )
            limit = await sink_alone(port)
            drain = await noop_drain(settings)
            elapsed, published, sent = await fan_out(settings)
        finally:
            sink.terminate()
            sink.wait(timeout=10)
            if kind == "postgresql":
                admin = await asyncpg.connect(PG_ADMIN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    assert sent == CONTACTS, f"only {sent} of {CONTACTS} sent"
    rate = CONTACTS / elapsed
    print(f"fanout SMTP sink alone, one connection   {limit:8.0f} msg/s  (physical limit)")
    print(f"fanout arq no-op drain (max_jobs=100)    {drain:8.0f} jobs/s (baseline)")
    print(
        f"fanout publish to {CONTACTS} e-mail contacts  {rate:8.0f} deliveries/s"
        f"  ratio {rate / drain:.2f} to the no-op drain, {rate / limit:.2f} to the sink"
        f"  ({elapsed:.1f} s in all, of which {published:.1f} s the publish transaction; {kind})"
    )


if __name__ == "__main__":
    asyncio.run(main())
