"""A published campaign addressed to one partner, with a message, a film, a poster and an
event in Danish, Arabic and Somali, and the partner's signed-in browser."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hub.campaigns import service as campaigns
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.main import create_app
from hub.materials.storage import LocalStorage
from hub.models import (
    Campaign,
    CampaignItem,
    ItemKind,
    Material,
    MaterialKind,
    Organisation,
    ProcessingStatus,
    Role,
    User,
)
from hub.tracking import rollup
from hub.tracking.counter import Keys
from tests.factories import login, make_contact, make_partner, make_user
from tests.materials import samples

EN = {"Accept-Language": "en"}
TITLE_AR = "التطعيم مجاني"
TEXT_AR = "التطعيم مجاني. تعال مع عائلتك!"
TITLE_SO = "Tallaalku waa bilaash"
TEXT_SO = "Tallaalku waa bilaash. Keen qoyskaaga!"
TEXT_DA = "Vaccinen er gratis. Tag familien med!"


@dataclass
class Published:
    campaign: Campaign
    organisation: Organisation
    contact: User
    officer: User
    message: CampaignItem
    film: CampaignItem
    poster: CampaignItem
    event: CampaignItem
    film_material: Material
    poster_material: Material


def store(settings: Settings, data: bytes, extension: str) -> str:
    """Put bytes into the media storage; returns the key."""
    storage = LocalStorage(settings.media_root)
    key = f"{hashlib.sha256(data).hexdigest()}{secrets.token_hex(2)}.{extension}"
    temp = storage.open_temp()
    temp.write([data])
    storage.commit(temp, key)
    return key


async def stored_material(
    session: object, settings: Settings, data: bytes, kind: MaterialKind, ext: str, ctype: str
) -> Material:
    key = store(settings, data, ext)
    material = Material(
        sha256=hashlib.sha256(data + secrets.token_bytes(4)).hexdigest(),
        size=len(data),
        content_type=ctype,
        kind=kind,
        extension=ext,
        storage_key=key,
    )
    session.add(material)  # type: ignore[attr-defined]
    await session.flush()  # type: ignore[attr-defined]
    return material


async def processed_film(session: object, settings: Settings, data: bytes) -> Material:
    """A stored film whose processing is done: its poster frame and WhatsApp version stored."""
    material = await stored_material(session, settings, data, MaterialKind.film, "mp4", "video/mp4")
    material.processing_status = ProcessingStatus.done
    material.poster_key = store(settings, samples.jpeg(), "jpg")
    material.whatsapp_key = store(settings, data, "mp4")
    material.whatsapp_size = len(data)
    return material


async def make_published(
    db: Database, settings: Settings, *, status: str = "published"
) -> Published:
    organisation = await make_partner(db, name="Moské Nord", languages=["ar", "so"])
    contact = await make_contact(db, organisation, coordinator=True)
    officer = await make_user(db, role=Role.officer)
    film_bytes = samples.mp4(b"\x01" * 5000)
    async with unit_of_work(db, None) as session:
        campaign = await campaigns.create_campaign(
            session,
            owner=officer,
            title="Vaccination autumn",
            audience_spec={"include_ids": [organisation.id]},
        )
        message = await campaigns.create_item(
            session, campaign, kind=ItemKind.message, title="Vaccinen er gratis"
        )
        for language, title, text in (
            ("da", "Vaccinen er gratis", TEXT_DA),
            ("ar", TITLE_AR, TEXT_AR),
            ("so", TITLE_SO, TEXT_SO),
        ):
            await campaigns.set_variant(
                session, campaign, message, language=language, text=text, title=title
            )
        film_material = await processed_film(session, settings, film_bytes)
        film = await campaigns.create_item(
            session, campaign, kind=ItemKind.film, title="Film om vaccination"
        )
        for language in ("da", "ar", "so"):
            await campaigns.set_variant(
                session,
                campaign,
                film,
                language=language,
                material_id=film_material.id,
                title=f"Film ({language})",
            )
        poster_material = await stored_material(
            session, settings, samples.png(40, 40), MaterialKind.image, "png", "image/png"
        )
        poster = await campaigns.create_item(
            session, campaign, kind=ItemKind.poster, title="Plakat"
        )
        for language in ("da", "ar"):
            await campaigns.set_variant(
                session, campaign, poster, language=language, material_id=poster_material.id
            )
        starts = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
        event = await campaigns.create_item(
            session,
            campaign,
            kind=ItemKind.event,
            title="Informationsmøde",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            place="Nordvest Kulturhus",
            address="Rentemestervej 2, 2400 København NV",
            map_url="https://www.openstreetmap.org/?mlat=55.70&mlon=12.53",
            booking_help="Ring 33 66 33 66, så hjælper vi med at booke en tid.",
        )
        await campaigns.set_variant(
            session, campaign, event, language="ar", text="لقاء إعلامي", title="لقاء إعلامي"
        )
        await campaigns.set_variant(session, campaign, event, language="da", text="Mød lægen")
        if status != "draft":
            await campaigns.publish_campaign(session, campaign)
        if status == "closed":
            await campaigns.close_campaign(session, campaign)
    return Published(
        campaign=campaign,
        organisation=organisation,
        contact=contact,
        officer=officer,
        message=message,
        film=film,
        poster=poster,
        event=event,
        film_material=film_material,
        poster_material=poster_material,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app in its lifespan; ``app.hub`` is the HubApp itself (its click counter)."""
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        manager.app.hub = application  # type: ignore[attr-defined]
        yield manager.app  # type: ignore[misc]


async def hand_over(app: FastAPI) -> None:
    """What the web process does every half second: counts from memory to Redis."""
    assert await app.hub.redirector.counter.hand_over()  # type: ignore[attr-defined]


@pytest.fixture
async def published(db: Database, settings: Settings) -> Published:
    return await make_published(db, settings)


@pytest.fixture
async def partner_client(client: httpx.AsyncClient, published: Published) -> httpx.AsyncClient:
    client.headers.update(EN)
    response = await login(client, published.contact.email)
    assert response.status_code in (200, 303), response.text
    return client


async def flush(settings: Settings, db: Database) -> rollup.FlushResult:
    """What the worker's cron does: Redis → daily rollups."""
    import redis.asyncio as aioredis

    redis = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        return await rollup.flush_clicks(db, redis, Keys(settings.redis_prefix))
    finally:
        await redis.aclose()


def media(settings: Settings) -> Path:
    return Path(settings.media_root)
