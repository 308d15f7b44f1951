"""The scale-out run: PostgreSQL, Redis, two web processes and two workers on this machine (no
Docker), a campaign published to 5,000 e-mail contacts and 20,000 clicks on its tracked links.

    .venv/bin/python scripts/scale_out.py [--contacts 5000] [--clicks 20000] [--keep]

It starts a PostgreSQL cluster of its own (initdb, on a free loopback port), a Redis server,
an S3 server (moto's) whose bucket is the media store, an SMTP sink (aiosmtpd) that counts
messages per recipient, two ``hub serve --no-worker`` and two ``hub worker`` processes, each
with a media root of its own (``--media local``: one shared directory instead); seeds the
partners and their contacts, composes and publishes the campaign through the API, waits for
every delivery to be final, drives the clicks at both web processes and flushes the counts into
the daily rollups. It prints a report and exits non-zero when a check fails: the upload is in
the bucket and the other web process serves it, every contact got exactly one message, every
delivery is ``sent``, both workers sent, every click was answered 302, and the counted clicks
equal the clicks sent, per link and in total. It stops only what it started, by process id,
and removes its files unless ``--keep``. Everything is bounded by ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import httpx
from scale_out import traffic, world
from scale_out.report import Report, check_clicks, check_deliveries
from scale_out.servers import (
    HubProcess,
    MailSink,
    PostgresCluster,
    RedisServer,
    S3Server,
    SetupError,
    free_port,
    stop_all,
)

from hub.db import Database
from hub.migrate import upgrade

WEB = WORKERS = 2
# Send jobs the deliveries are split into (HUB_DELIVERY_BATCH_SIZE follows): enough that both
# workers, taking up to 20 jobs at a time each, get their share from the start.
SEND_JOBS = 50
FLUSH_SECONDS = 60.0


class RunFailed(RuntimeError):
    """A phase failed or did not finish in time; the report says how far the run got."""


def hub_env(
    work: Path, database_url: str, redis_url: str, smtp_port: int, contacts: int
) -> dict[str, str]:
    """The settings of every hub process: the same database, Redis and media root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV="test",
        HUB_SECRET_KEY=secrets.token_urlsafe(48),
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_REDIS_PREFIX="scale:",
        HUB_VAR_DIR=str(work / "var"),
        HUB_MEDIA_ROOT=str(work / "media"),
        HUB_SMTP_HOST="127.0.0.1",
        HUB_SMTP_PORT=str(smtp_port),
        HUB_EMAIL_PER_SECOND="0",  # no sending limit
        HUB_DELIVERY_BATCH_SIZE=str(min(max(contacts // SEND_JOBS, 1), 1000)),
        HUB_DEFAULT_LANGUAGE="da",
        HUB_LOG_FORMAT="json",
        HUB_LOG_LEVEL="INFO",  # a worker's log says which of its jobs sent how many
    )
    return env


async def flush_clicks(env: dict[str, str], work: Path) -> None:
    """``hub flush-clicks``: the counts waiting in Redis into the daily rollups, now."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "flush-clicks", env=env, cwd=work,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(process.communicate(), FLUSH_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RunFailed(f"hub flush-clicks did not finish within {FLUSH_SECONDS:.0f} s") from None
    if process.returncode != 0:
        raise RunFailed(f"hub flush-clicks failed: {out.decode(errors='replace')[-1000:]}")


async def check_media(
    report: Report, client: httpx.AsyncClient, people: world.World, bucket: S3Server, work: Path
) -> None:
    """The poster uploaded through web-1 is in the bucket, and web-2, which shares no disk
    with web-1, serves it whole; no process kept a file on its own disk."""
    keys = await asyncio.to_thread(bucket.keys)
    answer = await client.get(f"/api/v1/materials/{people.material_id}/download")
    on_disk = await asyncio.to_thread(
        lambda: sorted(str(p.relative_to(work)) for p in work.glob("*-media/objects/**/*"))
    )
    report.check(
        "the upload is in the bucket, served whole by the other web process",
        answer.status_code == 200 and answer.content == world.tiny_png() and len(keys) == 1,
        f"{len(keys)} object(s) in the bucket; web-2 answered {answer.status_code}, "
        f"{len(answer.content)} bytes",
    )
    report.check("no hub process kept a file on its own disk", not on_disk, ", ".join(on_disk))


def cpu_seconds(processes: list[HubProcess]) -> dict[str, float]:
    """CPU time so far of this process (the clicks' clients) and of each given one."""
    return {"clients": time.process_time(), **{p.name: p.cpu_seconds() for p in processes}}


async def run(
    args: argparse.Namespace, work: Path, report: Report, stack: contextlib.AsyncExitStack
) -> None:
    deadline = time.monotonic() + args.timeout
    contacts, clicks = args.contacts, args.clicks

    def within(seconds: float) -> float:
        return min(deadline, time.monotonic() + seconds)

    with report.phase("start PostgreSQL, Redis, S3, SMTP sink") as note:
        cluster = PostgresCluster(work)
        stack.callback(cluster.stop)
        cluster.start()
        redis_server = RedisServer(work)
        stack.callback(redis_server.stop)
        redis_server.start()
        bucket = S3Server(work) if args.media == "s3" else None
        if bucket is not None:
            stack.callback(bucket.stop)
            bucket.start()
        sink = MailSink()
        stack.callback(sink.stop)
        sink.start()
        await cluster.wait_ready(within(60))
        await cluster.create_database("hub")
        version = await redis_server.wait_ready(within(20))
        if bucket is not None:
            await bucket.wait_ready(within(30))
        note["note"] = f"(PostgreSQL {cluster.version}, Redis {version}, media {args.media})"
    url = cluster.url("hub")
    with report.phase("migrate"):
        await asyncio.to_thread(upgrade, url)
    db = Database.from_url(url)
    stack.push_async_callback(db.dispose)
    with report.phase(f"seed {contacts} contacts") as note:
        people = await world.seed(db, contacts)
        note["note"] = f"({len(people.organisation_ids)} organisations, an officer)"

    env = hub_env(work, url, redis_server.url, sink.port, contacts)
    if bucket is not None:
        env.update(bucket.settings())

    def own_media(name: str, process_env: dict[str, str]) -> dict[str, str]:
        """With the bucket, each process gets a media root (its staging disk) of its own, as
        on separate machines: nothing is shared but the bucket."""
        if bucket is None:
            return process_env
        return {**process_env, "HUB_MEDIA_ROOT": str(work / f"{name}-media")}

    with report.phase(f"start {WEB} web processes and {WORKERS} workers"):
        webs = []
        for n in range(1, WEB + 1):
            port = free_port()
            # Its own base URL (the links it makes point at it); no log line per request.
            web_env = {**env, "HUB_BASE_URL": f"http://127.0.0.1:{port}"}
            web_env["HUB_LOG_LEVEL"] = "WARNING"
            command = ["serve", "--no-worker", "--port", str(port)]
            name = f"web-{n}"
            webs.append(HubProcess(name, command, own_media(name, web_env), work, port))
        workers = [
            HubProcess(f"worker-{n}", ["worker"], own_media(f"worker-{n}", env), work)
            for n in range(1, WORKERS + 1)
        ]
        stack.callback(stop_all, [*webs, *workers])
        ready = within(90)
        await asyncio.gather(*(w.wait_web(ready) for w in webs))
        await asyncio.gather(*(w.wait_worker(ready) for w in workers))
    officer = [httpx.AsyncClient(base_url=w.url, headers=people.headers, timeout=60) for w in webs]
    for client in officer:
        stack.push_async_callback(client.aclose)

    with report.phase("compose the campaign (API, web-1)"):
        await world.compose(officer[0], people)
    with report.phase("publish (API, web-2)"):
        await world.publish(officer[-1], people)
    if bucket is not None:
        await check_media(report, officer[-1], people, bucket, work)
    with report.phase(f"deliver {contacts} e-mails") as note:
        settled = await traffic.wait_settled(db, people.campaign_id, contacts, deadline)
        facts = await traffic.delivery_facts(db, people.campaign_id)
        spread = max(facts.last_sent - facts.first_sent, 0.001)
        note["note"] = f"(first to last sent {spread:.1f} s: {contacts / spread:.0f}/s)"
    check_deliveries(
        report,
        contacts=contacts,
        emails=people.emails,
        settled=settled,
        states=await traffic.delivery_states(db, people.campaign_id),
        facts=facts,
        sink=sink.snapshot(),
        sends={w.name: traffic.worker_sends(w.log_text()) for w in workers},
    )
    if not settled:
        raise RunFailed("the deliveries were not all final before the deadline")

    with report.phase("make the partners' links") as note:
        await world.make_links(db, people)
        note["note"] = f"({len(people.links)} links)"
    with report.phase(f"drive {clicks} clicks") as note:
        urls = [w.url for w in webs]
        before = cpu_seconds(webs)
        driven = await traffic.drive_clicks(
            urls, sorted(people.links), clicks, args.concurrency, deadline
        )
        used = {name: spent - before[name] for name, spent in cpu_seconds(webs).items()}
        note["note"] = (
            f"({driven.sent / driven.seconds:.0f}/s, {args.concurrency} at a time; CPU s: "
            + ", ".join(f"{name} {spent:.1f}" for name, spent in used.items())
            + ")"
        )
    with report.phase("flush until the totals are in") as note:
        limit = within(45)
        flushes = 0
        while True:
            await asyncio.sleep(1.0)  # the web processes hand their counts over every 0.5 s
            await flush_clicks(env, work)
            flushes += 1
            counted, previews = await traffic.counted_clicks(db, people.campaign_id)
            if sum(counted.values()) >= driven.answered.total() or time.monotonic() > limit:
                break
        from_api = await traffic.api_clicks(officer[0], people.campaign_id)
        note["note"] = f"({flushes} × hub flush-clicks)"
    with report.phase("stop the web processes, flush again") as note:
        stopping = time.perf_counter()
        stop_all(webs)  # gracefully: a web process hands over whatever it still holds
        note["note"] = f"(stopped in {time.perf_counter() - stopping:.1f} s)"
        await flush_clicks(env, work)
        final, final_previews = await traffic.counted_clicks(db, people.campaign_id)
    check_clicks(
        report,
        wanted=clicks,
        links=people.links,
        driven=driven,
        servers={w.url: w.name for w in webs},
        counted=counted,
        previews=previews,
        from_api=from_api,
        final=final,
        final_previews=final_previews,
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5000, help="e-mail contacts (5000)")
    parser.add_argument("--clicks", type=int, default=20000, help="clicks to drive (20000)")
    parser.add_argument("--concurrency", type=int, default=50, help="clicks at a time (50)")
    parser.add_argument("--timeout", type=float, default=200, help="seconds for it all (200)")
    parser.add_argument(
        "--media",
        choices=("s3", "local"),
        default="s3",
        help="media in a bucket of moto's S3 server (s3, the default) or one shared directory",
    )
    parser.add_argument("--keep", action="store_true", help="keep the files (logs, database)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if min(args.contacts, args.clicks, args.concurrency) < 1:
        parser.error("--contacts, --clicks and --concurrency must be at least 1")
    return args


async def main() -> int:
    args = arguments()
    report = Report(facts={"contacts": args.contacts, "clicks_wanted": args.clicks})
    work = Path(tempfile.mkdtemp(prefix="hub-scale-out-"))
    # A SIGTERM (a CI timeout) cancels the run like a ^C: the clean-up below still happens.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print(f"scale-out run: {args.contacts} contacts, {args.clicks} clicks; files in {work}")
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                await run(args, work, report, stack)
            except (SetupError, RunFailed) as exc:
                report.check("the run completed", False, str(exc))
            except Exception as exc:
                traceback.print_exc()
                report.check("the run completed", False, f"{type(exc).__name__}: {exc}")
            except asyncio.CancelledError:
                task.uncancel()  # ours: stopped by a signal; report how far it got
                report.check("the run completed", False, "stopped by a signal")
            print("  stopping what was started ...", flush=True)
    finally:
        if args.keep:
            print(f"  kept the files in {work}: the logs, the database (postgres/data)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report.print()
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
