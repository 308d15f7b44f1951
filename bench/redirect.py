"""The citizen's click (issue 6): ``GET /s/{code}`` against a bare ASGI app, same run.

    .venv/bin/python bench/redirect.py
    (BENCH_REDIRECT_SECONDS=10, BENCH_REDIRECT_ROUNDS=2, BENCH_REDIRECT_CLICKS=20000)

A throwaway hub (temporary directory, SQLite, its own Redis key prefix on the local Redis, else
an embedded Redis) is migrated with ``hub migrate`` and seeded with a published campaign and two
tracked links: one for the speed run, one for the exactness run.

1. Speed, with wrk (a C load generator; Python clients saturate before a server does):
   ``wrk -t2 -c64 -d10s --latency`` against ``hello`` below (a bare ASGI app answering 200
   "hello": the baseline) and against the hub's ``/s/{code}``, each served by ONE uvicorn worker
   with the same settings, each after one warm-up request (for the hub: one click, which makes
   the process resolve the code). Both run all along and take turns, round after round, each
   keeping its best round (other load on the machine only ever slows a run down). Goal of the
   issue: hub/bare >= 0.40 in requests/s and a p99 under 10 ms; printed, never failed on (this
   machine is shared and noisy: the figure is what matters). wrk 4's percentiles are sampled
   per interval of time, not per request: a stall of a few requests weighs as much as the time
   it lasts. The cold start is shown apart: how long the first clicks of the exactness run (64
   at once, on a code the process has not resolved yet) waited.
2. Exactness. wrk counts the responses it received, but up to one request per connection is in
   flight when it stops: the server counts those and wrk does not, so its figure only bounds the
   clicks (completed <= counted <= completed + connections + socket errors; shown, and checked).
   For an exact comparison a client that knows every request it sent and every answer it got
   sends, to the second link, exactly N browser GETs plus HEADs, WhatsApp preview GETs and
   prefetch GETs (previews, not clicks) over 64 keep-alive connections, in a random order, while
   the counts are flushed into ``link_day`` every quarter second (as the worker's cron does,
   more often). Then the hub is stopped gracefully (SIGTERM; its lifespan hands the counts
   still in memory to Redis), ``hub flush-clicks`` moves them into ``link_day``, and a second
   flush must find nothing. PASS when ``link_day`` holds exactly N clicks and exactly the
   previews sent (and wrk's link is within its bounds); the script exits non-zero on FAIL.

wrk is installed with apt-get when missing (as root; outside the time bound, about a minute).
Traffic goes to 127.0.0.1 only; every process started here is stopped by its PID, the temporary
directory is removed and the Redis keys under the run's prefix are deleted, also on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.main import CSP

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("BENCH_REDIRECT_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_REDIRECT_ROUNDS", "2"))
CLICKS = int(os.environ.get("BENCH_REDIRECT_CLICKS", "20000"))
HEADS = 500
WHATSAPP = 500
PREFETCHES = 100
CONNECTIONS = 64
THREADS = 2
GOAL_RATIO = 0.40
GOAL_P99_MS = 10.0
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

BROWSER = (
    "Mozilla/5.0 (Linux; Android 13; SM-A146P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
WHATSAPP_AGENT = "WhatsApp/2.23.20.0 A"

Message = MutableMapping[str, Any]
# The headers of the hub's 302 besides its location and length: the redirect's own
# (hub.tracking.redirect._COMMON) and the security headers it sends for the app.
REDIRECT_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
]


# --- the baseline ----------------------------------------------------------------------------


async def hello(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """The least an ASGI app can do (served as ``redirect:hello``): 200 "hello"; and on
    ``/s/{code}`` the hub's very answer, a bodyless 302 with the same headers, but nothing
    looked up or counted. uvicorn writes a response's head at once and a non-empty body in a
    second write, so "hello" costs one write more than the hub's 302: the 302 is the
    like-for-like baseline."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"].startswith("/s/"):
        location = b"/c/" + scope["path"][3:].encode()
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [(b"location", location), *REDIRECT_HEADERS, (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


# --- tools and processes ---------------------------------------------------------------------


def ensure_wrk() -> str | None:
    """wrk, installed with apt-get (as root) when missing."""
    found = shutil.which("wrk")
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("redirect  wrk is missing and cannot be installed here (needs root and apt-get)")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("redirect  installing wrk with apt-get ...", flush=True)
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=300)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
            env=env,
            check=False,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        print("redirect  apt-get timed out installing wrk")
        return None
    if done.returncode != 0 or shutil.which("wrk") is None:
        print(f"redirect  apt-get could not install wrk (exit status {done.returncode})")
        return None
    return shutil.which("wrk")


def tool(name: str) -> list[str]:
    """A console script of this virtualenv (``.venv/bin/uvicorn``, ``.venv/bin/hub``)."""
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def loop_and_parser() -> tuple[str, str]:
    """The fastest event loop and HTTP parser installed here."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        parser = "httptools"
    except ImportError:
        parser = "h11"
    return loop, parser


def uvicorn_settings() -> list[str]:
    """The same for the hub and the baseline: one worker, no access log."""
    loop, parser = loop_and_parser()
    return [
        *("--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level", "warning"),
        *("--loop", loop, "--http", parser),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(target: list[str], port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    args = [*tool("uvicorn"), *target, "--port", str(port), *uvicorn_settings()]
    return subprocess.Popen(args, env=env, cwd=cwd)


def get(port: int, path: str) -> int:
    """One GET (redirects not followed): the status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"User-Agent": BROWSER})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_until_up(port: int, path: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if get(port, path) == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up on port {port}")


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """SIGTERM to the PID we started (uvicorn's graceful stop), SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def run_hub(command: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [*tool("hub"), command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"hub {command} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


# --- the throwaway hub -----------------------------------------------------------------------


def redis_reachable(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.exceptions.RedisError:
        return False
    finally:
        client.close()


def delete_keys(url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def hub_env(work: Path, redis_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "test",
            "HUB_SECRET_KEY": secrets.token_urlsafe(48),
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'hub.db'}",
            "HUB_REDIS_URL": redis_url,
            "HUB_REDIS_PREFIX": prefix,
            "HUB_MEDIA_ROOT": str(work / "media"),
            "HUB_VAR_DIR": str(work / "var"),
            "HUB_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


async def seed(database_url: str) -> tuple[str, str]:
    """A published campaign with one message in Danish and two tracked links to it: the
    codes of the speed run's link and of the exactness run's link."""
    from hub.auth import service as auth
    from hub.campaigns import service as campaigns
    from hub.db import Database, unit_of_work
    from hub.models import Channel, ItemKind, OrganisationKind, Role
    from hub.partners import service as partners
    from hub.tracking import service as tracking

    db = Database.from_url(database_url)
    try:
        async with unit_of_work(db, None) as session:
            organisation = await partners.create_organisation(
                session, name="Bench Forening", kind=OrganisationKind.association, languages=["da"]
            )
            officer = await auth.create_user(
                session,
                email="officer@bench.example",
                role=Role.officer,
                name="Bench",
                password=None,
                organisation_id=None,
                language="da",
            )
            campaign = await campaigns.create_campaign(
                session,
                owner=officer,
                title="Vaccination før vinteren",
                audience_spec={"include_ids": [organisation.id]},
            )
            item = await campaigns.create_item(
                session, campaign, kind=ItemKind.message, title="Vaccinen er gratis"
            )
            await campaigns.set_variant(
                session, campaign, item, language="da", text="Vaccinen er gratis. Kom!"
            )
            await campaigns.publish_campaign(session, campaign)
            codes = []
            for channel in (Channel.whatsapp, Channel.facebook):
                link = await tracking.get_or_create_link(
                    session,
                    organisation_id=organisation.id or 0,
                    campaign=campaign,
                    item=item,
                    language="da",
                    channel=channel,
                )
                codes.append(link.code)
    finally:
        await db.dispose()
    return codes[0], codes[1]


def counted(database: Path) -> dict[str, tuple[int, int]]:
    """(clicks, previews) per code in the daily rollups (``link_day``)."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT l.code, sum(d.clicks), sum(d.previews) FROM link_day d "
            "JOIN tracked_link l ON l.id = d.link_id GROUP BY l.code"
        ).fetchall()
    finally:
        connection.close()
    return {code: (int(clicks), int(previews)) for code, clicks, previews in rows}


# --- speed: wrk ------------------------------------------------------------------------------


@dataclass
class Figures:
    requests_per_second: float
    p99_ms: float
    completed: int
    bad_responses: int
    socket_errors: int


_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(url: str) -> Figures:
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url]
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=SECONDS + 60, check=True
    ).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", out, re.MULTILINE)
    if rps is None or p99 is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Figures(
        requests_per_second=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _TIME_UNITS[p99.group(2)],
        completed=int(total.group(1)),
        bad_responses=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


# --- exactness: a client that knows what it sent ----------------------------------------------


@dataclass
class Sent:
    clicks: int = 0
    previews: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    # How long the first request of each connection waited: all hit a code not resolved yet.
    first_ms: list[float] = field(default_factory=list)
    # Flushes into link_day while the requests were coming (what the worker's cron does).
    flushes: int = 0
    batches: int = 0


async def send_exactly(port: int, code: str) -> Sent:
    """CLICKS browser GETs, plus HEADs, WhatsApp GETs and prefetch GETs (previews), in a random
    order over CONNECTIONS keep-alive connections; each answer is read before the connection's
    next request. A broken connection would leave a request's fate unknown: that aborts."""
    host = f"Host: 127.0.0.1:{port}\r\n"
    requests = {
        "click": f"GET /s/{code} HTTP/1.1\r\n{host}User-Agent: {BROWSER}\r\n\r\n",
        "head": f"HEAD /s/{code} HTTP/1.1\r\n{host}User-Agent: {BROWSER}\r\n\r\n",
        "whatsapp": f"GET /s/{code} HTTP/1.1\r\n{host}User-Agent: {WHATSAPP_AGENT}\r\n\r\n",
        "prefetch": (
            f"GET /s/{code} HTTP/1.1\r\n{host}User-Agent: {BROWSER}\r\n"
            "Sec-Purpose: prefetch\r\n\r\n"
        ),
    }
    raw = {kind: text.encode() for kind, text in requests.items()}
    plan = ["click"] * CLICKS + ["head"] * HEADS + ["whatsapp"] * WHATSAPP
    plan += ["prefetch"] * PREFETCHES
    random.shuffle(plan)
    sent = Sent()

    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = True
        try:
            while plan:
                kind = plan.pop()
                start = time.perf_counter()
                writer.write(raw[kind])
                head = await reader.readuntil(b"\r\n\r\n")
                if first:
                    sent.first_ms.append((time.perf_counter() - start) * 1000)
                    first = False
                status = int(head[9:12])
                sent.statuses[status] = sent.statuses.get(status, 0) + 1
                length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if kind != "head" and length and int(length.group(1)):
                    await reader.readexactly(int(length.group(1)))
                if status == 302 and kind == "click":
                    sent.clicks += 1
                elif status == 302:
                    sent.previews += 1
        finally:
            writer.close()
            await writer.wait_closed()

    began = time.perf_counter()
    connections = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(CONNECTIONS))
    )
    await asyncio.gather(*(talk(reader, writer) for reader, writer in connections))
    sent.seconds = time.perf_counter() - began
    return sent


async def exactness(port: int, code: str, env: dict[str, str]) -> Sent:
    """``send_exactly`` while counts are flushed into ``link_day`` every quarter second, as the
    worker's cron does (every 20 s): counts split between many batches must add up too."""
    import redis.asyncio as aioredis

    from hub.db import Database
    from hub.tracking import rollup
    from hub.tracking.counter import Keys

    db = Database.from_url(env["HUB_DATABASE_URL"])
    redis = aioredis.Redis.from_url(env["HUB_REDIS_URL"])
    keys = Keys(env["HUB_REDIS_PREFIX"])
    done = asyncio.Event()
    flushes = batches = 0

    async def flush_meanwhile() -> None:
        nonlocal flushes, batches
        while not done.is_set():
            batches += (await rollup.flush_clicks(db, redis, keys)).batches
            flushes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.25)

    flusher = asyncio.create_task(flush_meanwhile())
    try:
        sent = await send_exactly(port, code)
    finally:
        done.set()
        await flusher
        await redis.aclose()
        await db.dispose()
    sent.flushes, sent.batches = flushes, batches
    return sent


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    redis_kind: str
    best: dict[str, Figures]  # the best round of each target: hello, bare302, hub
    completed: int  # by wrk against the hub, all rounds
    socket_errors: int
    speed_counted: tuple[int, int]
    sent: Sent
    exit_status: int
    flushes: tuple[str, str]
    exact_counted: tuple[int, int]


def measure(work: Path, redis_url: str, redis_kind: str, prefix: str) -> Outcome:
    """Everything that needs the servers; each one is stopped before this returns."""
    env = hub_env(work, redis_url, prefix)
    run_hub("migrate", env, work)
    speed_code, exact_code = asyncio.run(seed(env["HUB_DATABASE_URL"]))

    bare_port, hub_port = free_port(), free_port()
    bare = serve(["redirect:hello", "--app-dir", str(ROOT / "bench")], bare_port, env, work)
    hub = None
    try:
        hub = serve(["--factory", "hub.main:create_app"], hub_port, env, work)
        wait_until_up(bare_port, "/", bare, "the bare app")  # its one warm-up request
        wait_until_up(hub_port, "/healthz", hub, "the hub")
        # One warm-up click: this process resolves the code (see the cold start below).
        if (status := get(hub_port, f"/s/{speed_code}")) != 302:
            raise RuntimeError(f"GET /s/{speed_code} answered {status}, not 302")
        targets = {
            "hello": f"http://127.0.0.1:{bare_port}/",
            "bare302": f"http://127.0.0.1:{bare_port}/s/{speed_code}",
            "hub": f"http://127.0.0.1:{hub_port}/s/{speed_code}",
        }
        # Turn by turn, each keeping its best round: other load only ever slows a run down.
        runs: dict[str, list[Figures]] = {name: [] for name in targets}
        for _round in range(ROUNDS):
            for name, url in targets.items():
                runs[name].append(run_wrk(url))
        sent = asyncio.run(exactness(hub_port, exact_code, env))
    finally:
        stop(bare)
        # Graceful: the lifespan hands over the counts still in memory.
        exit_status = stop(hub, timeout=30) if hub is not None else 0
    flushes = run_hub("flush-clicks", env, work), run_hub("flush-clicks", env, work)
    rollups = counted(work / "hub.db")
    return Outcome(
        redis_kind=redis_kind,
        best={
            name: max(figures, key=lambda f: f.requests_per_second)
            for name, figures in runs.items()
        },
        completed=sum(f.completed for f in runs["hub"]),
        socket_errors=sum(f.socket_errors for f in runs["hub"]),
        speed_counted=rollups.get(speed_code, (0, 0)),
        sent=sent,
        exit_status=exit_status,
        flushes=(flushes[0].removeprefix("hub: "), flushes[1].removeprefix("hub: ")),
        exact_counted=rollups.get(exact_code, (0, 0)),
    )


def goal(met: bool) -> str:
    return "met" if met else "NOT met"


def report(outcome: Outcome, seconds: float) -> bool:
    """Print the figures; True when the counts are exact."""
    hello, bare, hub = (outcome.best[name] for name in ("hello", "bare302", "hub"))
    sent = outcome.sent
    ratio = hub.requests_per_second / hello.requests_per_second
    like = hub.requests_per_second / bare.requests_per_second
    print(
        f"redirect  wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s --latency, best of {ROUNDS} "
        "rounds taken in turns, one uvicorn worker "
        "(--loop {} --http {}), ".format(*loop_and_parser())
        + f"{outcome.redis_kind}, {os.cpu_count()} CPUs, {seconds:.0f} s in all"
    )
    print(
        f"redirect  bare ASGI 200 hello             {hello.requests_per_second:9.0f} req/s  "
        f"p99 {hello.p99_ms:7.2f} ms  (baseline)"
    )
    print(
        f"redirect  bare ASGI 302, the hub's bytes  {bare.requests_per_second:9.0f} req/s  "
        f"p99 {bare.p99_ms:7.2f} ms  (like-for-like baseline: one write per answer)"
    )
    print(
        f"redirect  hub GET /s/{{code}} -> 302        {hub.requests_per_second:9.0f} req/s  "
        f"p99 {hub.p99_ms:7.2f} ms  ratio {ratio:4.2f} to hello, {like:4.2f} to the bare 302; "
        f"p99 x{hub.p99_ms / hello.p99_ms:.1f} and x{hub.p99_ms / bare.p99_ms:.1f}"
    )
    print(
        f"redirect  goal: ratio >= {GOAL_RATIO:.2f} (to both baselines) "
        f"{goal(min(ratio, like) >= GOAL_RATIO)}; "
        f"p99 < {GOAL_P99_MS:.0f} ms {goal(hub.p99_ms < GOAL_P99_MS)}"
    )
    for name, figures in outcome.best.items():
        if figures.bad_responses or figures.socket_errors:
            print(
                f"redirect  {name}: {figures.bad_responses} unexpected responses, "
                f"{figures.socket_errors} socket errors"
            )
    print(
        f"redirect  cold start: {CONNECTIONS} first clicks at once on a code this process had "
        f"not resolved yet: slowest answered in {max(sent.first_ms):.0f} ms "
        f"(median {sorted(sent.first_ms)[len(sent.first_ms) // 2]:.0f} ms)"
    )

    # wrk's own count bounds the clicks of its link: its completed responses plus the warm-up
    # click, plus at most one request in flight per connection (or lost with a socket error).
    clicks, previews = outcome.speed_counted
    least = outcome.completed + 1
    most = least + ROUNDS * CONNECTIONS + outcome.socket_errors
    speed_ok = least <= clicks <= most and previews == 0
    print(
        f"count     wrk link: {outcome.completed} responses completed in {ROUNDS} runs + 1 "
        f"warm-up; link_day holds "
        f"{clicks} clicks ({clicks - least:+d}: requests in flight when wrk stopped, at most "
        f"{most - least}) and {previews} previews: {'consistent' if speed_ok else 'INCONSISTENT'}"
    )

    previews_sent = HEADS + WHATSAPP + PREFETCHES
    expected = (CLICKS, previews_sent)
    graceful = outcome.exit_status in (0, -signal.SIGTERM)
    exact_ok = (
        graceful
        and sent.statuses == {302: CLICKS + previews_sent}
        and (sent.clicks, sent.previews) == expected
        and outcome.exact_counted == expected
        and outcome.flushes[1].startswith("flushed 0 clicks and 0 previews")
    )
    print(
        f"count     exact link: sent {CLICKS} browser GETs, {HEADS} HEADs, {WHATSAPP} WhatsApp "
        f"GETs, {PREFETCHES} prefetch GETs over {CONNECTIONS} keep-alive connections in "
        f"{sent.seconds:.1f} s (answers {dict(sorted(sent.statuses.items()))})"
    )
    print(
        f"count     meanwhile {sent.flushes} flushes applied {sent.batches} batches; after "
        f"SIGTERM (exit status {outcome.exit_status}) `hub flush-clicks`: "
        f"{outcome.flushes[0]}; again: {outcome.flushes[1]}"
    )
    print(
        f"count     exact link: link_day holds {outcome.exact_counted[0]} clicks and "
        f"{outcome.exact_counted[1]} previews, {expected[0]} and {expected[1]} were sent"
    )
    passed = exact_ok and speed_ok
    print(f"count     {'PASS' if passed else 'FAIL'}: counts exact after a graceful stop")
    return passed


def main() -> int:
    if ensure_wrk() is None:
        print("redirect  FAILED: wrk is required (apt-get install wrk)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))  # cleans up, too
    began = time.monotonic()  # the install is outside the time bound
    work = Path(tempfile.mkdtemp(prefix="hub-redirect-"))
    prefix = f"hubbench:{secrets.token_hex(4)}:"
    embedded = None
    redis_url = ""
    try:
        if redis_reachable(REDIS_URL):
            redis_url, redis_kind = REDIS_URL, "local Redis"
        else:
            from hub.embedded_redis import EmbeddedRedis

            embedded = EmbeddedRedis(work / "var")
            redis_url, redis_kind = embedded.start(), "embedded Redis"
        outcome = measure(work, redis_url, redis_kind, prefix)
    finally:
        if redis_url:
            try:
                delete_keys(redis_url, prefix)
            except Exception as exc:  # never hide the run's own error behind this one
                print(f"redirect  could not delete the Redis keys under {prefix}: {exc}")
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report(outcome, time.monotonic() - began) else 1


if __name__ == "__main__":
    sys.exit(main())
