"""The citizen's landing page and the partner's printed poster, in a real browser against a real
server: right language and direction, no cookies, nothing fetched from other hosts, no
accessibility violations, and a QR code on paper that leads to the page and is counted."""

from __future__ import annotations

import io
import re
from urllib.parse import urljoin, urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import BrowserContext, Page, Request, expect

from hub.config import Settings
from hub.db import Database
from hub.models import Channel
from tests.browser.conftest import (
    SERIOUS,
    HubServer,
    axe_findings,
    describe,
    link_by_code,
    link_clicks,
    sign_in,
    tracked_link,
    variant_id,
)
from tests.tracking.conftest import TEXT_AR, TEXT_SO, Published, flush

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

# Start the film muted (a page may start sound only on a tap) and answer how far it got once
# it has really played. (The page's policy forbids evaluating strings, so no wait_for_function.)
PLAY_A_MOMENT = """video => {
  video.muted = true;
  return video.play().then(() => new Promise(resolve => {
    const check = () => video.currentTime > 0 ? resolve(video.currentTime) : setTimeout(check, 50);
    check();
  }));
}"""


def _record_requests(page: Page) -> list[str]:
    urls: list[str] = []

    def record(request: Request) -> None:
        urls.append(request.url)

    page.on("request", record)
    return urls


async def _html_attributes(page: Page) -> tuple[str | None, str | None]:
    html = page.locator("html")
    return await html.get_attribute("lang"), await html.get_attribute("dir")


async def _assert_no_violations(page: Page) -> None:
    findings = await axe_findings(page)
    assert not findings, f"axe-core on {page.url}:\n{describe(findings)}"


async def _assert_no_cookies(page: Page, context: BrowserContext) -> None:
    assert await page.evaluate("document.cookie") == ""
    # A browser also asks the site for its icon, on its own and at a time of its choosing
    # (Playwright does not report it): asked here, so its answer is always in the jar below.
    icon = await context.request.get(urljoin(page.url, "/favicon.ico"))
    await icon.dispose()
    # Every cookie, HttpOnly ones too.
    cookies = await context.cookies()
    assert cookies == [], [(c["name"], c["path"]) for c in cookies]


async def test_citizen_reads_switches_language_and_shares_on_a_phone(
    hub_server: HubServer, phone: BrowserContext, db: Database, published: Published
) -> None:
    link = await tracked_link(db, published, language="ar", channel=Channel.whatsapp)
    page = await phone.new_page()
    requests = _record_requests(page)

    # The partner's Arabic WhatsApp link: the page in Arabic, right to left.
    response = await page.goto(f"{hub_server.url}/s/{link.code}")
    assert response is not None and response.ok
    assert urlsplit(page.url).path == f"/c/{link.code}"
    assert await _html_attributes(page) == ("ar", "rtl")
    await expect(page.get_by_text(TEXT_AR, exact=True)).to_be_visible()
    film = page.locator("video")
    await expect(film).to_have_count(1)
    poster = await film.get_attribute("poster")
    assert poster and poster.endswith("/poster")
    # The film really plays on the phone (muted: a page may start sound only on a tap).
    played = await film.evaluate(PLAY_A_MOMENT)
    assert played > 0
    await _assert_no_cookies(page, phone)
    await _assert_no_violations(page)

    # The language switcher: the same page in Somali, left to right.
    await page.get_by_role("link", name="Soomaali", exact=True).click()
    await page.wait_for_url(f"{hub_server.url}/c/{link.code}/so")
    assert await _html_attributes(page) == ("so", "ltr")
    await expect(page.get_by_text(TEXT_SO, exact=True)).to_be_visible()
    await _assert_no_violations(page)

    # "Share further": a new link of its own, on a page to send it from.
    await page.locator("form[action$='/share'] button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/c/[0-9A-Za-z]+/share\?lang=so$"))
    shared = await page.locator("#share-url").input_value()
    match = re.fullmatch(re.escape(hub_server.url) + r"/s/([0-9A-Za-z]+)", shared)
    assert match, shared
    assert match.group(1) != link.code
    child = await link_by_code(db, match.group(1))
    assert child.parent_id == link.id
    await _assert_no_violations(page)
    await _assert_no_cookies(page, phone)

    # Every file of every page came from the hub itself.
    assert requests
    elsewhere = [url for url in requests if urlsplit(url).netloc != hub_server.netloc]
    assert not elsewhere, elsewhere


async def test_printed_poster_qr_code_leads_to_the_page_and_is_counted(
    hub_server: HubServer,
    desktop: BrowserContext,
    phone: BrowserContext,
    db: Database,
    settings: Settings,
    published: Published,
) -> None:
    arabic_poster = await variant_id(db, published.poster.id or 0, "ar")
    page = await desktop.new_page()
    await sign_in(page, hub_server, published.contact.email)

    # From the campaign page to the Arabic poster's forward kit.
    await page.goto(f"{hub_server.url}/portal/campaigns/{published.campaign.id}")
    kit_link = page.locator(f"#variant-{arabic_poster}").get_by_role(
        "link", name="Forward kit: texts, your links, QR poster"
    )
    assert f"/variants/{arabic_poster}/forward" in (await kit_link.get_attribute("href") or "")
    await kit_link.click()
    await page.wait_for_url(re.compile(rf"/variants/{arabic_poster}/forward$"))
    kit_findings = await axe_findings(page)
    serious = [f for f in kit_findings if f.impact in SERIOUS]
    assert not serious, f"axe-core on the forward kit:\n{describe(serious)}"

    # The print form: an A4 poster for the stairwell, with the organisation's name.
    await page.get_by_role("radio", name="Poster").check()
    await page.get_by_role("radio", name="A4").check()
    await page.get_by_label("Where it goes (optional)").fill("Opgang 4")
    name_box = page.get_by_role("checkbox", name="Show our organisation's name")
    await expect(name_box).to_be_checked()
    await page.get_by_role("button", name="Make the print page").click()
    await page.wait_for_url(re.compile(r"/portal/links/\d+/print\?"))
    print_findings = await axe_findings(page)
    serious = [f for f in print_findings if f.impact in SERIOUS]
    assert not serious, f"axe-core on the print page:\n{describe(serious)}"
    for where, findings in (("forward kit", kit_findings), ("print page", print_findings)):
        if findings:  # shown with `pytest -rP`; not failures
            print(f"axe-core, lesser findings on the {where}:\n{describe(findings)}")

    # On paper: the QR code, read back from what the printer would get.
    await page.emulate_media(media="print")
    await expect(page.locator("main.sheet")).to_contain_text("Moské Nord")
    shot = await page.screenshot(full_page=True)
    with Image.open(io.BytesIO(shot)) as image:
        codes = zxingcpp.read_barcodes(image)
    assert [c.format for c in codes] == [zxingcpp.BarcodeFormat.QRCode], codes
    url = codes[0].text
    match = re.fullmatch(re.escape(hub_server.url) + r"/s/([0-9A-Za-z]+)", url)
    assert match, url
    printed = await link_by_code(db, match.group(1))
    assert (printed.channel, printed.placement, printed.language) == (
        Channel.poster,
        "Opgang 4",
        "ar",
    )

    # Someone in the stairwell scans it with a phone that never signed in.
    scanner = await phone.new_page()
    await scanner.goto(url)
    assert urlsplit(scanner.url).path == f"/c/{printed.code}"
    assert await _html_attributes(scanner) == ("ar", "rtl")
    await expect(scanner.locator("img.poster")).to_be_visible()
    await _assert_no_cookies(scanner, phone)

    # The server stops gracefully (handing its counts to Redis); the worker's flush then
    # counts exactly the one scan.
    await hub_server.stop()
    await flush(settings, db)
    assert [day.clicks for day in await link_clicks(db, printed.id or 0)] == [1]
