"""Benchmarks of the foundation, each printed next to a baseline measured in the same run.

This machine is shared and noisy: read the ratios, not the absolute numbers.

1. HTTP: requests/s of the hub's /healthz (the full middleware stack) against a bare ASGI app
   under the same uvicorn, both driven over loopback by the same client.
2. Jobs: a unit of work that commits a row and defers a job, against a bare arq enqueue of a
   no-op job; then a burst worker draining both kinds.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
CONCURRENCY = 32
JOBS = int(os.environ.get("BENCH_JOBS", "500"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
"""


def start_uvicorn(
    target: str, port: int, env: dict[str, str], factory: bool = False, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if factory:
        args.append("--factory")
    return subprocess.Popen(args, cwd=cwd, env=env)


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str) -> float | None:
    """Requests/s from wrk (a C load generator), when installed; Python clients saturate
    before a server does, which would hide the difference being measured."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", "-d5s", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


async def hammer(url: str) -> float:
    measured = await asyncio.to_thread(wrk, url)
    if measured is not None:
        return measured
    limits = httpx.Limits(max_connections=CONCURRENCY)  # fallback: an httpx client
    async with httpx.AsyncClient(limits=limits) as client:
        for _ in range(100):  # warm up
            await client.get(url)
        remaining = REQUESTS

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.get(url)
                assert response.status_code == 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - start)


async def bench_http(env: dict[str, str], workdir: Path) -> None:
    (workdir / "bare_app.py").write_text(BARE_APP)
    bare_port, hub_port = free_port(), free_port()
    bare = start_uvicorn("bare_app:app", bare_port, env, cwd=workdir)
    hub = start_uvicorn("hub.main:create_app", hub_port, env, factory=True)
    try:
        await wait_ready(f"http://127.0.0.1:{bare_port}/")
        await wait_ready(f"http://127.0.0.1:{hub_port}/healthz")
        bare_rps = await hammer(f"http://127.0.0.1:{bare_port}/")
        hub_rps = await hammer(f"http://127.0.0.1:{hub_port}/healthz")
    finally:
        for process in (bare, hub):
            process.terminate()
            process.wait(timeout=10)
    print(f"http   bare uvicorn app     {bare_rps:9.0f} req/s   (baseline)")
    print(f"http   hub /healthz         {hub_rps:9.0f} req/s   ratio {hub_rps / bare_rps:.2f}")


async def bench_jobs(env: dict[str, str]) -> None:
    from hub import jobs
    from hub.config import Settings
    from hub.db import Database, unit_of_work
    from hub.models import Organisation, OrganisationKind
    from workers import build_worker

    settings = Settings(
        _env_file=None,
        **{
            k[4:].lower(): v
            for k, v in env.items()  # type: ignore[call-arg]
            if k.startswith("HUB_")
        },
    )
    db = Database.from_url(settings.resolved_database_url)
    queue = await jobs.create_queue(
        settings.redis_url, prefix=settings.redis_prefix, queue_name=settings.queue_name
    )
    try:
        start = time.perf_counter()
        for i in range(JOBS):
            await queue.pool.enqueue_job(
                "system.noop",
                _job_id=f"{settings.redis_prefix}bare:{i}",
                _queue_name=settings.queue_name,
            )
        bare = JOBS / (time.perf_counter() - start)

        start = time.perf_counter()
        for i in range(JOBS):
            async with unit_of_work(db, queue) as session:
                session.add(Organisation(name=f"bench {i}", kind=OrganisationKind.other))
                jobs.defer(session, "system.noop", key=f"seam-{i}")
        seam = JOBS / (time.perf_counter() - start)

        worker = build_worker(
            settings, burst=True, poll_delay=0.01, handle_signals=False, max_jobs=50
        )
        start = time.perf_counter()
        await worker.async_run()
        drained = 2 * JOBS / (time.perf_counter() - start)
        await worker.close()
        # At least ours: a cron job (the sweep every minute) may run during the drain too.
        assert worker.jobs_complete >= 2 * JOBS, worker.jobs_complete
    finally:
        keys = [k async for k in queue.pool.scan_iter(match=f"*{settings.redis_prefix}*")]
        if keys:
            await queue.pool.delete(*keys)
        await queue.pool.aclose()
        await db.dispose()
    print(f"jobs   bare arq enqueue     {bare:9.0f} jobs/s  (baseline)")
    print(
        f"jobs   commit + deferred    {seam:9.0f} jobs/s  ratio {seam / bare:.2f}"
        "  (each is a committed SQLite transaction plus the enqueue)"
    )
    print(f"jobs   burst worker drains  {drained:9.0f} jobs/s  ratio {drained / bare:.2f}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        redis_url = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(
            {
                "HUB_ENV": "test",
                "HUB_SECRET_KEY": secrets.token_urlsafe(48),
                "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
                "HUB_REDIS_URL": redis_url,
                "HUB_REDIS_PREFIX": f"hubbench:{secrets.token_hex(3)}:",
                "HUB_VAR_DIR": str(workdir / "var"),
                "PYTHONPATH": str(ROOT),
            }
        )
        from hub.migrate import upgrade

        await asyncio.to_thread(upgrade, env["HUB_DATABASE_URL"])
        await bench_http(env, workdir)
        await bench_jobs(env)
    # Uploads: a large film against `cp && sync`; downloads against nginx sendfile; publishing
    # to 10,000 contacts against a no-op arq drain and the SMTP sink; the citizen's click
    # (`/s/{code}`) against a bare ASGI app, and its counts checked exact; reach reports over 5M
    # clicks against the database's own GROUP BY over a plain event table, their numbers checked
    # exact (each with its own servers, temp dirs and databases).
    for script in ("upload.py", "download.py", "fanout.py", "redirect.py", "reports.py"):
        await asyncio.to_thread(
            subprocess.run, [sys.executable, str(ROOT / "bench" / script)], check=True
        )


if __name__ == "__main__":
    asyncio.run(main())
