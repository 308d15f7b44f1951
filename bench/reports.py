"""Reach reports at a municipality's scale (issue 7), against the database's own GROUP BY over
a plain event table, measured in the same run.

    .venv/bin/python bench/reports.py
    (BENCH_CLICKS=5000000, BENCH_REPORTS=20000, BENCH_RUNS=20, BENCH_DATABASES=sqlite,postgresql,
     BENCH_EXPLAIN=1 prints the query plans of the calls that miss the goal)

For each database (SQLite in a temporary file; PostgreSQL in a throwaway database on
127.0.0.1:5432, dropped at the end, skipped with a note when the server is not reachable):

1. ``hub migrate``, then a seed written with SQLAlchemy Core executemany in one transaction
   (SQLite with ``synchronous=OFF`` for the seed only): 500 partners, 200 areas in a tree (a
   municipality, 9 districts, 190 parishes and housing areas), one published campaign of 6 items
   in 8 languages, 2,000 tracked links (200 of them shared on: hop 2), the clicks spread over the
   links and 60 days (``link_day``), and 20,000 forward reports (1 % flagged). The same clicks are
   then written by the database itself as a plain event table ``bench_click_event(link_id,
   channel, day, clicked_at)``, one row per click, without an index: the baseline's table only.
   On PostgreSQL a ``VACUUM ANALYZE`` follows, standing in for autovacuum; SQLite gets nothing
   (the hub never runs ANALYZE there).
2. The rollups are built by the worker's own code (``workers.reports.rebuild``, i.e.
   ``rebuild_campaign``), timed: the worker's cost for one such campaign.
3. Baseline: the database's own time for ``SELECT channel, day, count(*) FROM bench_click_event
   GROUP BY channel, day`` (the median of 3 runs, with a connection of the database's own driver).
4. The hub, ONE uvicorn worker (as bench/redirect.py), is asked each report over HTTP with an
   officer's API token: a warm-up request, then BENCH_RUNS rounds taken in turns; p50 and p95 (the
   nearest rank) per call. Report endpoints found under /api/v1/reach/... in the OpenAPI schema
   are timed too (with the campaign and dates where they take them).
5. In-process (the same app under httpx's ASGI transport, client and app in one process), the SQL
   each call runs is recorded with its own time: the "db ms" column (the median of 5 requests,
   all statements of a request summed), and the plans of its slowest statement with
   BENCH_EXPLAIN=1. The rest of a call's time is Python: auth, labels, the JSON, HTTP.

Goal of the issue: every report's p95 <= 0.2 x the baseline and < 100 ms, on both databases;
printed, never failed on (the machine is shared and noisy). The run FAILS (exit 1) when a
report's numbers are wrong: the clicks per channel, day, week, partner, partner kind, area,
language and item, and per partner within an area, must equal what was seeded (5,000,000 in
all), and the reports counted must equal the unflagged reports.

Time: about 2 to 3 minutes for the full size on both databases on 2 CPUs (the 5M event rows,
written by each database from ``link_day`` itself, take about 3 s on SQLite and 4 s on
PostgreSQL; the rest of the seed 1 to 3 s; the rollups 6 to 11 s); BENCH_CLICKS=200000
BENCH_REPORTS=2000 BENCH_RUNS=5 takes under a minute.

Traffic goes to 127.0.0.1 only; every process started here is stopped by its PID, the temporary
directory is removed, the PostgreSQL database dropped and the Redis keys under the run's prefix
deleted, also on errors and Ctrl-C.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

CLICKS = int(os.environ.get("BENCH_CLICKS", "5000000"))
REPORTS = int(os.environ.get("BENCH_REPORTS", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
EXPLAIN = os.environ.get("BENCH_EXPLAIN", "") not in ("", "0")
PARTNERS = 500
AREAS = 200
DISTRICTS = 9
DAYS = 60
LINKS = 2000
SHARED_ON = 200  # of the links: children (hop 2) of as many partners' own links
LANGUAGES = ["da", "en", "ar", "so", "tr", "ur", "uk", "pl"]
BASELINE_RUNS = 3
DIAGNOSTIC_RUNS = 5
CALL_BUDGET_SECONDS = 90.0  # a call this slow gets fewer runs (said so) to keep the run bounded
GOAL_RATIO = 0.2
GOAL_MS = 100.0
BASELINE_SQL = "SELECT channel, day, count(*) FROM bench_click_event GROUP BY channel, day"
PG_ADMIN = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def say(text: str) -> None:
    print(f"reports  {text}", flush=True)


# --- the municipality ------------------------------------------------------------------------


@dataclass
class Plan:
    """Every seeded row (explicit ids: the database is new) and what the reports must show."""

    start: date
    areas: list[dict[str, Any]] = field(default_factory=list)
    uptake: list[dict[str, Any]] = field(default_factory=list)
    organisations: list[dict[str, Any]] = field(default_factory=list)
    organisation_areas: list[dict[str, Any]] = field(default_factory=list)
    organisation_languages: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    link_days: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    district_id: int = 2  # the area filter: a district with the areas below it
    # Clicks expected per key of each call that is checked (zeros left out).
    expected: dict[str, Counter[str]] = field(default_factory=dict)
    reports_counted: int = 0  # the reports not flagged

    @property
    def end(self) -> date:
        return self.start + timedelta(days=DAYS - 1)


CAMPAIGN_ID = 1
ITEM_KINDS = ["message", "film", "poster", "flyer", "qa", "event"]
ORGANISATION_KINDS = [
    ("association", 40),
    ("faith_community", 15),
    ("housing_organisation", 15),
    ("civil_society", 15),
    ("resource_person", 10),
    ("public_institution", 5),
]
LINK_CHANNELS = [
    ("whatsapp", 40),
    ("facebook", 25),
    ("instagram", 5),
    ("newsletter", 10),
    ("email_list", 5),
    ("sms_list", 5),
    ("poster", 5),
    ("website", 5),
]
REPORT_KINDS = [("forward", 60), ("meeting", 15), ("sermon", 5), ("door_to_door", 10)]
REPORT_KINDS += [("posters", 10)]
PREVIEWING = {"whatsapp", "facebook", "instagram"}  # chat apps fetch a preview of the link


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def descendants(parents: dict[int, int | None], root: int) -> set[int]:
    found = {root}
    changed = True
    while changed:
        below = {a for a, p in parents.items() if p in found} - found
        changed = bool(below)
        found |= below
    return found


def make_plan(clicks: int, reports: int) -> Plan:
    """A deterministic municipality; the clicks spread exactly (largest remainders)."""
    rng = random.Random(20261122)
    plan = Plan(start=datetime.now(UTC).date() - timedelta(days=DAYS - 1))
    parents: dict[int, int | None] = {1: None}
    plan.areas.append(
        dict(id=1, code="bench-1", name="Kommunen", kind="municipality", parent_id=None)
    )
    plan.areas[0]["population"] = 320_000
    for area_id in range(2, AREAS + 1):
        district = area_id <= DISTRICTS + 1
        parent = 1 if district else 2 + (area_id % DISTRICTS)
        parents[area_id] = parent
        kind = "district" if district else ("parish" if area_id % 2 else "housing_area")
        plan.areas.append(
            dict(
                id=area_id,
                code=f"bench-{area_id}",
                name=f"{'Bydel' if district else 'Område'} {area_id}",
                kind=kind,
                parent_id=parent,
                population=0 if district else rng.randint(800, 2500),
            )
        )
    for area in plan.areas:
        area["population"] = area["population"] or None
        plan.uptake.append(
            dict(
                area_id=area["id"],
                measured_on=plan.start,
                age_band="",
                share_percent=round(rng.uniform(55, 95), 1),
            )
        )
    leaves = list(range(DISTRICTS + 2, AREAS + 1))

    org_languages: dict[int, list[str]] = {}
    org_areas: dict[int, list[int]] = {}
    for org in range(1, PARTNERS + 1):
        plan.organisations.append(
            dict(
                id=org,
                name=f"Bench Forening {org:03d}",
                kind=pick(rng, ORGANISATION_KINDS),
                status="active",
            )
        )
        languages = ["da", *rng.sample(LANGUAGES[1:], rng.randint(0, 2))]
        org_languages[org] = languages
        plan.organisation_languages += [
            dict(organisation_id=org, language=lang) for lang in languages
        ]
        served = rng.sample(leaves, rng.randint(1, 2))
        if rng.random() < 0.1:
            served.append(rng.randint(2, DISTRICTS + 1))  # a district as a whole
        org_areas[org] = served
        plan.organisation_areas += [dict(organisation_id=org, area_id=a) for a in served]

    variant_id = 0
    for position, kind in enumerate(ITEM_KINDS, start=1):
        plan.items.append(
            dict(
                id=position,
                campaign_id=CAMPAIGN_ID,
                kind=kind,
                title=f"Vaccination {kind}",
                position=position,
                base_language="da",
            )
        )
        for language in LANGUAGES:
            variant_id += 1
            plan.variants.append(
                dict(
                    id=variant_id,
                    item_id=position,
                    language=language,
                    title=f"Vaccination {kind} ({language})",
                    text="Vaccinen er gratis. Kom!",
                )
            )

    # Links: the partners' own (4 per partner, keys unique), then some shared on (hop 2).
    own = LINKS - SHARED_ON
    keys: set[str] = set()
    starts: dict[int, int] = {}
    for link_id in range(1, own + 1):
        org = (link_id - 1) % PARTNERS + 1
        while True:
            item = rng.randint(1, len(ITEM_KINDS))
            language = rng.choice(org_languages[org])
            channel = pick(rng, LINK_CHANNELS)
            key = f"{org}:{item}:{language}:{channel}:"
            if key not in keys:
                break
        keys.add(key)
        starts[link_id] = min(int(rng.expovariate(1 / 6)), 45)
        plan.links.append(
            dict(
                id=link_id,
                code=f"b{link_id:07d}",
                key=key,
                organisation_id=org,
                campaign_id=CAMPAIGN_ID,
                item_id=item,
                language=language,
                channel=channel,
                parent_id=None,
                hop=1,
            )
        )
    for offset, shared in enumerate(rng.sample(plan.links[:own], SHARED_ON), start=1):
        link_id = own + offset
        starts[link_id] = min(starts[shared["id"]] + rng.randint(1, 10), DAYS - 1)
        plan.links.append(
            {
                **shared,
                "id": link_id,
                "code": f"b{link_id:07d}",
                "key": f"child:{shared['id']}",
                "parent_id": shared["id"],
                "hop": 2,
            }
        )

    # Clicks: a heavy-tailed weight per link, a launch peak, a reminder on day 30, quiet weekends.
    def day_weight(t: int) -> float:
        weekday = (plan.start + timedelta(days=t)).weekday()
        curve = 0.25 + math.exp(-t / 12) + 0.5 * math.exp(-(((t - 30) / 4) ** 2))
        return curve * (0.7 if weekday >= 5 else 1.0)

    weights = {link["id"]: rng.lognormvariate(0, 1.2) for link in plan.links}
    cells = [
        (link_id, t, weights[link_id] * day_weight(t))
        for link_id in weights
        for t in range(starts[link_id], DAYS)
    ]
    scale = clicks / sum(w for _, _, w in cells)
    exact = [(link_id, t, w * scale) for link_id, t, w in cells]
    counts = [int(e) for _, _, e in exact]
    short = clicks - sum(counts)
    for i in sorted(range(len(exact)), key=lambda i: exact[i][2] - counts[i], reverse=True)[:short]:
        counts[i] += 1
    links = {link["id"]: link for link in plan.links}
    organisations = {o["id"]: o for o in plan.organisations}
    in_district = descendants(parents, plan.district_id)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for (link_id, t, _), n in zip(exact, counts, strict=True):
        link = links[link_id]
        previews = int(n * 0.1 * rng.random()) if link["channel"] in PREVIEWING else 0
        if not n and not previews:
            continue
        day = plan.start + timedelta(days=t)
        plan.link_days.append(
            dict(
                link_id=link_id,
                day=day,
                clicks=n,
                previews=previews,
                uniques=max(1, int(n * rng.uniform(0.55, 0.95))) if n else 0,
            )
        )
        if not n:
            continue
        org = link["organisation_id"]
        expected["channel"][link["channel"]] += n
        expected["day"][day.isoformat()] += n
        expected["week"][(day - timedelta(days=day.weekday())).isoformat()] += n
        expected["partner"][str(org)] += n
        expected["partner_kind"][organisations[org]["kind"]] += n
        expected["language"][link["language"]] += n
        expected["item"][str(link["item_id"])] += n
        for area_id in org_areas[org]:
            expected["area"][str(area_id)] += n
        if any(area_id in in_district for area_id in org_areas[org]):
            expected["partner in area"][str(org)] += n
    plan.expected = dict(expected)

    for report_id in range(1, reports + 1):
        kind = pick(rng, REPORT_KINDS)
        org = rng.randint(1, PARTNERS)
        channel = {
            "meeting": "meeting",
            "sermon": "sermon",
            "door_to_door": "door_to_door",
            "posters": "poster",
        }.get(kind) or pick(rng, LINK_CHANNELS[:4])
        flagged = rng.random() < 0.01
        plan.reports_counted += not flagged
        occurred = plan.start + timedelta(days=rng.randint(0, DAYS - 1))
        plan.reports.append(
            dict(
                id=report_id,
                organisation_id=org,
                campaign_id=CAMPAIGN_ID,
                kind=kind,
                item_id=rng.randint(1, len(ITEM_KINDS)),
                language=rng.choice(org_languages[org]),
                channel=channel,
                occurred_on=occurred,
                audience_estimate=rng.randint(5, 400) if kind in ("forward", "sermon") else None,
                attendance=rng.randint(5, 80) if kind == "meeting" else None,
                doors_knocked=rng.randint(10, 60) if kind == "door_to_door" else None,
                conversations=rng.randint(3, 30) if kind == "door_to_door" else None,
                poster_count=rng.randint(1, 20) if kind == "posters" else None,
                flagged_at=datetime.now(UTC) if flagged else None,
                flag_reason="implausible" if flagged else None,
                created_at=datetime.combine(occurred, datetime.min.time(), UTC)
                + timedelta(hours=rng.randint(8, 20)),
            )
        )
    return plan


# --- seeding ---------------------------------------------------------------------------------


def chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def seed(url: str, plan: Plan, is_sqlite: bool) -> tuple[str, float, float]:
    """The rows of ``plan``, an officer with an API token (the raw token returned), and the
    event table. Returns the token and the seconds for the rows and for the event table."""
    import sqlalchemy as sa
    from sqlalchemy import event

    from hub.auth import service as auth
    from hub.db import Database, create_engine, unit_of_work
    from hub.models import (
        Area,
        AreaUptake,
        Campaign,
        CampaignItem,
        CampaignRecipient,
        ForwardReport,
        ItemVariant,
        LinkDay,
        Organisation,
        OrganisationArea,
        OrganisationLanguage,
        Role,
        TrackedLink,
    )

    engine = create_engine(url)
    if is_sqlite:

        @event.listens_for(engine.sync_engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")  # for the seed only
            cursor.close()

    db = Database(engine)
    try:
        began = time.perf_counter()
        async with unit_of_work(db, None) as session:
            officer = await auth.create_user(
                session, email="officer@bench.example", role=Role.officer, name="Bench"
            )
            _token, raw = await auth.create_api_token(session, user=officer, name="bench")
            officer_id = officer.id
        published = datetime.combine(plan.start, datetime.min.time(), UTC) + timedelta(hours=7)
        tables: list[tuple[Any, list[dict[str, Any]]]] = [
            (Area, plan.areas),
            (AreaUptake, plan.uptake),
            (Organisation, plan.organisations),
            (OrganisationArea, plan.organisation_areas),
            (OrganisationLanguage, plan.organisation_languages),
            (
                Campaign,
                [
                    dict(
                        id=CAMPAIGN_ID,
                        title="Vaccination før vinteren",
                        status="published",
                        owner_id=officer_id,
                        audience_spec={"include_ids": [o["id"] for o in plan.organisations]},
                        starts_on=plan.start,
                        ends_on=plan.end,
                        published_at=published,
                    )
                ],
            ),
            (
                CampaignRecipient,
                [
                    dict(campaign_id=CAMPAIGN_ID, organisation_id=o["id"], added_at=published)
                    for o in plan.organisations
                ],
            ),
            (CampaignItem, plan.items),
            (ItemVariant, plan.variants),
            (TrackedLink, [link for link in plan.links if link["hop"] == 1]),
            (TrackedLink, [link for link in plan.links if link["hop"] > 1]),
            (LinkDay, plan.link_days),
            (ForwardReport, plan.reports),
        ]
        async with engine.begin() as connection:
            for model, rows in tables:
                for part in chunks(rows):
                    await connection.execute(sa.insert(model.__table__), part)
            if not is_sqlite:  # explicit ids: move the sequences past them
                for model, _rows in tables:
                    name = model.__tablename__
                    if "id" in model.__table__.c and model.__table__.c.id.autoincrement:
                        highest = f'(SELECT max(id) FROM "{name}")'  # noqa: S608 - ours
                        await connection.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), {highest})"
                        )
        rows_seconds = time.perf_counter() - began

        began = time.perf_counter()
        async with engine.begin() as connection:
            for statement in event_table_sql(is_sqlite):
                await connection.exec_driver_sql(statement)
        events_seconds = time.perf_counter() - began
    finally:
        await db.dispose()
    return raw, rows_seconds, events_seconds


def event_table_sql(is_sqlite: bool) -> list[str]:
    """The same clicks as ``link_day``, one row per click, written by the database itself."""
    if is_sqlite:
        return [
            "CREATE TABLE bench_click_event (link_id INTEGER NOT NULL, "
            "channel VARCHAR(20) NOT NULL, day DATE NOT NULL, clicked_at DATETIME NOT NULL)",
            "CREATE TEMP TABLE bench_n (i INTEGER PRIMARY KEY)",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < (SELECT max(clicks) FROM link_day)) INSERT INTO bench_n SELECT i FROM n",
            # CROSS JOIN keeps link_day the outer loop: a range of bench_n's key per row.
            "INSERT INTO bench_click_event SELECT d.link_id, l.channel, d.day, "
            "d.day || printf(' %02d:%02d:%02d.000000', (n.i * 7) % 24, (n.i * 13) % 60, "
            "(n.i * 31) % 60) FROM link_day d CROSS JOIN bench_n n "
            "JOIN tracked_link l ON l.id = d.link_id WHERE n.i <= d.clicks",
            "DROP TABLE bench_n",
        ]
    return [
        "CREATE TABLE bench_click_event (link_id integer NOT NULL, channel varchar(20) NOT NULL, "
        "day date NOT NULL, clicked_at timestamptz NOT NULL)",
        "INSERT INTO bench_click_event SELECT d.link_id, l.channel, d.day, "
        "d.day + make_interval(secs => (n * 7919) % 86400) FROM link_day d "
        "JOIN tracked_link l ON l.id = d.link_id CROSS JOIN LATERAL generate_series(1, d.clicks) n",
    ]


async def maintain(url: str, is_sqlite: bool) -> None:
    """PostgreSQL: VACUUM ANALYZE, which autovacuum would do after such writes; SQLite: fold
    the write-ahead log into the database file (its automatic checkpoints would, in time)."""
    if is_sqlite:
        path = url.split("///", 1)[1]
        await asyncio.to_thread(sqlite_script, path, "PRAGMA wal_checkpoint(TRUNCATE)")
        return
    import asyncpg

    connection = await asyncpg.connect(plain_pg(url))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def sqlite_script(path: str, sql: str) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute(sql).fetchall()
    finally:
        connection.close()


def plain_pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def rebuild(url: str) -> tuple[float, int]:
    """The worker's rebuild of the campaign's rollups: seconds and rows written."""
    from hub.db import Database
    from workers.reports import rebuild as rebuild_rollups

    db = Database.from_url(url)
    try:
        began = time.perf_counter()
        rows = await rebuild_rollups(db, [CAMPAIGN_ID])
        return time.perf_counter() - began, rows
    finally:
        await db.dispose()


# --- the baseline ----------------------------------------------------------------------------


async def baseline(url: str, is_sqlite: bool) -> tuple[list[float], int]:
    """The GROUP BY's seconds (each run) and the clicks it counted."""
    seconds: list[float] = []
    counted = 0
    if is_sqlite:
        path = url.split("///", 1)[1]

        def run() -> tuple[float, int]:
            connection = sqlite3.connect(path)
            try:
                began = time.perf_counter()
                rows = connection.execute(BASELINE_SQL).fetchall()
                return time.perf_counter() - began, sum(n for _, _, n in rows)
            finally:
                connection.close()

        for _ in range(BASELINE_RUNS):
            elapsed, counted = await asyncio.to_thread(run)
            seconds.append(elapsed)
        return seconds, counted
    import asyncpg

    connection = await asyncpg.connect(plain_pg(url))
    try:
        for _ in range(BASELINE_RUNS):
            began = time.perf_counter()
            rows = await connection.fetch(BASELINE_SQL)
            seconds.append(time.perf_counter() - began)
            counted = sum(r[2] for r in rows)
    finally:
        await connection.close()
    return seconds, counted


# --- the hub and its calls -------------------------------------------------------------------


@dataclass
class Call:
    name: str
    path: str
    params: dict[str, Any]
    check: str | None = None  # the key of Plan.expected its clicks must equal
    ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    slowest: tuple[float, str, Any] | None = None  # seconds, statement, parameters
    problems: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.ms)
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def report_calls(plan: Plan) -> list[Call]:
    span = {"campaign_id": CAMPAIGN_ID, "from": plan.start.isoformat(), "to": plan.end.isoformat()}
    path = "/api/v1/reach"
    calls = [
        Call(f"by={by}", path, {"by": by, **span}, check=by)
        for by in ("channel", "day", "week", "partner", "partner_kind", "area", "language", "item")
    ]
    calls.append(
        Call(
            "by=partner, area filter",
            path,
            {"by": "partner", **span, "area_id": plan.district_id},
            check="partner in area",
        )
    )
    calls.append(Call("by=channel, no filter", path, {"by": "channel"}, check="channel"))
    # The floor: a campaign without rows, i.e. the token, the routing and an empty answer.
    calls.append(Call("by=channel, empty campaign", path, {"by": "channel", "campaign_id": 999}))
    return calls


def more_report_calls(schema: dict[str, Any], plan: Plan) -> tuple[list[Call], list[str]]:
    """GET endpoints under /api/v1/reach/ (funnel, equity ...) from the OpenAPI schema, asked
    for the campaign over its 60 days where they take that; those needing more are listed."""
    offered = {"campaign_id": CAMPAIGN_ID, "from": plan.start.isoformat()}
    offered["to"] = plan.end.isoformat()
    calls: list[Call] = []
    skipped: list[str] = []
    for path, operations in sorted(schema.get("paths", {}).items()):
        if not path.startswith("/api/v1/reach/") or "get" not in operations:
            continue
        params: dict[str, Any] = {}
        missing = []
        for parameter in operations["get"].get("parameters", []):
            name = parameter.get("name")
            if parameter.get("in") == "query" and name in offered:
                params[name] = offered[name]
            elif parameter.get("required"):
                missing.append(f"{parameter.get('in')} {name}")
        if missing:
            skipped.append(f"{path} (needs {', '.join(missing)})")
        else:
            calls.append(Call(path.removeprefix("/api/v1/reach"), path, params))
    return calls, skipped


def hub_env(work: Path, url: str, redis_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "test",
            "HUB_SECRET_KEY": secrets.token_urlsafe(48),
            "HUB_DATABASE_URL": url,
            "HUB_REDIS_URL": redis_url,
            "HUB_REDIS_PREFIX": prefix,
            "HUB_MEDIA_ROOT": str(work / "media"),
            "HUB_VAR_DIR": str(work / "var"),
            "HUB_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def tool(name: str) -> list[str]:
    """A console script of this virtualenv (``.venv/bin/uvicorn``, ``.venv/bin/hub``)."""
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def uvicorn_settings() -> list[str]:
    """As bench/redirect.py: one worker, the fastest loop and parser installed, no access log."""
    args = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level", "warning"]
    for option, module, fallback in (
        ("--loop", "uvloop", "asyncio"),
        ("--http", "httptools", "h11"),
    ):
        try:
            __import__(module)
            args += [option, module]
        except ImportError:
            args += [option, fallback]
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to the PID we started, SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_hub(command: str, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [*tool("hub"), command], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"hub {command} failed ({done.returncode}):\n{done.stderr}")


async def wait_until_up(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited with {process.returncode}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the hub did not come up")


async def ask(client: httpx.AsyncClient, call: Call) -> tuple[float, Any]:
    began = time.perf_counter()
    response = await client.get(call.path, params=call.params)
    body = response.content
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {call.path} {call.params}: {response.status_code} {body[:300]!r}")
    return elapsed, response.json()


def check(call: Call, body: Any, plan: Plan) -> None:
    """The clicks per key and the reports counted must be what was seeded."""
    if call.check is None:
        return
    got: Counter[str] = Counter()
    reports = 0
    for row in body["rows"]:
        clicks = row["measures"].get("clicks", 0)
        if clicks:
            got[row["key"]] += clicks
        reports += row["measures"].get("reports", 0)
    want = plan.expected[call.check]
    if got != want:
        wrong = sorted(k for k in set(got) | set(want) if got[k] != want[k])[:3]
        call.problems.append(
            f"clicks {sum(got.values())} in all (seeded {sum(want.values())}); e.g. "
            + ", ".join(f"{k or '(none)'}: {got[k]} not {want[k]}" for k in wrong)
        )
    total = body.get("totals", {}).get("clicks", 0)
    if total != sum(want.values()):
        call.problems.append(f"totals.clicks {total}, seeded {sum(want.values())}")
    if call.check == "channel" and reports != plan.reports_counted:
        call.problems.append(f"reports {reports}, seeded {plan.reports_counted} not flagged")


def serve(env: dict[str, str], work: Path, port: int) -> subprocess.Popen[bytes]:
    args = [*tool("uvicorn"), "--factory", "hub.main:create_app", "--port", str(port)]
    return subprocess.Popen([*args, *uvicorn_settings()], env=env, cwd=work)


async def time_calls(hub: subprocess.Popen[bytes], port: int, token: str, plan: Plan) -> list[Call]:
    """Each call over HTTP against the hub: a warm-up, then RUNS rounds taken in turns."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=300
    ) as client:
        await wait_until_up(client, hub)
        calls = report_calls(plan)
        schema = (await client.get("/openapi.json")).json()
        extra, skipped = more_report_calls(schema, plan)
        calls += extra
        for path in skipped:
            say(f"not timed: {path}")
        spent: dict[str, float] = defaultdict(float)
        for call in calls:
            elapsed, body = await ask(client, call)  # warm-up, and the check
            check(call, body, plan)
        for _round in range(RUNS):
            for call in calls:
                if spent[call.name] > CALL_BUDGET_SECONDS:
                    continue
                elapsed, _body = await ask(client, call)
                call.ms.append(elapsed)
                spent[call.name] += elapsed / 1000
    return calls


async def diagnose(env: dict[str, str], token: str, calls: list[Call]) -> None:
    """The same calls in-process, every SQL statement timed between the cursor events: the
    database's share of each call (summed per request) and its slowest statement."""
    from asgi_lifespan import LifespanManager
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from hub.config import Settings
    from hub.main import create_app

    values: dict[str, Any] = {k[4:].lower(): v for k, v in env.items() if k.startswith("HUB_")}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    statements: list[tuple[float, str, Any]] = []

    def before(conn: Any, _cursor: Any, _statement: str, *_args: Any) -> None:
        conn.info.setdefault("bench_began", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        began = conn.info["bench_began"].pop()
        statements.append((time.perf_counter() - began, statement, parameters))

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://127.0.0.1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=300,
            ) as client:
                for call in calls:
                    for _ in range(DIAGNOSTIC_RUNS):
                        statements.clear()
                        await ask(client, call)
                        call.db_ms.append(sum(s for s, _, _ in statements) * 1000)
                        slowest = max(statements, key=lambda s: s[0])
                        if call.slowest is None or slowest[0] < call.slowest[0]:
                            call.slowest = slowest  # the best of the runs, like the figure
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)


async def explain(url: str, is_sqlite: bool, call: Call) -> str:
    assert call.slowest is not None
    _seconds, statement, parameters = call.slowest
    if is_sqlite:
        path = url.split("///", 1)[1]

        def plan() -> str:
            connection = sqlite3.connect(path)
            try:
                rows = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                return "\n".join(f"  {row[3]}" for row in rows)
            finally:
                connection.close()

        text = await asyncio.to_thread(plan)
    else:
        import asyncpg

        connection = await asyncpg.connect(plain_pg(url))
        try:
            rows = await connection.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, *(parameters or ())
            )
            text = "\n".join(f"  {row[0]}" for row in rows)
        finally:
            await connection.close()
    return f"{' '.join(statement.split())}\n{text}"


# --- one database ----------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    seed_seconds: float
    events_seconds: float
    link_days: int
    rollup_seconds: float
    rollup_rows: int
    baseline_seconds: list[float]
    baseline_clicks: int
    calls: list[Call]
    plans: dict[str, str] = field(default_factory=dict)

    @property
    def baseline_ms(self) -> float:
        return statistics.median(self.baseline_seconds) * 1000

    @property
    def correct(self) -> bool:
        return self.baseline_clicks == CLICKS and not any(c.problems for c in self.calls)


async def pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def pg_reachable() -> str | None:
    try:
        await pg_admin("SELECT 1")
    except (OSError, Exception) as exc:  # asyncpg raises many kinds; any means "not here"
        return f"{type(exc).__name__}: {exc}"
    return None


def measure(kind: str, work: Path, plan: Plan, redis_url: str, prefix: str) -> Outcome:
    is_sqlite = kind == "sqlite"
    if is_sqlite:
        url = f"sqlite+aiosqlite:///{work / 'hub.db'}"
    else:
        name = f"hubbench_{secrets.token_hex(4)}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        url = f"{base}/{name}"
    try:
        env = hub_env(work, url, redis_url, prefix)
        run_hub("migrate", env, work)
        say(f"{kind}: seeding ...")
        token, seed_seconds, events_seconds = asyncio.run(seed(url, plan, is_sqlite))
        asyncio.run(maintain(url, is_sqlite))
        say(f"{kind}: building the rollups ...")
        rollup_seconds, rollup_rows = asyncio.run(rebuild(url))
        asyncio.run(maintain(url, is_sqlite))
        say(f"{kind}: the baseline, then {RUNS} rounds of the report calls ...")
        baseline_seconds, baseline_clicks = asyncio.run(baseline(url, is_sqlite))
        port = free_port()
        hub = serve(env, work, port)  # one uvicorn worker
        try:
            calls = asyncio.run(time_calls(hub, port, token, plan))
        finally:
            stop(hub)
        asyncio.run(diagnose(env, token, calls))
        outcome = Outcome(
            kind=kind,
            seed_seconds=seed_seconds,
            events_seconds=events_seconds,
            link_days=len(plan.link_days),
            rollup_seconds=rollup_seconds,
            rollup_rows=rollup_rows,
            baseline_seconds=baseline_seconds,
            baseline_clicks=baseline_clicks,
            calls=calls,
        )
        if EXPLAIN:
            for call in calls:
                if not met(call, outcome.baseline_ms) and call.slowest is not None:
                    outcome.plans[call.name] = asyncio.run(explain(url, is_sqlite, call))
        return outcome
    finally:
        if not is_sqlite:
            try:
                asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # never hide the run's own error behind this one
                say(f"could not drop the database {name}: {exc}")


def met(call: Call, baseline_ms: float) -> bool:
    p95 = call.percentile(0.95)
    return p95 <= GOAL_RATIO * baseline_ms and p95 < GOAL_MS


def show(outcome: Outcome) -> None:
    kind = outcome.kind
    seed = outcome.seed_seconds + outcome.events_seconds
    say(
        f"{kind}: seeded {PARTNERS} partners, {AREAS} areas, {len(ITEM_KINDS)} items x "
        f"{len(LANGUAGES)} languages, {LINKS} links, {outcome.link_days:,} link-days, "
        f"{CLICKS:,} clicks, {REPORTS:,} reports in {seed:.1f} s (the rows "
        f"{outcome.seed_seconds:.1f} s, the {CLICKS:,}-row event table "
        f"{outcome.events_seconds:.1f} s)"
    )
    say(
        f"{kind}: rollups: rebuild_campaign (the worker's cost) {outcome.rollup_seconds:.1f} s for "
        f"one campaign, {outcome.rollup_rows:,} reach_day rows"
    )
    runs = ", ".join(f"{s * 1000:.0f}" for s in outcome.baseline_seconds)
    say(
        f"{kind}: baseline {BASELINE_SQL} (no index, {outcome.baseline_clicks:,} clicks): "
        f"{outcome.baseline_ms:.0f} ms (median of {runs} ms)"
    )
    limit = min(GOAL_RATIO * outcome.baseline_ms, GOAL_MS)
    say(
        f"{kind}: goal p95 <= {GOAL_RATIO} x baseline and < {GOAL_MS:.0f} ms, i.e. < {limit:.0f} ms"
    )
    say(f"{kind}: {'call':<28} {'p50 ms':>8} {'p95 ms':>8} {'db ms':>7} {'p95/base':>9}  goal")
    for call in outcome.calls:
        p95 = call.percentile(0.95)
        runs_note = "" if len(call.ms) == RUNS else f"  ({len(call.ms)} runs: slow)"
        db = statistics.median(call.db_ms) if call.db_ms else float("nan")
        goal = "met" if met(call, outcome.baseline_ms) else "NOT met"
        say(
            f"{kind}: {call.name:<28} {call.percentile(0.5):8.1f} {p95:8.1f} {db:7.1f} "
            f"{p95 / outcome.baseline_ms:9.3f}  {goal}{runs_note}"
        )
        for problem in call.problems:
            say(f"{kind}: {call.name}: WRONG: {problem}")
    if outcome.baseline_clicks != CLICKS:
        say(f"{kind}: WRONG: the event table holds {outcome.baseline_clicks:,} clicks")
    missed = [c.name for c in outcome.calls if not met(c, outcome.baseline_ms)]
    say(
        f"{kind}: goal {'met by every call' if not missed else 'NOT met by ' + ', '.join(missed)}; "
        f"numbers {'PASS' if outcome.correct else 'FAIL'}"
    )
    for name, text in outcome.plans.items():
        say(f"{kind}: plan of the slowest statement of {name}:\n{text}")


# --- the run ---------------------------------------------------------------------------------


def redis_reachable(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.exceptions.RedisError:
        return False
    finally:
        client.close()


def delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def main() -> int:
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))  # cleans up, too
    began = time.monotonic()
    plan = make_plan(CLICKS, REPORTS)
    say(f"planned the municipality in {time.monotonic() - began:.1f} s; {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="hub-reports-"))
    prefix = f"hubbench:{secrets.token_hex(4)}:"
    embedded = None
    redis_url = ""
    outcomes: list[Outcome] = []
    try:
        if redis_reachable(REDIS_URL):
            redis_url = REDIS_URL
        else:
            from hub.embedded_redis import EmbeddedRedis

            embedded = EmbeddedRedis(work / "var")
            redis_url = embedded.start()
        for kind in DATABASES:
            if kind == "postgresql" and (why := asyncio.run(pg_reachable())) is not None:
                say(f"postgresql: not reachable at {PG_ADMIN} ({why}): SQLite only")
                continue
            place = work / kind
            place.mkdir()
            outcome = measure(kind, place, plan, redis_url, prefix)
            outcomes.append(outcome)
            show(outcome)
    finally:
        if redis_url:
            try:
                delete_keys(redis_url, prefix)
            except Exception as exc:  # never hide the run's own error behind this one
                say(f"could not delete the Redis keys under {prefix}: {exc}")
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(work, ignore_errors=True)
    passed = all(o.correct for o in outcomes)
    say(
        f"{'PASS' if passed else 'FAIL'}: report numbers "
        f"{'exact' if passed else 'WRONG'} on {', '.join(o.kind for o in outcomes)}; "
        f"{time.monotonic() - began:.0f} s in all"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
