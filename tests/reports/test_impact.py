"""A partner's own impact page: its numbers only, small counts as "<5"; officers see exact
counts on the partner's page."""

from __future__ import annotations

import httpx
from sqlmodel import select

from hub.db import Database, unit_of_work
from hub.models import User
from tests.factories import login
from tests.reports.conftest import Fixture


async def contact_of(db: Database, organisation_id: int) -> User:
    async with unit_of_work(db, None, write=False) as session:
        return (
            await session.exec(select(User).where(User.organisation_id == organisation_id))
        ).first()  # type: ignore[return-value]


async def test_a_partner_sees_its_own_impact_with_small_counts_hidden(
    client: httpx.AsyncClient, db: Database, fixture: Fixture
) -> None:
    client.headers["Accept-Language"] = "en"
    await login(client, (await contact_of(db, fixture.a)).email)
    page = await client.get("/portal/impact")
    assert page.status_code == 200, page.text
    html = page.text
    assert "What Forening A reached" in html
    assert "Your WhatsApp links were opened 10 times, in Arabic." in html
    # 4 clicks on the link shared on from it: fewer than the threshold of 5.
    assert "People passed your WhatsApp link on, and it was opened fewer than 5 times more." in html
    assert "You reported &lt;5 activities, reaching about 65 people" in html
    assert "You downloaded its materials fewer than 5 times." in html
    # Only its own: nothing of Moské B's Facebook link or its door-to-door visits.
    assert "Facebook" not in html and "Moské B" not in html
    assert (await client.get(f"/partners/{fixture.b}/impact")).status_code in (403, 404)


async def test_officers_see_a_partners_exact_counts(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    client.headers["Accept-Language"] = "en"
    await login(client, fixture.officer_email)
    page = await client.get(f"/partners/{fixture.a}/impact")
    assert page.status_code == 200
    assert "opened 4 times more" in page.text
    assert "You downloaded its materials 3 times." in page.text
    assert (await client.get("/portal/impact")).status_code == 404
