"""Journey 4: a citizen opens the mosque's WhatsApp link on a phone. The page is in Arabic, right
to left; she plays the film and switches to Somali for her mother. No cookie, nothing from other
hosts, and axe-core finds nothing at all."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Page, Request, expect

from tests.browser.journeys.campaign import TITLES
from tests.browser.journeys.story import Story

# Start muted (a page may start sound only on a tap) and answer how far it got once it has
# really played. (The page's policy forbids evaluating strings, so no wait_for_function.)
PLAY_A_MOMENT = """video => {
  video.muted = true;
  return video.play().then(() => new Promise(resolve => {
    const check = () => video.currentTime > 0 ? resolve(video.currentTime) : setTimeout(check, 50);
    check();
  }));
}"""


async def assert_language(page: Page, language: str, direction: str) -> None:
    html = page.locator("html")
    await expect(html).to_have_attribute("lang", language)
    await expect(html).to_have_attribute("dir", direction)


async def play_film(page: Page) -> None:
    video = page.locator("video").first
    await expect(video).to_be_visible()
    played = await video.evaluate(PLAY_A_MOMENT)
    assert played > 0


async def citizen_reads_it(story: Story) -> None:
    assert story.citizen_link, "journey 3 leaves the partner's WhatsApp link"
    context = await story.phone("ar")
    page = await story.new_page(context)
    hosts: set[str] = set()

    def record(request: Request) -> None:
        hosts.add(urlsplit(request.url).netloc)

    page.on("request", record)

    await page.goto(story.citizen_link)
    await assert_language(page, "ar", "rtl")
    await expect(page.locator("h1")).to_contain_text(TITLES["ar"])
    await play_film(page)
    await story.check(page, citizen=True)
    await story.shoot(page, "14-citizen-arabic")

    # The language switcher names each language in itself.
    await page.get_by_role("link", name="Soomaali").click()
    await page.wait_for_url("**/so")
    await assert_language(page, "so", "ltr")
    await expect(page.locator("h1")).to_contain_text(TITLES["so"])
    await play_film(page)
    await story.check(page, citizen=True)
    await story.shoot(page, "15-citizen-somali")

    assert await context.cookies() == [], "no cookie on the citizen's path"
    assert hosts == {story.server.netloc}, f"the page fetched from {hosts}"
    await context.close()
