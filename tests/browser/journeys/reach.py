"""Journey 5, in English: the officer reads what the campaign reached, by channel and by partner,
then the equity view of the areas behind, and downloads the table as CSV for the council."""

from __future__ import annotations

import csv
import io

from playwright.async_api import Page, expect

from tests.browser.journeys.campaign import sign_in
from tests.browser.journeys.story import Story, follow_nav


async def bring_figures_up_to_date(story: Story) -> None:
    """What the worker does every few seconds (clicks) and minutes (rollups), now: the
    operator's own commands, so that the journey need not wait two minutes."""
    await story.server.command("flush-clicks")
    await story.server.command("reports", "rebuild")


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
    await sign_in(story, page, story.officer_email)

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
