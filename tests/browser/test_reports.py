"""The reach, equity, summary and impact pages in a real browser: axe-core finds nothing."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext

from hub.db import Database
from tests.browser.conftest import HubServer, axe_findings, describe, sign_in
from tests.reports.conftest import Fixture, fixture  # noqa: F401 - the fixture itself

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


async def test_report_pages_pass_axe(
    hub_server: HubServer,
    desktop: BrowserContext,
    db: Database,
    fixture: Fixture,  # noqa: F811
) -> None:
    page = await desktop.new_page()
    await sign_in(page, hub_server, fixture.officer_email)
    campaign = fixture.campaign_id
    for path in (
        f"/reports?campaign_id={campaign}&by=partner",
        f"/reports?campaign_id={campaign}&by=day",
        f"/reports/equity?campaign_id={campaign}",
        f"/campaigns/{campaign}/summary",
        f"/partners/{fixture.a}/impact",
    ):
        response = await page.goto(hub_server.url + path)
        assert response is not None and response.ok, path
        findings = await axe_findings(page)
        assert not findings, f"axe-core on {path}:\n{describe(findings)}"
