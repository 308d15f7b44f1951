"""A hub with something in every table the API reaches, and API tokens for an officer and a
partner, for fuzzing the JSON API against its OpenAPI schema (test_schemathesis.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from schemathesis.python import asgi
from sqlmodel import col, select

from hub.audiences import service as audiences
from hub.auth import service as auth
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.forwards import service as forwards
from hub.main import create_app
from hub.models import Campaign, CampaignItem, ItemVariant, ReportKind, Role, User
from hub.tracking import service as tracking
from tests.factories import make_area, make_contact
from tests.tracking.conftest import make_published

FUZZ_TOKEN_IDS = {Role.officer: 1_000_003, Role.partner: 1_000_033}


@dataclass
class Seed:
    """The bearer tokens of the officer and of the partner's coordinator, and the ids of
    seeded rows by the name of the path parameter that takes them."""

    tokens: dict[Role, str]
    spare_tokens: dict[Role, int]
    ids: dict[str, int | str]


@pytest.fixture
async def seed(db: Database, settings: Settings) -> Seed:
    published = await make_published(db, settings)
    area_id = await make_area(db, code="0101", uptake=[("2026-01-01", 55.0)])
    # A second contact of the partner: the one the fuzzed operations may change, remove or
    # erase, so the signed-in coordinator keeps its account to the end of the run.
    member = await make_contact(db, published.organisation)
    tokens: dict[Role, str] = {}
    spare_tokens: dict[Role, int] = {}
    async with unit_of_work(db, None) as session:
        for role, user in ((Role.officer, published.officer), (Role.partner, published.contact)):
            token, tokens[role] = await auth.create_api_token(session, user=user, name="fuzz")
            # An id no generated value comes near (they favour small ones and the bounds):
            # DELETE /api/v1/tokens/{token_id} must not revoke the token the run works with.
            token.id = FUZZ_TOKEN_IDS[role]
            # ... and a second token of the same user, the one fuzzed operations may revoke.
            spare, _raw = await auth.create_api_token(session, user=user, name="spare")
            spare_tokens[role] = spare.id or 0
        variant = (
            await session.exec(
                select(ItemVariant)
                .where(ItemVariant.item_id == published.film.id)
                .order_by(col(ItemVariant.id))
            )
        ).first()
        assert variant is not None
        campaign = await session.get(Campaign, published.campaign.id)
        film = await session.get(CampaignItem, published.film.id)
        contact = await session.get(User, published.contact.id)
        officer = await session.get(User, published.officer.id)
        assert campaign and film and contact and officer
        report = await forwards.create_report(
            session,
            principal=contact,
            campaign=campaign,
            kind=ReportKind.forward,
            values={
                "item_id": film.id,
                "language": variant.language,
                "channel": "whatsapp",
                "occurred_on": forwards.today_in_copenhagen(),
                "audience_estimate": 40,
            },
        )
        link = await tracking.get_or_create_link(
            session,
            organisation_id=published.organisation.id or 0,
            campaign=campaign,
            item=film,
            language=variant.language,
            channel="whatsapp",
            created_by=contact,
        )
        audience = await audiences.save_audience(
            session,
            name="Areas behind",
            spec=audiences.AudienceSpec(area_ids=[area_id], uptake_below=60),
            created_by=officer,
        )
    return Seed(
        tokens=tokens,
        spare_tokens=spare_tokens,
        ids={
            "campaign_id": published.campaign.id or 0,
            "organisation_id": published.organisation.id or 0,
            "contact_id": member.id or 0,
            "user_id": member.id or 0,
            "item_id": published.film.id or 0,
            "material_id": published.film_material.id or 0,
            "area_id": area_id,
            "variant_id": variant.id or 0,
            "language": variant.language,
            "report_id": report.id or 0,
            "link_id": link.id or 0,
            "audience_id": audience.id or 0,
        },
    )


@pytest.fixture
def hub_app(settings: Settings) -> Iterator[FastAPI]:
    """The hub, its lifespan run by Schemathesis' ASGI client in that client's own event loop
    (the app's database engine and Redis pool must live in the loop its requests run in)."""
    application = create_app(settings)
    yield application
    asgi.shutdown_lifespans()
