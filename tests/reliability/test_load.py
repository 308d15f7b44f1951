"""A bounded load test: 200 concurrent clients (each pausing between requests as a person
does) against one real ``hub serve`` on the loopback,
mixing tracked-link redirects, citizen landing pages, partner portal pages and downloads.

It asserts what must hold on any machine (no errors; the server's memory grows by less than
10 % between the end of the warm-up and the end of the run) and reports what depends on the
machine (requests, p50/p95/p99 per route, throughput, memory) as a table in the test output
and as JSON in ``var/load-report-<database>.json``. ``HUB_LOAD_SECONDS`` sets the length of
the run (60 s by default, 120 s at most).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from hub.auth.csrf import SESSION_COOKIE
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, TrackedLink
from hub.tracking import service
from tests.browser.conftest import HubServer, variant_id
from tests.conftest import DB_KIND
from tests.factories import login
from tests.tracking.conftest import EN, Published, make_published

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 200
SECONDS = min(120.0, max(10.0, float(os.environ.get("HUB_LOAD_SECONDS", "60"))))
WARM_UP = min(15.0, SECONDS / 4)
MAX_GROWTH = 0.10
REQUEST_TIMEOUT = 30.0  # as long as the server waits for a database connection
SAMPLE_ERRORS = 20
THINK_SECONDS = (0.5, 2.5)  # a client's pause between requests


@dataclass(frozen=True)
class Route:
    """One kind of request: its name in the report, its share of the traffic, the URLs it picks
    from, whether it is a signed-in partner's, and the one status that counts as success."""

    name: str
    weight: float
    paths: list[str]
    partner: bool
    expected: int


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.samples) < SAMPLE_ERRORS:
            self.samples.append(text)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def rss_kib(pid: int) -> int:
    """The process's resident set, from /proc (kB as the kernel reports it, i.e. KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _links(db: Database, published: Published) -> list[TrackedLink]:
    """The partner's links to the campaign's items, in several languages and channels."""
    wanted = [
        (published.message, "ar", Channel.whatsapp),
        (published.message, "so", Channel.facebook),
        (published.message, "da", Channel.poster),
        (published.film, "ar", Channel.whatsapp),
        (published.film, "so", Channel.sms_list),
        (published.poster, "da", Channel.flyer),
        (published.event, "ar", Channel.meeting),
    ]
    async with unit_of_work(db, None) as session:
        return [
            await service.get_or_create_link(
                session,
                organisation_id=published.organisation.id or 0,
                campaign=published.campaign,
                item=item,
                language=language,
                channel=channel,
            )
            for item, language, channel in wanted
        ]


async def _routes(db: Database, published: Published) -> list[Route]:
    links = await _links(db, published)
    codes = [link.code for link in links]
    campaign = published.campaign.id
    film_ar = await variant_id(db, published.film.id or 0, "ar")
    film_so = await variant_id(db, published.film.id or 0, "so")
    poster_da = await variant_id(db, published.poster.id or 0, "da")
    message_ar = await variant_id(db, published.message.id or 0, "ar")
    download = "/api/v1/variants/{}/download"
    forward = f"/portal/campaigns/{campaign}/variants/{{}}/forward"
    return [
        Route("redirect /s/{code}", 45, [f"/s/{c}" for c in codes], False, 302),
        Route("landing /c/{code}", 13, [f"/c/{c}" for c in codes], False, 200),
        Route(
            "landing /c/{code}/{lang}",
            12,
            [f"/c/{c}/{lang}" for c in codes[:2] for lang in ("ar", "so", "da")],
            False,
            200,
        ),
        Route("portal inbox", 7, ["/portal/campaigns"], True, 200),
        Route("portal kit", 7, [f"/portal/campaigns/{campaign}"], True, 200),
        Route(
            "portal forward kit",
            6,
            [forward.format(message_ar), forward.format(film_ar)],
            True,
            200,
        ),
        Route(
            "download film",
            5,
            [download.format(film_ar), download.format(film_so) + "?rendition=whatsapp"],
            True,
            200,
        ),
        Route("download poster", 5, [download.format(poster_da)], True, 200),
    ]


async def _client(
    routes: list[Route],
    tallies: dict[str, Tally],
    client: httpx.AsyncClient,
    session_cookie: str,
    deadline: float,
    rng: random.Random,
) -> None:
    """One client, requests one after another until the deadline: a citizen's phone without
    cookies, or the partner's browser with the session cookie."""
    weights = [route.weight for route in routes]
    partner = {"Cookie": f"{SESSION_COOKIE}={session_cookie}"}
    while time.monotonic() < deadline:
        route = rng.choices(routes, weights)[0]
        path = rng.choice(route.paths)
        tally = tallies[route.name]
        started = time.perf_counter()
        try:
            response = await client.get(path, headers=partner if route.partner else None)
        except httpx.HTTPError as error:
            tally.error(f"{path}: {type(error).__name__}: {error}")
            await asyncio.sleep(rng.uniform(*THINK_SECONDS))
            continue
        elapsed = time.perf_counter() - started
        if response.status_code != route.expected:
            tally.error(f"{path}: {response.status_code} (wanted {route.expected})")
        else:
            tally.latencies.append(elapsed)
        # A person reads before the next tap: 200 such clients, not 200 loops with no pause.
        await asyncio.sleep(rng.uniform(*THINK_SECONDS))


async def _sample_memory(pid: int, samples: list[tuple[float, int]], started: float) -> None:
    while True:
        samples.append((time.monotonic() - started, rss_kib(pid)))
        await asyncio.sleep(1.0)


@dataclass
class Server:
    """What the server process used: resident memory (KiB) before the load, after the warm-up,
    at the end and at most; CPU seconds during the load (and the clients' own); one RSS sample
    a second."""

    start_kib: int
    warm_kib: int
    end_kib: int
    cpu_seconds: float
    client_cpu_seconds: float
    samples: list[tuple[float, int]]

    @property
    def growth(self) -> float:
        return (self.end_kib - self.warm_kib) / self.warm_kib

    def as_json(self) -> dict[str, object]:
        return {
            "rss_start_kib": self.start_kib,
            "rss_warm_kib": self.warm_kib,
            "rss_end_kib": self.end_kib,
            "rss_peak_kib": max(kib for _, kib in self.samples),
            "rss_growth_percent": round(self.growth * 100, 2),
            "cpu_seconds": round(self.cpu_seconds, 1),
            "client_cpu_seconds": round(self.client_cpu_seconds, 1),
            "rss_samples": [[round(at, 1), kib] for at, kib in self.samples],
        }


def _report(
    routes: list[Route], tallies: dict[str, Tally], seconds: float, server: Server
) -> tuple[dict[str, object], str]:
    rows: list[dict[str, object]] = []
    for route in routes:
        tally = tallies[route.name]
        rows.append(
            {
                "route": route.name,
                "requests": len(tally.latencies) + tally.errors,
                "errors": tally.errors,
                "p50_ms": round(percentile(tally.latencies, 0.50) * 1000, 1),
                "p95_ms": round(percentile(tally.latencies, 0.95) * 1000, 1),
                "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 1),
            }
        )
    total = sum(len(t.latencies) + t.errors for t in tallies.values())
    errors = sum(t.errors for t in tallies.values())
    rate = round(total / seconds, 1)
    report: dict[str, object] = {
        "database": DB_KIND,
        "clients": CLIENTS,
        "seconds": round(seconds, 1),
        "requests": total,
        "errors": errors,
        "requests_per_second": rate,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "routes": rows,
        "server": server.as_json(),
        "error_samples": {n: t.samples for n, t in tallies.items() if t.samples},
    }
    mib = 1024
    lines = [
        f"load test ({DB_KIND}): {CLIENTS} clients for {seconds:.1f} s, {total} requests "
        f"({rate}/s), {errors} errors",
        f"{'route':<26} {'requests':>9} {'errors':>7} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}",
        *(
            f"{row['route']!s:<26} {row['requests']!s:>9} {row['errors']!s:>7} "
            f"{row['p50_ms']!s:>9} {row['p95_ms']!s:>9} {row['p99_ms']!s:>9}"
            for row in rows
        ),
        f"server RSS: {server.start_kib / mib:.1f} MiB before the load, "
        f"{server.warm_kib / mib:.1f} MiB after the {WARM_UP:.0f} s warm-up, "
        f"{server.end_kib / mib:.1f} MiB at the end ({server.growth:+.1%}), "
        f"{max(kib for _, kib in server.samples) / mib:.1f} MiB at most",
        f"CPU: {server.cpu_seconds:.1f} s server, {server.client_cpu_seconds:.1f} s clients "
        f"in {seconds:.1f} s; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} CPUs)",
    ]
    for route in routes:
        lines += [f"  {route.name}: {sample}" for sample in tallies[route.name].samples]
    return report, "\n".join(lines)


def _connection(base_url: str) -> httpx.AsyncClient:
    """One client's own connection (kept alive for a second: uvicorn closes idle ones after
    five, and a request racing that close would fail for no fault of the server's)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=1.0)
    return httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=REQUEST_TIMEOUT,
        follow_redirects=False,
        headers=EN,
    )


async def _load(
    routes: list[Route], base_url: str, session_cookie: str, pid: int
) -> tuple[dict[str, Tally], float, Server]:
    """Run the clients until the deadline (and their last answers), sampling the server."""
    tallies = {route.name: Tally() for route in routes}
    samples: list[tuple[float, int]] = []
    warm_kib = 0

    async def warm_up() -> None:
        nonlocal warm_kib
        await asyncio.sleep(WARM_UP)
        warm_kib = rss_kib(pid)

    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(_connection(base_url)) for _ in range(CLIENTS)]
        start_kib, cpu_before, own_before = rss_kib(pid), cpu_seconds(pid), time.process_time()
        started = time.monotonic()
        deadline = started + SECONDS
        sampler = asyncio.create_task(_sample_memory(pid, samples, started))
        try:
            await asyncio.gather(
                warm_up(),
                *(
                    _client(routes, tallies, client, session_cookie, deadline, random.Random(n))
                    for n, client in enumerate(clients)
                ),
            )
            elapsed = time.monotonic() - started
            server = Server(
                start_kib,
                warm_kib,
                rss_kib(pid),
                cpu_seconds(pid) - cpu_before,
                time.process_time() - own_before,
                samples,
            )
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
    return tallies, elapsed, server


async def test_two_hundred_clients_no_errors_and_bounded_memory(
    settings: Settings,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    published = await make_published(db, settings)
    routes = await _routes(db, published)
    hub_serve = HubServer(settings, tmp_path / "hub-serve.log", worker=True)
    try:
        hub_serve.wait_ready()
        async with _connection(hub_serve.url) as citizen, _connection(hub_serve.url) as partner:
            signed_in = await login(partner, published.contact.email)
            assert signed_in.status_code == 303, signed_in.text
            session_cookie = partner.cookies.get(SESSION_COOKIE)
            assert session_cookie, "the partner has a session"
            for route in routes:  # every URL answers as expected before the load starts
                client = partner if route.partner else citizen
                for path in route.paths:
                    response = await client.get(path)
                    assert response.status_code == route.expected, (
                        f"{path}: {response.status_code}\n{response.text[:500]}"
                    )
        tallies, elapsed, server = await _load(
            routes, hub_serve.url, session_cookie, hub_serve.process.pid
        )
        alive = hub_serve.process.poll() is None
        await hub_serve.stop()
    finally:
        hub_serve.kill()

    report, table = _report(routes, tallies, elapsed, server)
    logged = [
        line
        for line in hub_serve.log_path.read_text(errors="replace").splitlines()
        if '"level": "ERROR"' in line
    ]
    report["server_errors_logged"] = len(logged)
    table += f"\nserver errors logged: {len(logged)}" + "".join(
        f"\n  …{line[-240:]}" for line in logged[:3]
    )
    out = ROOT / "var" / f"load-report-{DB_KIND}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    record_property("load_report", str(out))
    with capsys.disabled():
        print(f"\n{table}\n(written to {out.relative_to(ROOT)})")

    assert alive, f"hub serve died under load:\n{hub_serve.log_tail()}"
    assert report["errors"] == 0, f"errors under load:\n{table}"
    assert server.growth < MAX_GROWTH, (
        f"the server's memory grew by {server.growth:.1%} (less than {MAX_GROWTH:.0%} wanted):"
        f"\n{table}"
    )
