"""Security checks over every route: CSRF on every form, no state change on GET, the security
headers on every answer, sessions cut off at once, single-use links, and known vulnerabilities
in the installed packages. The routes and the data set come from tests/route_world.py, the
roles that may use each route from tests/authorization_table.py."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hub.auth import csrf
from hub.auth import service as auth
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.main import create_app
from hub.models import Role, TokenPurpose
from tests.authorization_table import BODIES, QUERIES, allowed_roles
from tests.conftest import DB_KIND
from tests.factories import (
    PASSWORD,
    api_token,
    bearer,
    csrf_from,
    csrf_token,
    login,
    make_contact,
    make_partner,
    make_user,
)
from tests.route_world import (
    ROLES,
    Call,
    RouteEntry,
    World,
    app_routes,
    build_call,
    changed_tables,
    fake_worker_heartbeat,
    outcome,
    restore,
    seed,
    send,
    snapshot,
)


@pytest.fixture
async def world(db: Database, settings: Settings) -> World:
    built = await seed(db, settings)
    await fake_worker_heartbeat(settings)
    return built


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps no cookies between calls (each call brings the role's own)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def routes(settings: Settings) -> list[RouteEntry]:
    return app_routes(create_app(settings))


def test_every_listed_exception_names_a_route(settings: Settings) -> None:
    keys = {entry.key for entry in routes(settings)}
    for listed in (NO_CSRF, GET_WRITES, CACHEABLE):
        assert listed.keys() <= keys, sorted(listed.keys() - keys)


def call_for(
    world: World,
    entry: RouteEntry,
    role: str,
    *,
    csrf_token: bool | str = True,
    use_bearer: bool = True,
) -> Call:
    """The matrix's request of ``entry`` for ``role`` (own organisation's objects)."""
    return build_call(
        world,
        entry,
        role,
        "own",
        body=BODIES.get(entry.key),
        query=QUERIES.get(entry.key, ""),
        csrf_token=csrf_token,
        use_bearer=use_bearer,
    )


# --- CSRF on every form -----------------------------------------------------------------------

# State-changing routes outside /api that carry no CSRF token, and why that is safe.
NO_CSRF = {
    # The citizen's page sets no cookie (nothing personal, by design), so there is no session
    # to ride on; the form carries its own token (an HMAC of the link's code) instead, and
    # all it does is issue a child link.
    "POST /c/{code}/share": "the citizen's page: no cookie, no session; its own form token",
}


@pytest.mark.skipif(
    DB_KIND == "postgresql",
    reason="every route, every role: once (the SQLite pass) is enough; no database difference",
)
async def test_every_form_refuses_a_missing_or_forged_csrf_token(
    browser: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    forms = [e for e in routes(settings) if e.unsafe and not e.is_api and e.key not in NO_CSRF]
    assert len(forms) >= 50  # the walk found the app's forms
    seeded = await snapshot(db)
    failures: list[str] = []
    forged = csrf._sign(settings.secret_key, "a-cookie-of-another-browser", "")
    for entry in forms:
        role = allowed_roles(entry.key)[-1]  # admins first, where they may
        for label, token in (("missing", False), ("forged", forged)):
            call = call_for(world, entry, role, csrf_token=token)
            response = await send(browser, call)
            changed = changed_tables(seeded, await snapshot(db))
            if response.status_code != 403 or changed:
                failures.append(
                    f"{entry.key} as {role}, token {label}: {response.status_code}"
                    + (f", changed {changed}" if changed else "")
                )
                await restore(db, seeded)
        # The same request with a valid token gets through: the 403 was the token's.
        response = await send(browser, call_for(world, entry, role))
        if outcome(entry, response) != "ok":
            failures.append(f"{entry.key} as {role} with a valid token: {response.status_code}")
        await restore(db, seeded)
    assert not failures, "forms without CSRF protection:\n" + "\n".join(failures)


async def test_the_api_with_a_session_cookie_needs_the_csrf_header(
    browser: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    writes = [e for e in routes(settings) if e.unsafe and e.is_api]
    seeded = await snapshot(db)
    failures: list[str] = []
    for entry in writes:
        role = allowed_roles(entry.key)[-1]
        call = call_for(world, entry, role, use_bearer=False, csrf_token=False)
        response = await send(browser, call)
        changed = changed_tables(seeded, await snapshot(db))
        if response.status_code != 403 or changed:
            failures.append(f"{entry.key} as {role}: {response.status_code} {changed or ''}")
            await restore(db, seeded)
    assert not failures, "API writes with a cookie and no X-CSRF-Token:\n" + "\n".join(failures)


# --- no state change on GET -------------------------------------------------------------------

# Tables a GET may write to, per route, and why.
GET_WRITES: dict[str, dict[str, str]] = {
    "GET /portal/campaigns/{campaign_id}": {
        "campaign_visit": "the kit counts one visit per partner user and day (reach reports)",
    },
    "GET /api/v1/variants/{variant_id}/download": {
        "material_download": "each download is counted for the organisation (reach reports)",
    },
    "GET /d/{token}": {
        "material_download": "a shared link's downloads count for the organisation that shared",
    },
}


@pytest.mark.skipif(
    DB_KIND == "postgresql",
    reason="every route, every role: once (the SQLite pass) is enough; no database difference",
)
async def test_no_get_changes_the_database(
    browser: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    reads = [e for e in routes(settings) if not e.unsafe]
    assert len(reads) > 100
    failures: list[str] = []
    for entry in reads:
        before = await snapshot(db)
        for role in ROLES:
            for scope in ("own", "other") if entry.scoped else ("own",):
                call = build_call(world, entry, role, scope, query=QUERIES.get(entry.key, ""))
                await send(browser, call)
        changed = set(changed_tables(before, await snapshot(db)))
        allowed = GET_WRITES.get(entry.key, {})
        if changed - allowed.keys():
            failures.append(f"{entry.key} wrote to {sorted(changed - allowed.keys())}")
        if changed:
            await restore(db, before)
    assert not failures, "GET requests that change state:\n" + "\n".join(failures)


async def test_the_listed_get_writes_happen(
    browser: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    """The exceptions above are real (an exception for nothing would hide a future write)."""
    by_key = {e.key: e for e in routes(settings)}
    for key, tables in GET_WRITES.items():
        before = await snapshot(db)
        await send(browser, build_call(world, by_key[key], "member", "own"))
        assert set(changed_tables(before, await snapshot(db))) == set(tables), key


# --- security headers -------------------------------------------------------------------------

# Signed-in answers that may be kept by the browser, and why (everything else: no-store).
CACHEABLE = {
    "GET /api/v1/variants/{variant_id}/download": "private, no-cache: Range and ETag revalidate",
    "HEAD /api/v1/variants/{variant_id}/download": "private, no-cache: as its GET",
    "GET /api/v1/materials/{material_id}/download": "private, no-cache: Range and ETag",
    "HEAD /api/v1/materials/{material_id}/download": "private, no-cache: as its GET",
    "GET /portal/reports/{report_id}/evidence": "private, no-cache: the report's photo",
    "GET /api/v1/reports/{report_id}/evidence": "private, no-cache: the report's photo",
    "GET /portal/links/{link_id}/qr.{fmt}": "private: a QR code, kept a day for printing",
    "GET /api/v1/links/{link_id}/qr.{fmt}": "private: a QR code, kept a day for printing",
}
# Public answers the same for everyone, signed in or not.
PUBLIC_CACHE = ("/static/", "/favicon.ico", "/robots.txt", "/c/", "/d/")


def header_problems(
    entry: RouteEntry, role: str, response: httpx.Response, *, https: bool = False
) -> list[str]:
    headers = response.headers
    problems = []
    if "content-security-policy" not in headers:
        problems.append("no Content-Security-Policy")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if not headers.get("referrer-policy"):
        problems.append("no Referrer-Policy")
    if https != ("strict-transport-security" in headers):
        problems.append(f"HSTS {'missing' if https else 'sent over http'}")
    public = entry.path.startswith(PUBLIC_CACHE) or entry.key in CACHEABLE
    signed_in = role != "anonymous"
    no_store = "no-store" in headers.get("cache-control", "")
    if (signed_in or entry.is_api) and not public and not no_store:
        problems.append(f"Cache-Control {headers.get('cache-control')!r}, not no-store")
    return problems


async def test_every_answer_has_the_security_headers(
    browser: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    seeded = await snapshot(db)
    failures: list[str] = []
    for entry in routes(settings):
        for role in ("anonymous", "member", "admin"):
            response = await send(browser, call_for(world, entry, role))
            for problem in header_problems(entry, role, response):
                failures.append(f"{entry.key} as {role} ({response.status_code}): {problem}")
            if entry.unsafe and outcome(entry, response) == "ok":
                await restore(db, seeded)
    assert not failures, "answers without the security headers:\n" + "\n".join(failures)


@pytest.fixture
async def https_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"base_url": "https://hub.example.dk"}))
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[misc]


async def test_hsts_only_when_the_hub_is_served_over_https(
    https_app: FastAPI, browser: httpx.AsyncClient, settings: Settings, world: World
) -> None:
    by_key = {e.key: e for e in routes(settings)}
    sample = ["GET /login", "GET /", "GET /api/v1/me", "GET /static/{path}", "GET /s/{code}"]
    transport = httpx.ASGITransport(app=https_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://hub.example.dk") as c:
        for key in sample:
            entry = by_key[key]
            response = await send(c, call_for(world, entry, "admin"))
            assert response.headers.get("strict-transport-security", "").startswith("max-age="), key
            assert header_problems(entry, "admin", response, https=True) == [], key
    for key in sample:  # and over http, none
        response = await send(browser, call_for(world, by_key[key], "admin"))
        assert "strict-transport-security" not in response.headers, key


async def test_an_unexpected_error_has_the_security_headers_too(settings: Settings) -> None:
    application = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    application.add_api_route("/api/v1/broken", broken)
    application.add_api_route("/broken", broken)
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for path in ("/api/v1/broken", "/broken"):
                response = await c.get(path)
                assert response.status_code == 500
                entry = RouteEntry("GET", path)
                assert header_problems(entry, "anonymous", response) == [], path


# --- sessions end at once ---------------------------------------------------------------------


async def _cut_off(client: httpx.AsyncClient, cookie: str, token: str) -> None:
    """Neither the old session cookie (pages and API) nor the API token works any more."""
    client.cookies.clear()
    page = await client.get("/", headers={"Cookie": f"{csrf.SESSION_COOKIE}={cookie}"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    api = await client.get("/api/v1/me", headers={"Cookie": f"{csrf.SESSION_COOKIE}={cookie}"})
    assert api.status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401


async def test_logout_ends_the_session_for_pages_and_the_api(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    await login(client, user.email)
    cookie = client.cookies[csrf.SESSION_COOKIE]
    session_cookie = {"Cookie": f"{csrf.SESSION_COOKIE}={cookie}"}
    assert (await anon_client.get("/api/v1/me", headers=session_cookie)).status_code == 200
    await client.post("/logout", data={"csrf_token": await csrf_token(client, "/")})
    anon_client.cookies.clear()
    assert (await anon_client.get("/api/v1/me", headers=session_cookie)).status_code == 401
    # The user's API tokens are separate credentials of programs: signing out of a browser
    # leaves them working (disabling the account is what stops them, below).
    raw = await api_token(client, db, user)
    assert (await anon_client.get("/api/v1/me", headers=bearer(raw))).status_code == 200


@pytest.mark.parametrize("how", ["users page", "API"])
async def test_disabling_an_account_cuts_off_cookie_and_tokens_for_good(
    how: str, client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin)
    officer = await make_user(db, role=Role.officer)
    await login(anon_client, officer.email)
    cookie = anon_client.cookies[csrf.SESSION_COOKIE]
    token = await api_token(client, db, officer)
    assert (await anon_client.get("/")).status_code == 200
    admin_h = bearer(await api_token(client, db, admin))
    if how == "API":
        disabled = await client.patch(
            f"/api/v1/users/{officer.id}", json={"is_active": False}, headers=admin_h
        )
        assert disabled.status_code == 200
    else:
        await login(client, admin.email)
        page = await client.get(f"/users/{officer.id}/disable")
        disabled = await client.post(
            f"/users/{officer.id}/disable", data={"csrf_token": csrf_from(page.text)}
        )
        assert disabled.status_code == 303
    await _cut_off(anon_client, cookie, token)
    # Enabling the account again does not bring the old session or token back.
    enabled = await client.patch(
        f"/api/v1/users/{officer.id}", json={"is_active": True}, headers=admin_h
    )
    assert enabled.status_code == 200 and enabled.json()["is_active"] is True
    await _cut_off(anon_client, cookie, token)
    assert (await login(anon_client, officer.email)).status_code == 303  # a new sign-in works


async def test_a_removed_member_is_cut_off_at_once(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    organisation = await make_partner(db)
    coordinator = await make_contact(db, organisation, coordinator=True)
    member = await make_contact(db, organisation)
    await login(anon_client, member.email)
    cookie = anon_client.cookies[csrf.SESSION_COOKIE]
    token = await api_token(client, db, member)
    await login(client, coordinator.email)
    confirm = await client.get(f"/contacts/{member.id}/remove")
    assert confirm.status_code == 200
    removed = await client.post(
        f"/contacts/{member.id}/remove", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert removed.status_code == 303
    await _cut_off(anon_client, cookie, token)
    assert (await login(anon_client, member.email, PASSWORD)).status_code == 400


# --- single-use links -------------------------------------------------------------------------


async def test_an_invitation_link_works_once(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    organisation = await make_partner(db)
    invited = await make_contact(db, organisation, password=None)
    async with unit_of_work(db, None) as session:
        raw = await auth.issue_link_token(
            session, purpose=TokenPurpose.invitation, ttl=timedelta(days=7), user_id=invited.id
        )
    path = f"/invitation/{raw}"
    form = await client.get(path)
    assert form.status_code == 200
    data = {
        "password": "a long enough password",
        "password_again": "a long enough password",
        "accept_dpa": "yes",
        "csrf_token": csrf_from(form.text),
    }
    assert (await client.post(path, data=data)).status_code == 303
    # A second use, from this browser or another: the link is spent.
    again = {**data, "password": "another long password", "password_again": "another long password"}
    second = await client.post(path, data={**again, "csrf_token": await csrf_token(client, "/")})
    assert second.status_code == 404
    replay = await anon_client.post(
        path, data={**again, "csrf_token": await csrf_token(anon_client)}
    )
    assert replay.status_code == 404
    assert (await anon_client.get(path)).status_code == 404
    # The first password stands; the second was not set.
    assert (await login(anon_client, invited.email, "another long password")).status_code == 400
    assert (await login(anon_client, invited.email, "a long enough password")).status_code == 303


async def test_a_setup_link_cannot_be_posted_twice(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    async with unit_of_work(db, None) as session:
        raw = await auth.issue_link_token(
            session, purpose=TokenPurpose.setup, ttl=timedelta(hours=1)
        )
    path = f"/setup/{raw}"

    def form(email: str, token: str) -> dict[str, str]:
        password = "a good long password"
        return {
            "name": "Ada",
            "email": email,
            "password": password,
            "password_again": password,
            "csrf_token": token,
        }

    first = await client.post(path, data=form("ada@example.org", await csrf_token(client)))
    assert first.status_code == 303
    second = await anon_client.post(
        path, data=form("mallory@example.org", await csrf_token(anon_client))
    )
    assert second.status_code == 404
    async with unit_of_work(db, None) as session:
        assert await auth.user_by_email(session, "mallory@example.org") is None


# --- known vulnerabilities in the installed packages ------------------------------------------

AUDIT_HOST = ("pypi.org", 443)  # pip-audit's default vulnerability service


def _online() -> bool:
    try:
        with socket.create_connection(AUDIT_HOST, timeout=3):
            return True
    except OSError:
        return False


@pytest.mark.timeout(600)
def test_no_installed_package_has_a_known_vulnerability() -> None:
    """pip-audit over this environment (once per run: on the SQLite pass)."""
    if os.environ.get("HUB_TEST_DATABASE", "sqlite") != "sqlite":
        pytest.skip("the package audit runs once, on the SQLite pass")
    audit = shutil.which("pip-audit", path=str(Path(sys.executable).parent))
    if audit is None:
        pytest.fail("pip-audit is not installed: pip install -e '.[dev]'")
    if not _online():
        pytest.skip(
            "pip-audit skipped: the vulnerability database (pypi.org) cannot be reached "
            "from this machine (offline)"
        )
    result = subprocess.run(
        [audit, "--local", "--skip-editable", "--progress-spinner", "off", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    if result.returncode not in (0, 1):
        if "ConnectionError" in result.stderr or "Max retries" in result.stderr:
            pytest.skip(f"pip-audit skipped: the vulnerability database went away\n{result.stderr}")
        pytest.fail(f"pip-audit failed to run:\n{result.stderr}")
    report = json.loads(result.stdout)
    installed = [
        dep for dep in report["dependencies"] if "editable" not in dep.get("skip_reason", "")
    ]
    if not any(not dep.get("skip_reason") for dep in installed):
        pytest.skip(
            f"pip-audit skipped: the vulnerability database (PyPI) knows none of the "
            f"{len(installed)} installed packages' versions (they come from a local package "
            f"index on this machine), so none could be audited"
        )
    found = [
        f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions'])})"
        for dep in report["dependencies"]
        for vuln in dep.get("vulns", [])
    ]
    assert not found, "known vulnerabilities:\n" + "\n".join(found)
