"""A published campaign with two partners, every measure set by hand: deliveries, visits,
downloads, forward reports (one flagged), tracked links and their clicks; rolled up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from hub.campaigns import service as campaigns
from hub.db import Database, unit_of_work
from hub.models import (
    CampaignVisit,
    Channel,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ForwardReport,
    ItemKind,
    LinkDay,
    Material,
    MaterialDownload,
    MaterialKind,
    OrganisationKind,
    ReportKind,
    Role,
    TrackedLink,
)
from hub.reports import rollup
from tests.factories import api_token, bearer, make_area, make_contact, make_partner, make_user

ROOT = Path(__file__).resolve().parents[2]
DAY1 = date(2026, 11, 2)
DAY2 = date(2026, 11, 4)  # a Wednesday of the same ISO week as DAY1 (Monday)
NOON1 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
NOON2 = datetime(2026, 11, 4, 11, 0, tzinfo=UTC)


@dataclass
class Fixture:
    campaign_id: int
    a: int  # an association serving "Nordvest" (below "København")
    b: int  # a faith community serving "Amager"
    top_area: int
    nordvest: int
    amager: int
    c: int
    item_id: int
    officer: dict[str, str]
    officer_email: str


@pytest.fixture
async def fixture(client: httpx.AsyncClient, db: Database) -> Fixture:
    top = await make_area(
        db,
        code="KBH",
        name="København",
        population=100_000,
        uptake=[("2026-09-01", 70.0), ("2026-10-01", 72.0)],
    )
    nordvest = await make_area(
        db,
        code="NV",
        name="Nordvest",
        parent_id=top,
        population=20_000,
        uptake=[("2026-10-01", 60.0)],
    )
    amager = await make_area(
        db, code="AM", name="Amager", population=10_000, uptake=[("2026-10-01", 90.0)]
    )
    a = await make_partner(
        db,
        name="Forening A",
        kind=OrganisationKind.association,
        area_ids=[nordvest],
        languages=["ar", "da"],
    )
    b = await make_partner(
        db,
        name="Moské B",
        kind=OrganisationKind.faith_community,
        area_ids=[amager],
        languages=["so"],
    )
    # Addressed, but with nobody to notify: nothing happens there.
    c = await make_partner(db, name="Boligforening C", kind=OrganisationKind.housing_organisation)
    a_users = [await make_contact(db, a), await make_contact(db, a)]
    b_user = await make_contact(db, b)
    officer = await make_user(db, role=Role.officer)
    async with unit_of_work(db, None) as session:
        campaign = await campaigns.create_campaign(
            session,
            owner=officer,
            title="Efterår",
            audience_spec={"include_ids": [a.id, b.id, c.id]},
        )
        item = await campaigns.create_item(session, campaign, kind=ItemKind.message, title="Hej")
        ar = await campaigns.set_variant(session, campaign, item, language="ar", text="مرحبا")
        await campaigns.set_variant(session, campaign, item, language="da", text="Hej")
        await campaigns.publish_campaign(session, campaign)
        cid, a_id, b_id = campaign.id or 0, a.id or 0, b.id or 0
        # Distribution wrote one e-mail delivery per contact: A's two and B's one. Make A's
        # sent (one e-mail failed instead), add an SMS for A and a webhook for B.
        deliveries = (await session.exec(select(Delivery).where(Delivery.campaign_id == cid))).all()
        for delivery in deliveries:
            delivery.state = DeliveryState.sent
            delivery.sent_at = NOON1
        extra = [
            (a_id, DeliveryChannel.sms, DeliveryState.sent, "sms:a"),
            (a_id, DeliveryChannel.email, DeliveryState.failed, "email:failed"),
            (b_id, DeliveryChannel.webhook, DeliveryState.sent, "organisation:b"),
        ]
        for org, channel, state, key in extra:
            session.add(
                Delivery(
                    campaign_id=cid,
                    organisation_id=org,
                    channel=channel,
                    recipient_key=key,
                    state=state,
                    sent_at=NOON2 if state is DeliveryState.sent else None,
                )
            )
        for user in a_users:
            session.add(
                CampaignVisit(campaign_id=cid, user_id=user.id, day=DAY1, organisation_id=a_id)
            )  # type: ignore[arg-type]
        session.add(
            CampaignVisit(campaign_id=cid, user_id=b_user.id, day=DAY2, organisation_id=b_id)
        )  # type: ignore[arg-type]
        material = Material(
            sha256="a" * 64,
            size=1,
            content_type="image/png",
            kind=MaterialKind.image,
            extension="png",
            storage_key="x" * 64,
        )
        session.add(material)
        await session.flush()
        for _ in range(3):
            session.add(
                MaterialDownload(
                    organisation_id=a_id,
                    material_id=material.id,  # type: ignore[arg-type]
                    variant_id=ar.id,
                    downloaded_at=NOON1,
                )
            )
        reports = [
            ForwardReport(
                organisation_id=a_id, campaign_id=cid, kind=ReportKind.forward,
                item_id=item.id, language="ar", channel=Channel.whatsapp,
                occurred_on=DAY1, audience_estimate=40,
            ),
            ForwardReport(
                organisation_id=a_id, campaign_id=cid, kind=ReportKind.meeting,
                channel=Channel.meeting, occurred_on=DAY2, attendance=25,
            ),
            ForwardReport(
                organisation_id=b_id, campaign_id=cid, kind=ReportKind.door_to_door,
                channel=Channel.door_to_door, occurred_on=DAY2, doors_knocked=30, conversations=7,
            ),
            # Flagged as implausible: neither made nor reached, in the rollups.
            ForwardReport(
                organisation_id=b_id, campaign_id=cid, kind=ReportKind.forward,
                channel=Channel.facebook, occurred_on=DAY2, audience_estimate=100_000,
                flagged_at=NOON2, flag_reason="Too many",
            ),
        ]  # fmt: skip
        session.add_all(reports)
        links = [
            TrackedLink(code="Aaaaaaa1", key="a", organisation_id=a_id, campaign_id=cid,
                        item_id=item.id, language="ar", channel=Channel.whatsapp),
            TrackedLink(code="Bbbbbbb1", key="b", organisation_id=b_id, campaign_id=cid,
                        item_id=item.id, language="da", channel=Channel.facebook),
        ]  # fmt: skip
        session.add_all(links)
        await session.flush()
        child = TrackedLink(
            code="Aaaaaaa2", key=f"child:{links[0].id}", organisation_id=a_id, campaign_id=cid,
            item_id=item.id, language="ar", channel=Channel.whatsapp, parent_id=links[0].id, hop=2,
        )  # fmt: skip
        session.add(child)
        await session.flush()
        session.add_all(
            [
                LinkDay(link_id=links[0].id, day=DAY1, clicks=10, previews=3, uniques=8),  # type: ignore[arg-type]
                LinkDay(link_id=child.id, day=DAY2, clicks=4, previews=0, uniques=4),  # type: ignore[arg-type]
                LinkDay(link_id=links[1].id, day=DAY2, clicks=5, previews=1, uniques=5),  # type: ignore[arg-type]
            ]
        )
        item_id = item.id or 0
    async with unit_of_work(db, None) as session:
        await rollup.rebuild_campaign(session, cid)
    token = bearer(await api_token(client, db, officer))
    return Fixture(
        campaign_id=cid,
        a=a_id,
        b=b_id,
        c=c.id or 0,
        top_area=top,
        nordvest=nordvest,
        amager=amager,
        item_id=item_id,
        officer=token,
        officer_email=officer.email,
    )


async def reach(client: httpx.AsyncClient, f: Fixture, **params: object) -> dict[str, dict]:
    """The reach API's rows by key."""
    response = await client.get(
        "/api/v1/reach",
        params={"campaign_id": f.campaign_id, **params},  # type: ignore[arg-type]
        headers=f.officer,
    )
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()["rows"]}
