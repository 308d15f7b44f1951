"""The world of the run: partner organisations and their e-mail contacts, an officer with an
API token (written straight into the database, as an import would), then the campaign the
officer composes and publishes through the hub's API, and the partners' tracked links."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from hub.auth import service as auth
from hub.db import Database, unit_of_work
from hub.models import (
    Campaign,
    CampaignItem,
    Channel,
    Organisation,
    OrganisationKind,
    OrganisationLanguage,
    OrgRole,
    Role,
    User,
    utcnow,
)
from hub.tracking import service as tracking

from .servers import SetupError

CONTACTS_PER_ORGANISATION = 20
KINDS = (
    OrganisationKind.association,
    OrganisationKind.faith_community,
    OrganisationKind.housing_organisation,
)
LANGUAGES = ("ar", "so", "tr", "ur")
DPA_VERSION = "2026-1"
# Each partner's own links: (item, channel), all in Danish.
LINKS = (("message", Channel.whatsapp), ("message", Channel.facebook), ("poster", Channel.poster))


@dataclass
class World:
    token: str
    organisation_ids: list[int]
    emails: set[str]
    campaign_id: int = 0
    material_id: int = 0
    item_ids: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)  # code → link id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}


def contact_email(organisation: int, n: int) -> str:
    return f"kontakt-{n:05d}@partner-{organisation:04d}.scale.example"


async def seed(db: Database, contacts: int) -> World:
    """Organisations of 20 contacts each (the last may have fewer) and an officer."""
    organisations = -(-contacts // CONTACTS_PER_ORGANISATION)
    async with unit_of_work(db, None) as session:
        officer = await auth.create_user(
            session, email="officer@kommune.example", role=Role.officer, name="Officer"
        )
        _token, raw = await auth.create_api_token(session, user=officer, name="scale-out")
        rows = [
            Organisation(
                name=f"Partner {n:04d}",
                kind=KINDS[n % len(KINDS)],
                dpa_accepted_at=utcnow(),
                dpa_version=DPA_VERSION,
            )
            for n in range(organisations)
        ]
        session.add_all(rows)
        await session.flush()
        ids = [o.id or 0 for o in rows]
        session.add_all(
            OrganisationLanguage(organisation_id=i, language=lang)
            for n, i in enumerate(ids)
            for lang in ("da", LANGUAGES[n % len(LANGUAGES)])
        )
        emails: set[str] = set()
        users = []
        for n in range(contacts):
            org = n // CONTACTS_PER_ORGANISATION
            email = contact_email(org, n)
            emails.add(email)
            users.append(
                User(
                    email=email,
                    name=f"Kontakt {n}",
                    role=Role.partner,
                    organisation_id=ids[org],
                    language="da" if n % 3 else "en",
                    org_role=OrgRole.coordinator if n % 20 == 0 else OrgRole.member,
                )
            )
        session.add_all(users)
        await session.flush()
    return World(token=raw, organisation_ids=ids, emails=emails)


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid grey PNG: the poster's file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _ok(answer: httpx.Response, *expected: int) -> dict[str, Any]:
    if answer.status_code not in expected:
        raise SetupError(
            f"{answer.request.method} {answer.request.url.path} answered "
            f"{answer.status_code}: {answer.text[:500]}"
        )
    body: dict[str, Any] = answer.json()
    return body


async def compose(client: httpx.AsyncClient, world: World) -> None:
    """The officer's draft through the API: a message and a poster (an uploaded file) in
    Danish, addressed to the partner kinds of the run."""
    campaign = _ok(
        await client.post(
            "/api/v1/campaigns",
            json={
                "title": "Vinterens vaccination",
                "purpose": "Flere vaccinerede i de boligområder, hvor færrest er vaccineret.",
                "audience_spec": {"kinds": [k.value for k in KINDS]},
            },
        ),
        201,
    )
    world.campaign_id = int(campaign["id"])
    files = {"file": ("plakat.png", tiny_png(), "image/png")}
    material = _ok(await client.post("/api/v1/materials", files=files), 200, 201)
    world.material_id = int(material["id"])
    variants = {
        "message": {"title": "Vaccinen er gratis", "text": "Vaccinen er gratis. Tag familien med!"},
        "poster": {"title": "Plakat", "material_id": material["id"]},
    }
    for kind, variant in variants.items():
        item = _ok(
            await client.post(
                f"/api/v1/campaigns/{world.campaign_id}/items",
                json={"kind": kind, "title": str(variant["title"])},
            ),
            201,
        )
        world.item_ids[kind] = int(item["id"])
        _ok(await client.put(f"/api/v1/items/{item['id']}/variants/da", json=variant), 200)


async def publish(client: httpx.AsyncClient, world: World) -> None:
    """Publish now: the hub writes one delivery per contact and hands them to the workers."""
    published = _ok(await client.post(f"/api/v1/campaigns/{world.campaign_id}/publish"), 200)
    if published.get("status") != "published":
        raise SetupError(f"the campaign was not published: {published}")


async def make_links(db: Database, world: World) -> None:
    """Each partner's own links, as its campaign kit makes them on demand."""
    async with unit_of_work(db, None) as session:
        campaign = await session.get(Campaign, world.campaign_id)
        items = {
            kind: await session.get(CampaignItem, item_id)
            for kind, item_id in world.item_ids.items()
        }
        assert campaign is not None and all(items.values())
        for organisation_id in world.organisation_ids:
            for kind, channel in LINKS:
                link = await tracking.get_or_create_link(
                    session,
                    organisation_id=organisation_id,
                    campaign=campaign,
                    item=items[kind],  # type: ignore[arg-type]
                    language="da",
                    channel=channel,
                )
                world.links[link.code] = link.id or 0
