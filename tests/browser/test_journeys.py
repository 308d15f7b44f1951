"""The five journeys of the hub, end to end in Debian's Chromium against ``hub serve`` with its
job worker, a real database (SQLite or PostgreSQL, like the rest of the suite), Redis and a real
SMTP server: first start; the officer's campaign; the partner passing it on; the citizen on a
phone; the officer reading the reach. Every page on the way passes axe-core.

Run with ``HUB_SCREENSHOTS=1`` (``make screenshots``) to refresh docs/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from hub.config import Settings
from hub.db import Database
from tests.browser.conftest import HubServer
from tests.browser.journeys.campaign import officer_publishes
from tests.browser.journeys.citizen import citizen_reads_it
from tests.browser.journeys.first_start import first_start
from tests.browser.journeys.partner import partner_passes_it_on
from tests.browser.journeys.reach import officer_reads_reach
from tests.browser.journeys.story import SCREENSHOTS, Story, publish_screenshots
from tests.conftest import Mailbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def test_five_journeys(
    settings: Settings,
    db: Database,
    mailbox: Mailbox,
    browser: Browser,
    real_film: bytes,
    tmp_path: Path,
) -> None:
    server = HubServer(settings, tmp_path / "hub-serve.log", worker=True)
    try:
        server.wait_ready()
        story = Story(
            server=server,
            settings=settings,
            db=db,
            mailbox=mailbox,
            browser=browser,
            film=real_film,
            work_dir=tmp_path,
            screenshots=SCREENSHOTS if publish_screenshots() else tmp_path / "screenshots",
            publish_screenshots=publish_screenshots(),
        )
        await first_start(story)
        await officer_publishes(story)
        await partner_passes_it_on(story)
        await citizen_reads_it(story)
        await officer_reads_reach(story)
        story.assert_accessible()
    finally:
        await server.stop()
