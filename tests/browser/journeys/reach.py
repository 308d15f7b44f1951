"""Journey 5, in English: the officer reads what the campaign reached, by channel and by partner,
then the equity view of the areas behind, and downloads the table as CSV for the council."""

from __future__ import annotations

import asyncio
import csv
import io
import time

import redis.asyncio as aioredis
from playwright.async_api import Page, expect
from sqlalchemy import func
from sqlmodel import select

from hub.db import unit_of_work
from hub.models import LinkDay
from hub.tracking import rollup
from hub.tracking.counter import Keys
from tests.browser.journeys.story import PASSWORD, Story, follow_nav
from workers.reports import rebuild

HAND_OVER_SECONDS = 10.0
# The focused element; a focus ring is an outline or a box shadow that is really drawn.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  return {
    id: el.id || "",
    tag: el.tagName.toLowerCase(),
    skip: el.classList.contains("skip-link") ? "yes" : "no",
    ring: outline || shadow ? "yes" : "no",
  };
}"""


async def bring_figures_up_to_date(story: Story) -> None:
    """What the worker does every twenty seconds (clicks) and two minutes (rollups), now,
    so that the journey need not wait: once the citizen's click has left the hub's memory
    (it hands its counts to Redis every half second) it is in the daily counts."""
    redis = aioredis.Redis.from_url(story.settings.redis_url)
    keys = Keys(story.settings.redis_prefix)
    try:
        deadline = time.monotonic() + HAND_OVER_SECONDS
        while await counted_clicks(story) < 1:
            assert time.monotonic() < deadline, "the citizen's click was not counted"
            await rollup.flush_clicks(story.db, redis, keys)
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()
    await rebuild(story.db, [story.campaign_id])


async def counted_clicks(story: Story) -> int:
    async with unit_of_work(story.db, None, write=False) as session:
        total = await session.scalar(select(func.coalesce(func.sum(LinkDay.clicks), 0)))
        return int(total or 0)


async def focused(page: Page) -> dict[str, str]:
    """The focused element: its id, tag, and whether its focus ring shows."""
    result: dict[str, str] = await page.evaluate(FOCUSED)
    return result


async def tab_to(page: Page, element_id: str, *, most: int = 25) -> None:
    for _ in range(most):
        await page.keyboard.press("Tab")
        now = await focused(page)
        assert now["ring"] == "yes", f"no visible focus on {now}"
        if now["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} is not reached with Tab")


async def keyboard_sign_in(story: Story, page: Page, email: str) -> None:
    """Signing in without a mouse: the skip link comes first, focus always shows."""
    await page.goto(story.url("/login"))
    await page.keyboard.press("Tab")
    first = await focused(page)
    assert first["skip"] == "yes" and first["ring"] == "yes", first
    await page.keyboard.press("Enter")  # skip to the content
    await tab_to(page, "email")
    await page.keyboard.type(email)
    await tab_to(page, "password")
    await page.keyboard.type(PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert "/login" not in page.url


async def download_csv(page: Page, link: str) -> list[list[str]]:
    """The rows of the download (each table under its title, then its header)."""
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name=link).first.click()
    download = await waiting.value
    path = await download.path()
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


async def officer_reads_reach(story: Story) -> None:
    await bring_figures_up_to_date(story)
    context = await story.desktop("en")
    page = await story.new_page(context)
    await keyboard_sign_in(story, page, story.officer_email)

    await follow_nav(page, "/reports")
    await story.check(page)
    await page.locator("#campaign_id").select_option(label=story.campaign_title)
    await page.locator("#by").select_option("channel")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Show", exact=True).click()
    main = page.locator("main")
    await expect(main).to_contain_text("WhatsApp")
    await story.check(page)
    await story.shoot(page, "16-reach")

    rows = await download_csv(page, "CSV (comma)")
    assert rows[0] == ["Reach by channel"], rows
    header = rows[1]
    whatsapp = next(row for row in rows if row and row[0] == "WhatsApp")
    assert whatsapp[header.index("Link clicks")] not in ("", "0"), rows
    assert whatsapp[header.index("Reported reach")] not in ("", "0"), rows

    await page.locator("#by").select_option("partner")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Show", exact=True).click()
    await expect(main).to_contain_text("Mjølnerparkens Moské")
    await story.check(page)

    await page.get_by_role("link", name="The equity view: where to aim the next wave").click()
    await page.wait_for_url("**/reports/equity**")
    await expect(main).to_contain_text("Mjølnerparken")
    await expect(main).to_contain_text("Tingbjerg")
    await story.check(page)
    await story.shoot(page, "17-equity")
    equity = await download_csv(page, "CSV (comma)")
    assert any("Tingbjerg" in row for row in equity), equity
    await context.close()
