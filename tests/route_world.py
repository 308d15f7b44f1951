"""Every route of the app, one data set that fills every path parameter, and the credentials
of every role: shared by the authorisation matrix (tests/test_authorization_matrix.py) and the
security checks (tests/system/test_security.py).

The world: two partner organisations, "own" (A) and "other" (B), each with a coordinator, a
member and a spare member (the target of contact routes, invited but not signed up); an
officer and an admin; per organisation a published campaign addressed to it alone, with a
message, a film (with its WhatsApp version and poster frame), a script and a poster, a tracked
link, a forward report with a photo, and a film a partner recorded; an area, an audience, API
tokens, sign-in sessions, and single-use links. Partner users belong to A, so "own" is A's
things and "other" is B's; for staff both are just things.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import SQLModel
from starlette.routing import Mount, Route

import hub.models  # noqa: F401 - every table, for the snapshot
from hub.auth import csrf
from hub.auth import service as auth
from hub.campaigns import service as campaigns
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.forwards import service as forwards
from hub.materials import signing
from hub.models import (
    Campaign,
    CampaignItem,
    Channel,
    FilmSubmission,
    ItemKind,
    MaterialKind,
    Organisation,
    ReportKind,
    Role,
    TokenPurpose,
    User,
)
from hub.system.service import worker_health_key
from hub.tracking import service as tracking
from hub.tracking.citizen import share_token
from hub.tracking.redirect import PREFIX as REDIRECT_PREFIX
from tests.factories import make_area, make_contact, make_partner, make_user
from tests.materials import samples
from tests.tracking.conftest import processed_film, stored_material

ROLES = ("anonymous", "member", "coordinator", "officer", "admin")
# "mixed": the path's first object is the own organisation's, the ones after it the other's
# (an own campaign with another organisation's item, variant or report).
Scope = Literal["own", "other", "mixed"]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Path parameters that name one organisation's things: a route with one is checked for both
# an own and another organisation's object.
SCOPED_PARAMS = frozenset(
    {
        "organisation_id",
        "contact_id",
        "user_id",
        "token_id",
        "campaign_id",
        "item_id",
        "variant_id",
        "submission_id",
        "report_id",
        "link_id",
    }
)


# --- the routes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteEntry:
    """One method of one path, as the table names it: "GET /partners/{organisation_id}"."""

    method: str
    path: str
    endpoint: Any = None
    csrf_dependency: bool = False  # the form's token is checked before the handler runs

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def unsafe(self) -> bool:
        return self.method in UNSAFE

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)(?::\w+)?}", self.path)

    @property
    def scoped(self) -> bool:
        return any(p in SCOPED_PARAMS for p in self.params)

    @property
    def nested(self) -> bool:
        """Whether the path names an object inside another (a campaign's item, a link's
        file), so the two could belong to different organisations."""
        return sum(p in SCOPED_PARAMS or p == "code" for p in self.params) >= 2


def _has_csrf_dependency(route: APIRoute) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call is csrf.require_csrf:
            return True
        pending.extend(dependency.dependencies)
    return False


def app_routes(app: FastAPI) -> list[RouteEntry]:
    """Every method of every route the app answers: its API and page routes, the static
    files, the documentation, and the citizen's short link (answered before any routing)."""
    entries: dict[str, RouteEntry] = {}

    def add(entry: RouteEntry) -> None:
        entries.setdefault(entry.key, entry)

    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            methods = set(route.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")  # a GET route answers HEAD too
            path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)  # {id:int} names {id}
            for method in sorted(methods):
                add(RouteEntry(method, path, route.endpoint, _has_csrf_dependency(route)))
        elif isinstance(route, Mount):
            add(RouteEntry("GET", f"{route.path}/{{path}}"))
        elif isinstance(route, Route):
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                add(RouteEntry(method, route.path, route.endpoint))
        else:  # pragma: no cover - a kind of route this walk does not know yet
            raise AssertionError(f"unknown route type {type(route).__name__}: {route!r}")
    add(RouteEntry("GET", f"{REDIRECT_PREFIX}{{code}}"))
    return sorted(entries.values(), key=lambda e: (e.path, e.method))


# --- the world ------------------------------------------------------------------------------


@dataclass
class OrgThings:
    organisation: Organisation
    coordinator: User
    member: User
    spare: User  # invited, not signed up: the target of contact and user routes
    campaign: int
    items: dict[str, int]
    film_variant: int
    film_material: int
    link: int
    link_code: str
    report: int
    submission: int


@dataclass
class Credentials:
    user: User | None
    session: str = ""
    api_token: str = ""
    api_token_id: int = 0
    csrf_cookie: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def csrf_token(self, settings: Settings) -> str:
        return csrf._sign(settings.secret_key, self.csrf_cookie, self.session)

    def cookie_header(self) -> str:
        cookies = {csrf.CSRF_COOKIE: self.csrf_cookie}
        if self.session:
            cookies[csrf.SESSION_COOKIE] = self.session
        return "; ".join(f"{k}={v}" for k, v in cookies.items())


@dataclass
class World:
    settings: Settings
    own: OrgThings
    other: OrgThings
    officer: User
    admin: User
    area: int
    audience: int
    material: int
    credentials: dict[str, Credentials]
    links: dict[str, str]  # single-use link tokens: magic_link, setup, invitation, download
    theirs_in_ours: str = ""  # the code of the other's link in the campaign both get

    def things(self, scope: Scope) -> OrgThings:
        return self.other if scope == "other" else self.own


async def _organisation_things(
    db: Database,
    settings: Settings,
    *,
    organisation: Organisation,
    other: Organisation,
    officer: User,
    shared: bool,
) -> OrgThings:
    name = organisation.name
    coordinator = await make_contact(db, organisation, coordinator=True)
    member = await make_contact(db, organisation)
    spare = await make_contact(db, organisation, password=None)
    film_bytes = samples.mp4(secrets.token_bytes(64))
    async with unit_of_work(db, None) as session:
        campaign = await campaigns.create_campaign(
            session,
            owner=officer,
            title=f"Vaccination – {name}",
            # The own organisation's campaign is addressed to the other one too (which has
            # its own links and reports in it); the other's is addressed to it alone.
            audience_spec={} if shared else {"exclude_ids": [other.id]},
        )
        message = await campaigns.create_item(
            session, campaign, kind=ItemKind.message, title="Vaccinen er gratis"
        )
        for language in ("da", "so"):
            await campaigns.set_variant(
                session, campaign, message, language=language, text="Tag familien med."
            )
        film_material = await processed_film(session, settings, film_bytes)
        session.add(film_material)
        film = await campaigns.create_item(session, campaign, kind=ItemKind.film, title="Film")
        film_variant = await campaigns.set_variant(
            session, campaign, film, language="da", material_id=film_material.id, title="Film"
        )
        script = await campaigns.create_item(
            session, campaign, kind=ItemKind.script, title="Manuskript"
        )
        await campaigns.set_variant(
            session, campaign, script, language="da", text="# Manuskript\n\nSig det selv."
        )
        poster_material = await stored_material(
            session, settings, samples.png(8, 8), MaterialKind.image, "png", "image/png"
        )
        poster = await campaigns.create_item(
            session, campaign, kind=ItemKind.poster, title="Plakat"
        )
        await campaigns.set_variant(
            session, campaign, poster, language="da", material_id=poster_material.id
        )
        await campaigns.publish_campaign(session, campaign)
        kinds = {"message": message, "film": film, "script": script, "poster": poster}
        items = {kind: item.id or 0 for kind, item in kinds.items()}
        link = await tracking.get_or_create_link(
            session,
            organisation_id=organisation.id,  # type: ignore[arg-type]
            campaign=campaign,
            item=film,
            language="da",
            channel=Channel.whatsapp,
            created_by=member,
        )
        report = await forwards.create_report(
            session,
            principal=member,
            campaign=campaign,
            kind=ReportKind.forward,
            values={
                "item_id": film.id,
                "language": "da",
                "channel": Channel.whatsapp,
                "occurred_on": forwards.today_in_copenhagen(),
                "audience_estimate": 120,
            },
        )
        evidence = await stored_material(
            session, settings, samples.jpeg(), MaterialKind.image, "jpg", "image/jpeg"
        )
        report.evidence_material_id = evidence.id
        session.add(report)
        recorded = await stored_material(
            session,
            settings,
            samples.mp4(secrets.token_bytes(64)),
            MaterialKind.film,
            "mp4",
            "video/mp4",
        )
        submission = FilmSubmission(
            item_id=script.id,  # type: ignore[arg-type]
            organisation_id=organisation.id,  # type: ignore[arg-type]
            language="da",
            material_id=recorded.id,  # type: ignore[arg-type]
            submitted_by_id=member.id,
        )
        session.add(submission)
        await session.flush()
        return OrgThings(
            organisation=organisation,
            coordinator=coordinator,
            member=member,
            spare=spare,
            campaign=campaign.id,  # type: ignore[arg-type]
            items=items,
            film_variant=film_variant.id,  # type: ignore[arg-type]
            film_material=film_material.id,  # type: ignore[arg-type]
            link=link.id,  # type: ignore[arg-type]
            link_code=link.code,
            report=report.id,  # type: ignore[arg-type]
            submission=submission.id,  # type: ignore[arg-type]
        )


async def _other_in_shared_campaign(
    db: Database, settings: Settings, *, own: OrgThings, other: OrgThings
) -> str:
    """The other organisation's link, report and film in the campaign both get; returns
    the link's code. A partner sees none of them in that campaign."""
    async with unit_of_work(db, None) as session:
        campaign = await session.get(Campaign, own.campaign)
        assert campaign is not None
        film = await session.get(CampaignItem, own.items["film"])
        assert film is not None
        link = await tracking.get_or_create_link(
            session,
            organisation_id=other.organisation.id,  # type: ignore[arg-type]
            campaign=campaign,
            item=film,
            language="da",
            channel=Channel.facebook,
            created_by=other.member,
        )
        await forwards.create_report(
            session,
            principal=other.member,
            campaign=campaign,
            kind=ReportKind.forward,
            values={
                "item_id": film.id,
                "language": "da",
                "channel": Channel.facebook,
                "occurred_on": forwards.today_in_copenhagen(),
                "audience_estimate": 75,
                "placement": "Syd-only placement",
            },
        )
        recorded = await stored_material(
            session,
            settings,
            samples.mp4(secrets.token_bytes(64)),
            MaterialKind.film,
            "mp4",
            "video/mp4",
        )
        session.add(
            FilmSubmission(
                item_id=own.items["script"],
                organisation_id=other.organisation.id,  # type: ignore[arg-type]
                language="da",
                material_id=recorded.id,  # type: ignore[arg-type]
                submitted_by_id=other.member.id,
            )
        )
        await session.flush()
        return link.code


async def seed(db: Database, settings: Settings) -> World:
    """The data set every route's parameters come from (see the module's docstring)."""
    officer = await make_user(db, role=Role.officer, name="Olga Officer")
    admin = await make_user(db, role=Role.admin, name="Ada Admin")
    area = await make_area(db, code="NORD", population=10_000, uptake=[("2026-01-01", 55.0)])
    organisations = [
        await make_partner(
            db, name=name, languages=["da", "so"], area_ids=[area], channels=[("whatsapp", 200)]
        )
        for name in ("Moské Nord", "Forening Syd")
    ]
    own = await _organisation_things(
        db,
        settings,
        organisation=organisations[0],
        other=organisations[1],
        officer=officer,
        shared=True,
    )
    other = await _organisation_things(
        db,
        settings,
        organisation=organisations[1],
        other=organisations[0],
        officer=officer,
        shared=False,
    )
    theirs_in_ours = await _other_in_shared_campaign(db, settings, own=own, other=other)
    users: dict[str, User | None] = {
        "anonymous": None,
        "member": own.member,
        "coordinator": own.coordinator,
        "officer": officer,
        "admin": admin,
    }
    credentials: dict[str, Credentials] = {}
    async with unit_of_work(db, None) as session:
        from hub.audiences.service import AudienceSpec, save_audience

        audience = await save_audience(
            session, name="Nord", spec=AudienceSpec(area_ids=[area]), created_by=officer
        )
        for role, user in users.items():
            if user is None:
                credentials[role] = Credentials(user=None)
                continue
            raw_session = await auth.start_session(session, user=user, hours=1)
            token, raw_token = await auth.create_api_token(session, user=user, name=role)
            credentials[role] = Credentials(
                user=user,
                session=raw_session,
                api_token=raw_token,
                api_token_id=token.id,  # type: ignore[arg-type]
            )
        # A token of a user in the other organisation: "another user's token".
        other_token, _raw = await auth.create_api_token(session, user=other.member, name="theirs")
        links = {
            "magic_link": await auth.issue_link_token(
                session,
                purpose=TokenPurpose.magic_link,
                ttl=timedelta(minutes=15),
                user_id=own.spare.id,
            ),
            "invitation": await auth.issue_link_token(
                session,
                purpose=TokenPurpose.invitation,
                ttl=timedelta(days=7),
                user_id=own.spare.id,
            ),
            "setup": await auth.issue_link_token(
                session, purpose=TokenPurpose.setup, ttl=timedelta(hours=1)
            ),
            "download": signing.download_link(
                base_url="",
                secret=settings.secret_key,
                variant_id=own.film_variant,
                organisation_id=own.organisation.id,
            )[0].removeprefix("/d/"),
            "other_api_token_id": str(other_token.id),
            "import": secrets.token_urlsafe(16),
        }
    await _pending_imports(settings, [officer, admin], links["import"])
    return World(
        settings=settings,
        own=own,
        other=other,
        officer=officer,
        admin=admin,
        area=area,
        audience=audience.id,  # type: ignore[arg-type]
        material=own.film_material,
        credentials=credentials,
        links=links,
        theirs_in_ours=theirs_in_ours,
    )


async def _pending_imports(settings: Settings, users: list[User], token: str) -> None:
    """A dry run of a partner import waiting for each user's commit (as hub.imports.pages
    keeps it in Redis)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        for user in users:
            key = f"{settings.redis_prefix}import:{user.id}:{token}"
            await client.set(key, "navn;type\nForening Øst;forening\n".encode(), ex=600)
    finally:
        await client.aclose()


async def fake_worker_heartbeat(settings: Settings) -> None:
    """What a running worker leaves in Redis, so /readyz can answer "ready"."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        await client.set(worker_health_key(settings.queue_name), "matrix", ex=600)
    finally:
        await client.aclose()


# --- path parameters ------------------------------------------------------------------------

# Which item a route about an item needs: scripts are recorded, not forwarded.
SCRIPT_ROUTES = ("/portal/campaigns/{campaign_id}/items/{item_id}",)
ACTIONS = {
    "/campaigns/{campaign_id}/status/{action}": "close",
    "/campaigns/{campaign_id}/sending/{action}": "pause",
    "/organisations/{organisation_id}/webhook/{action}": "rotate",
}
TOKENS = {
    "/login/link/{token}": "magic_link",
    "/setup/{token}": "setup",
    "/invitation/{token}": "invitation",
    "/d/{token}": "download",
}


def path_value(world: World, entry: RouteEntry, name: str, role: str, scope: Scope) -> str:
    """The real id (or code, or word) that fills the parameter ``name`` of ``entry``."""
    things = world.things(scope)
    path = entry.path
    match name:
        case "organisation_id":
            return str(things.organisation.id)
        case "contact_id" | "user_id":
            return str(things.spare.id)
        case "token_id":
            if scope == "other" or role == "anonymous":
                return world.links["other_api_token_id"]
            return str(world.credentials[role].api_token_id)
        case "campaign_id":
            return str(things.campaign)
        case "item_id":
            script = path.startswith(SCRIPT_ROUTES) and "/portal/" in path
            return str(things.items["script" if script else "film"])
        case "variant_id":
            return str(things.film_variant)
        case "submission_id":
            return str(things.submission)
        case "report_id":
            return str(things.report)
        case "link_id":
            return str(things.link)
        case "area_id":
            return str(world.area)
        case "audience_id":
            return str(world.audience)
        case "material_id":
            return str(world.material)
        case "language":
            return "da"
        case "fmt":
            return "partners" if path.startswith("/imports/") else "svg"
        case "action":
            return ACTIONS[path]
        case "rendition":
            return "original"
        case "code":
            return things.link_code
        case "share_token":  # the citizen page's "share further" form
            return share_token(world.settings.secret_key, things.link_code)
        case "import_token":  # a dry run waiting for its commit (see seed)
            return world.links["import"]
        case "today":
            return today().isoformat()
        case "new_email":
            return f"new-{secrets.token_hex(4)}@example.org"
        case "token":
            return world.links[TOKENS[path]]
        case "path":
            return "css/campaigns.css"
    raise AssertionError(f"no value for the parameter {name!r} of {entry.key}")


def fill_path(world: World, entry: RouteEntry, role: str, scope: Scope) -> str:
    return fill(world, entry, entry.path, role, scope)


def fill(world: World, entry: RouteEntry, template: str, role: str, scope: Scope) -> str:
    seen: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        this: Scope = scope
        if scope == "mixed":
            this = "other" if seen else "own"
            if name in SCOPED_PARAMS or name == "code":
                seen.append(name)
        return path_value(world, entry, name, role, this)

    return re.sub(r"{(\w+)(?::\w+)?}", value, template)


def fill_body(world: World, entry: RouteEntry, body: Any, role: str, scope: Scope) -> Any:
    """A body template with its "{placeholders}" filled (a whole "{id}" becomes a number)."""
    if isinstance(body, dict):
        return {k: fill_body(world, entry, v, role, scope) for k, v in body.items()}
    if isinstance(body, list):
        return [fill_body(world, entry, v, role, scope) for v in body]
    if isinstance(body, str) and "{" in body:
        filled = fill(world, entry, body, role, scope)
        whole_id = re.fullmatch(r"{\w+_id}", body)
        return int(filled) if whole_id and filled.isdigit() else filled
    return body


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What one cell sends."""

    method: str
    url: str
    headers: dict[str, str]
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    json: Any = None


def build_call(
    world: World,
    entry: RouteEntry,
    role: str,
    scope: Scope,
    *,
    body: Any = None,
    query: str = "",
    csrf_token: bool | str = True,
    use_bearer: bool = True,
) -> Call:
    """The request of one cell: a page with the role's cookies (and, for a form, a valid
    CSRF token and nothing else); the API with the role's bearer token and an empty or given
    JSON body. ``csrf_token=False`` leaves the token out, a string sends that one instead;
    ``use_bearer=False`` calls the API with the session cookie instead."""
    creds = world.credentials[role]
    url = fill_path(world, entry, role, scope)
    if query:
        url += "?" + fill(world, entry, query, role, scope)
    body = fill_body(world, entry, body, role, scope)
    headers = {"Accept-Language": "en"}
    if entry.is_api and use_bearer:
        if creds.api_token:
            headers["Authorization"] = f"Bearer {creds.api_token}"
        if entry.unsafe and entry.method != "DELETE":
            return Call(entry.method, url, headers, json={} if body is None else body)
        return Call(entry.method, url, headers)
    headers["Cookie"] = creds.cookie_header()
    if not entry.unsafe:
        return Call(entry.method, url, headers)
    fields = dict(body or {})
    token = creds.csrf_token(world.settings) if csrf_token is True else csrf_token
    if entry.is_api:  # the session cookie: writes need the token as a header
        if token:
            headers[csrf.CSRF_HEADER] = token
        return Call(entry.method, url, headers, json=fields)
    if token:
        fields[csrf.CSRF_FIELD] = token
    if (
        entry.endpoint is not None
        and not entry.csrf_dependency
        and not entry.path.startswith("/c/")
    ):
        # An upload form: multipart, the token inside the body, checked by the handler.
        return Call(
            entry.method,
            url,
            headers,
            data=fields,
            files={"file": ("", b"", "application/octet-stream")},
        )
    return Call(entry.method, url, headers, data=fields)


async def send(client: httpx.AsyncClient, call: Call) -> httpx.Response:
    client.cookies.clear()  # every call carries its own cookies; none stick
    return await client.request(
        call.method,
        call.url,
        headers=call.headers,
        data=call.data,
        files=call.files,
        json=call.json,
    )


def outcome(entry: RouteEntry, response: httpx.Response) -> str:
    """What a response says about authorisation, in the table's words (see
    tests/authorization_table.py): ok, login, 403, 404; anything else is its status code."""
    status = response.status_code
    location = response.headers.get("location", "")
    if entry.is_api:
        if status == 401:
            return "login"
    elif status in (302, 303, 307) and location.startswith("/login?next="):
        return "login"
    if status in (302, 303, 307) and location.startswith("/organisation/agreement"):
        return "agreement"
    if status in (403, 404):
        return str(status)
    if 200 <= status < 400:
        return "ok"
    if entry.unsafe and status in (400, 409, 413, 415, 422):
        return "ok"  # past authorisation: the empty body was refused after the checks
    return str(status)


# --- the database as a whole ----------------------------------------------------------------

Snapshot = dict[str, list[tuple[Any, ...]]]


def _tables() -> Sequence[sa.Table]:
    return SQLModel.metadata.sorted_tables


async def snapshot(db: Database) -> Snapshot:
    """Every row of every table, in primary-key order."""
    rows: Snapshot = {}
    async with db.engine.connect() as connection:
        for table in _tables():
            order = list(table.primary_key.columns) or list(table.columns)
            result = await connection.execute(sa.select(table).order_by(*order))
            rows[table.name] = [tuple(row) for row in result]
    return rows


async def restore(db: Database, rows: Snapshot) -> None:
    """Put every table back as it was in ``rows`` (after a cell that changed something)."""
    async with db.engine.begin() as connection:
        for table in reversed(_tables()):
            await connection.execute(table.delete())
        for table in _tables():
            saved = rows[table.name]
            if saved:
                names = [c.name for c in table.columns]
                await connection.execute(
                    table.insert(), [dict(zip(names, r, strict=True)) for r in saved]
                )


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


def today() -> date:
    return forwards.today_in_copenhagen()
