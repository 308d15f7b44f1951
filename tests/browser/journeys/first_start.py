"""Journey 1, in Danish: the hub's first start. The setup link the server prints makes the first
administrator, who invites a communication officer; the officer's invitation arrives by e-mail
and the officer chooses a password."""

from __future__ import annotations

import asyncio
import re
import time

from playwright.async_api import Page, expect

from tests.browser.journeys.story import FLASH, PASSWORD, Story, follow_nav

SETUP_LINK_SECONDS = 30.0


async def setup_link(story: Story) -> str:
    """The one-time link ``hub serve`` prints when the hub has no users yet."""
    pattern = re.compile(re.escape(story.server.url) + r"/setup/\S+")
    deadline = time.monotonic() + SETUP_LINK_SECONDS
    while time.monotonic() < deadline:
        found = pattern.search(story.server.log_path.read_text(errors="replace"))
        if found:
            return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"hub serve printed no setup link:\n{story.server.log_tail()}")


async def submit(page: Page) -> None:
    """Send the page's main form (its primary button) and wait for the next page."""
    async with page.expect_navigation():
        await page.locator("main form button.primary").first.click()


async def first_start(story: Story) -> None:
    link = await setup_link(story)
    context = await story.desktop("da")
    page = await story.new_page(context)

    # The setup page: a too-short password is refused beside the field, the rest kept.
    await page.goto(link)
    await expect(page.locator("html")).to_have_attribute("lang", "da")
    await story.check(page)
    await story.shoot(page, "01-setup")
    await page.locator("#name").fill("Anne Administrator")
    await page.locator("#email").fill(story.admin_email)
    await page.locator("#password").fill("kort")
    await page.locator("#password_again").fill("kort")
    await page.locator("#password").evaluate("input => input.removeAttribute('minlength')")
    await submit(page)
    await expect(page.locator("#password-error")).to_be_visible()
    await expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#email")).to_have_value(story.admin_email)
    await story.check(page)

    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password_again").fill(PASSWORD)
    await submit(page)
    assert "/setup/" not in page.url, await page.content()
    await story.check(page)

    # The link worked once.
    again = await (await story.desktop("da")).new_page()
    response = await again.goto(link)
    assert response is not None and response.status in (404, 410), response and response.status
    await again.context.close()

    # Users: invite the communication officer, in English.
    await follow_nav(page, "/users")
    await story.check(page)
    await page.locator("#invite-email").fill(story.officer_email)
    await page.locator("#invite-name").fill("Omar Officer")
    await page.locator("#invite-role").select_option("officer")
    await page.locator("#invite-language").select_option("en")
    await submit(page)
    await expect(page.locator(FLASH)).to_be_visible()
    await expect(page.locator("main")).to_contain_text(story.officer_email)
    await story.shoot(page, "02-users")
    await story.check(page)
    await context.close()

    # The officer's invitation, by e-mail through the worker.
    message = await story.mail_to(story.officer_email)
    invitation = story.link_in(message, "/invitation/")
    officer = await story.desktop("en")
    page = await story.new_page(officer)
    await page.goto(invitation)
    await story.check(page)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password_again").fill(PASSWORD)
    await submit(page)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await follow_nav(page, "/campaigns")
    await officer.close()
