"""The authorisation matrix: every route of the app × every role × own/other organisation,
against the table in tests/authorization_table.py (which says what each cell must answer)."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from hub.config import Settings
from hub.db import Database
from hub.main import create_app
from tests.authorization_table import BODIES, QUERIES, TABLE, expected
from tests.conftest import DB_KIND
from tests.route_world import (
    ROLES,
    RouteEntry,
    Scope,
    World,
    app_routes,
    build_call,
    fake_worker_heartbeat,
    outcome,
    restore,
    seed,
    send,
    snapshot,
)

VOCABULARY = {"ok", "login", "403", "404"}
# Citizens' pages and shared downloads: whoever holds the link sees what it leads to.
PUBLIC_BY_TOKEN = ("/c/", "/s/", "/d/")


def test_every_table_row_is_well_formed() -> None:
    for key, row in TABLE.items():
        cells = row.split()
        assert len(cells) == len(ROLES), f"{key}: {len(cells)} outcomes, not {len(ROLES)}"
        for cell in cells:
            assert set(cell.split("/")) <= VOCABULARY and cell.count("/") <= 1, f"{key}: {cell}"
        assert cells[0] in ("ok", "login"), f"{key}: anonymous is either let in or asked to sign in"


def test_every_route_is_in_the_table(settings: Settings) -> None:
    routes = {entry.key for entry in app_routes(create_app(settings))}
    missing = sorted(routes - TABLE.keys())
    stale = sorted(TABLE.keys() - routes)
    assert not missing, "routes missing from tests/authorization_table.py:\n" + "\n".join(missing)
    assert not stale, "rows for routes the app does not have:\n" + "\n".join(stale)


def leaks(world: World, entry: RouteEntry, role: str, response: httpx.Response) -> str:
    """What of the other organisation a partner user's response shows, if anything (its
    name, its people's addresses, its link's code): whatever the status, a partner never sees
    another organisation's data."""
    if role not in ("member", "coordinator") or entry.path.startswith(PUBLIC_BY_TOKEN):
        return ""
    other = world.other
    marks = {
        "name": other.organisation.name,
        "coordinator's e-mail": other.coordinator.email,
        "member's e-mail": other.member.email,
        "spare member's e-mail": other.spare.email,
        "tracked link": other.link_code,
        "tracked link in the campaign both get": world.theirs_in_ours,
        "report's placement": "Syd-only placement",
    }
    binary = response.headers.get("content-type", "").startswith(
        ("video/", "image/png", "image/jpeg")
    )
    text = "" if binary else response.text
    return ", ".join(label for label, mark in marks.items() if mark in text)


@pytest.mark.skipif(
    DB_KIND == "postgresql",
    reason="who may do what does not depend on the database: the matrix runs on the SQLite pass",
)
async def test_authorization_matrix(app: FastAPI, db: Database, settings: Settings) -> None:
    started = time.monotonic()
    world = await seed(db, settings)
    await fake_worker_heartbeat(settings)
    seeded = await snapshot(db)
    entries = [e for e in app_routes(create_app(settings)) if e.key in TABLE]
    mismatches: list[str] = []
    cells = 0
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for entry in entries:
            scopes: tuple[Scope, ...] = ("own",)
            if entry.scoped:
                scopes = ("own", "other", "mixed") if entry.nested else ("own", "other")
            for index, role in enumerate(ROLES):
                for scope in scopes:
                    call = build_call(
                        world,
                        entry,
                        role,
                        scope,
                        body=BODIES.get(entry.key),
                        query=QUERIES.get(entry.key, ""),
                    )
                    response = await send(client, call)
                    cells += 1
                    got = outcome(entry, response)
                    want = expected(entry.key, index, scope)
                    if scope == "mixed":
                        # An own campaign (or link) with another organisation's item, variant
                        # or report inside: never found, whoever asks (unless refused first).
                        want = {"login": "login", "403": "403/404"}.get(want, "404")
                    leaked = leaks(world, entry, role, response)
                    if leaked:
                        mismatches.append(
                            f"{entry.key:70} {role:11} {scope:5} shows the other "
                            f"organisation's {leaked}"
                        )
                    if got not in want.split("/"):
                        detail = response.headers.get("location") or response.text[:160]
                        mismatches.append(
                            f"{entry.key:70} {role:11} {scope:5} want {want:7} "
                            f"got {got:5} ({response.status_code} {detail!r})"
                        )
                    if entry.unsafe and got == "ok":
                        # Whatever the write did, the next cell starts from the same world.
                        await restore(db, seeded)
    elapsed = time.monotonic() - started
    print(f"\nauthorisation matrix: {len(entries)} routes, {cells} cells, {elapsed:.1f} s")
    assert not mismatches, f"{len(mismatches)} cells differ from the table:\n" + "\n".join(
        mismatches
    )
