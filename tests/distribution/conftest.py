"""Campaigns published to partners whose contacts want e-mail, SMS or both, and webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.distribution import webhooks
from hub.models import Delivery, DeliveryState, NotifyBy, Organisation, Role, User, utcnow
from tests.factories import api_token, bearer, make_contact, make_partner, make_user
from tests.receiver import receiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.webhook_allow_private = True  # the test receiver listens on 127.0.0.1
    settings.sms_gateway_auth_header = "Authorization: Bearer gateway-test-key"
    return settings


@dataclass
class World:
    officer: dict[str, str]
    organisations: list[Organisation] = field(default_factory=list)
    contacts: list[User] = field(default_factory=list)


@pytest.fixture
async def officer(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return bearer(await api_token(client, db, await make_user(db, role=Role.officer)))


async def add_contact(
    db: Database,
    organisation: Organisation,
    *,
    email: str | None = None,
    notify_by: NotifyBy = NotifyBy.email,
    phone: str | None = None,
    language: str = "en",
) -> User:
    contact = await make_contact(db, organisation, email=email)
    async with unit_of_work(db, None) as session:
        row = await session.get(User, contact.id)
        assert row is not None
        row.notify_by, row.phone, row.language = notify_by, phone, language
        session.add(row)
    return row


async def set_webhook(db: Database, organisation: Organisation, url: str) -> str:
    secret = webhooks.new_secret()
    async with unit_of_work(db, None) as session:
        row = await session.get(Organisation, organisation.id)
        assert row is not None
        row.webhook_url, row.webhook_secret = url, secret
        session.add(row)
    return secret


async def draft(client: httpx.AsyncClient, officer: dict[str, str], *, languages: list[str]) -> int:
    """A draft campaign with one message, addressed to partners speaking ``languages``."""
    created = await client.post(
        "/api/v1/campaigns",
        json={
            "title": "Vaccination før vinteren",
            "purpose": "Flere vaccinerede i Vollsmose",
            "audience_spec": {"languages": languages},
        },
        headers=officer,
    )
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    await client.post(
        f"/api/v1/campaigns/{campaign_id}/items",
        json={"kind": "message", "title": "Budskab"},
        headers=officer,
    )
    return campaign_id


async def publish(
    client: httpx.AsyncClient, officer: dict[str, str], *, languages: list[str]
) -> int:
    campaign_id = await draft(client, officer, languages=languages)
    published = await client.post(f"/api/v1/campaigns/{campaign_id}/publish", headers=officer)
    assert published.status_code == 200, published.text
    return campaign_id


async def deliveries(db: Database, campaign_id: int) -> list[Delivery]:
    async with unit_of_work(db, None, write=False) as session:
        rows = await session.exec(
            select(Delivery).where(Delivery.campaign_id == campaign_id).order_by(col(Delivery.id))
        )
        return list(rows.all())


async def make_retries_due(db: Database) -> None:
    """Time passes: every waiting retry is due now."""
    async with unit_of_work(db, None) as session:
        await session.exec(
            sa.update(Delivery)
            .where(col(Delivery.state) == DeliveryState.retrying)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


__all__ = ["World", "add_contact", "draft", "make_partner", "publish", "receiver", "set_webhook"]
