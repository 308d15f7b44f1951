"""Journey 3, in English on a phone: the mosque's coordinator gets the campaign by e-mail, signs
in with a link from her e-mail, finds the campaign, downloads the WhatsApp-ready film, copies the
WhatsApp text with its tracked link, prints the poster page and reports a forward and a
meeting."""

from __future__ import annotations

import datetime as dt
import re

from playwright.async_api import BrowserContext, Page, expect

from tests.browser.journeys.campaign import AMINA, TITLES
from tests.browser.journeys.story import FLASH, Story, follow_nav

ARABIC = "ar"


async def sign_in_by_link(story: Story, context: BrowserContext) -> Page:
    """The campaign's e-mail leads to the kit; without an account's password she asks for a
    sign-in link, which comes by e-mail too."""
    message = await story.mail_to(AMINA, story.campaign_title)
    kit_link = story.link_in(message, f"/portal/campaigns/{story.campaign_id}")
    page = await story.new_page(context)
    await page.goto(kit_link)
    await page.wait_for_url("**/login**")
    await story.check(page)
    await page.locator("#link-email").fill(AMINA)
    async with page.expect_navigation():
        await page.get_by_role("button", name="E-mail me a sign-in link").click()
    await story.check(page)

    link = story.link_in(await story.mail_to(AMINA, "sign"), "/login/link/")
    await page.goto(link)
    await story.check(page)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()
    # The data-processing agreement, once; then on to the campaign she was going to.
    await page.wait_for_url("**/organisation/agreement**")
    await story.check(page)
    await page.locator("main form input[type=checkbox]").check()
    await story.shoot(page, "08-agreement")
    async with page.expect_navigation():
        await page.locator("main form button.primary").click()
    await page.wait_for_url(re.compile(rf"/portal/campaigns/{story.campaign_id}(\?.*)?$"))
    return page


async def find_campaign(story: Story, page: Page) -> None:
    """Later, from the list of the organisation's campaigns."""
    await follow_nav(page, "/portal/campaigns")
    await story.check(page)
    await story.shoot(page, "09-partner-inbox")
    await page.get_by_role("link", name=story.campaign_title).first.click()
    await page.wait_for_url(re.compile(rf"/portal/campaigns/{story.campaign_id}$"))
    await story.check(page)
    await story.shoot(page, "10-campaign-kit")


async def open_forward_kit(page: Page, item_title: str, language: str) -> None:
    """From the kit, the forward kit of the item's version in ``language``."""
    item = page.locator("main section", has=page.get_by_role("heading", name=item_title)).first
    version = item.locator(f"[lang={language}]", has=page.locator("a[href*='/forward']")).first
    if not await version.count():
        version = item
    await version.locator("a[href*='/forward']").first.click()
    await page.wait_for_url("**/forward")


async def forward_the_film(story: Story, page: Page) -> None:
    await open_forward_kit(page, "Why I got vaccinated", ARABIC)
    await expect(page.locator("h1")).to_contain_text(TITLES[ARABIC])
    await story.check(page)

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Download the WhatsApp-ready film").click()
    download = await waiting.value
    saved = story.work_dir / "whatsapp.mp4"
    await download.save_as(saved)
    assert saved.stat().st_size > 1000
    assert saved.read_bytes()[4:8] == b"ftyp", "not an MP4"

    async with page.expect_navigation():
        await page.get_by_role("button", name="Make our links and texts").click()
    await expect(page.locator(FLASH)).to_be_visible()
    whatsapp = page.locator("#text-whatsapp")
    await expect(whatsapp).to_be_visible()
    await story.check(page)
    await story.shoot(page, "11-forward-kit")

    copy = page.locator("button[data-copy-target='text-whatsapp']")
    await copy.click()
    await expect(page.locator("#copy-status")).not_to_be_empty()
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    shown = await whatsapp.input_value()
    assert copied.strip() == shown.strip(), (copied, shown)
    match = re.search(re.escape(story.server.url) + r"/s/\w+", copied)
    assert match, copied
    story.citizen_link = match.group(0)


async def print_poster(story: Story, page: Page) -> None:
    await page.get_by_role("link", name=re.compile("^Back to ")).click()
    await open_forward_kit(page, "Poster: vaccination without appointment", ARABIC)
    await page.locator("input[name=channel][value=poster]").check()
    await page.locator("input[name=size][value=a4]").check()
    await page.locator("#placement").fill("Notice board by the entrance")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Make the print page").click()
    await page.wait_for_url("**/print**")
    await expect(page.locator("html")).to_have_attribute("lang", ARABIC)
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("figure svg, figure img").first).to_be_visible()
    await story.check(page)
    await story.shoot(page, "12-print-page")
    await page.emulate_media(media="print")
    await story.check(page)
    pdf = await page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    (story.work_dir / "poster.pdf").write_bytes(pdf)
    await page.emulate_media(media="screen")


async def report(story: Story, page: Page) -> None:
    await page.goto(story.url(f"/portal/campaigns/{story.campaign_id}"))
    await page.get_by_role("link", name="Report what you did").click()
    await story.check(page)
    await page.get_by_role("link", name="Report a forward").first.click()
    await story.check(page)
    today = dt.date.today().isoformat()

    # A forward, first without saying where: the error is beside the field, the rest is kept.
    await page.locator("#variant").select_option(index=1)
    await page.locator("#occurred_on").fill(today)
    await page.locator("#audience_estimate").fill("180")
    await page.locator("#channel").evaluate("select => select.removeAttribute('required')")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send the report").click()
    await expect(page.locator("#channel-error")).to_be_visible()
    await expect(page.locator("#audience_estimate")).to_have_value("180")
    await story.check(page)
    await page.locator("#channel").select_option("whatsapp")
    await page.locator("#placement").fill("The mosque's women's group")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send the report").click()
    await expect(page.locator(FLASH)).to_be_visible()
    await story.check(page)

    # An information meeting after Friday prayers.
    await page.get_by_role("link", name="Report an information meeting").first.click()
    await page.locator("#occurred_on").fill(today)
    await page.locator("#place").fill("Mjølnerparkens Moské, the small hall")
    await page.locator("input[name=languages][value=ar]").check()
    await page.locator("input[name=languages][value=so]").check()
    await page.locator("#attendance").fill("34")
    await page.locator("#questions").fill(
        "Is the vaccine halal? Can I come without an appointment?"
    )
    await story.check(page)
    await story.shoot(page, "13-report-meeting")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send the report").click()
    await expect(page.locator(FLASH)).to_be_visible()
    await expect(page.locator("main")).to_contain_text("34")
    await story.check(page)


async def partner_passes_it_on(story: Story) -> None:
    context = await story.phone("en")  # a coordinator's phone, 360 px wide
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=story.url(""))
    page = await sign_in_by_link(story, context)
    await find_campaign(story, page)
    await forward_the_film(story, page)
    await print_poster(story, page)
    await report(story, page)
    await context.close()
