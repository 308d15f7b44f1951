"""Journey 2, in English: the officer imports partners and areas from CSV (a dry run, a file
with an error fixed, the import), builds an audience of the low-uptake areas, composes a campaign
with a film, a script and a poster in Danish, Arabic and Somali, previews it, publishes it and
watches the sending reach 100 %."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

from PIL import Image, ImageDraw
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import ROOT
from tests.browser.journeys.story import FLASH, PASSWORD, Story, follow_nav

AREAS_CSV = ROOT / "tests" / "data" / "areas_uptake.csv"
LANGUAGES = ("da", "ar", "so")
PROCESSING_SECONDS = 60.0
SENDING_SECONDS = 60.0
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}

PARTNERS_HEADER = (
    "external_id;name;kind;languages;areas;channels;status;"
    "contact_name;contact_email;contact_language;contact_notify;contact_role"
)
# Mjølnerparken (55 %) and Tingbjerg (57.9 %) are behind; Nørrebro as a whole (66 %) less so.
PARTNER_ROWS = (
    "M-01;Mjølnerparkens Moské;faith_community;ar so da;MJ;whatsapp:300|poster|meeting;active;"
    "Amina Hassan;{amina};en;email;coordinator",
    "T-02;Tingbjerg Boligsocial;housing_organisation;so ar da;TI;whatsapp:150|facebook:800;active;"
    "Hodan Warsame;{hodan};so;email;coordinator",
    "N-03;Nørrebro Kulturforening;association;da tr;NB;facebook:500;active;"
    "Lars Jensen;lars@kultur.example;da;email;coordinator",
)
AMINA = "amina@moske.example"

SCRIPT = {
    "da": "Hej, jeg hedder Amina. Jeg er blevet vaccineret, og her fortæller jeg hvorfor.",
    "ar": "مرحبا، اسمي أمينة. لقد تلقيت اللقاح، وهنا أخبركم لماذا.",
    "so": "Salaan, magacaygu waa Amina. Waan tallaalay, halkanna waxaan idiinku sheegayaa sababta.",
}
TITLES = {
    "da": "Spørgsmål og svar om vaccinen",
    "ar": "أسئلة وأجوبة حول اللقاح",
    "so": "Su'aalo iyo jawaabo ku saabsan tallaalka",
}


def partners_csv(*, hodan: str) -> bytes:
    rows = [row.format(amina=AMINA, hodan=hodan) for row in PARTNER_ROWS]
    return ("\r\n".join([PARTNERS_HEADER, *rows]) + "\r\n").encode()


def poster_png(language: str) -> bytes:
    """A small poster image, different per language."""
    image = Image.new("RGB", (420, 594), "#f4efe6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 400, 574), outline="#1d4f91", width=8)
    draw.text((60, 280), f"Vaccine — {language}", fill="#1d4f91")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def sign_in(story: Story, page: Page, email: str) -> None:
    await page.goto(story.url("/login"))
    await story.check(page)
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.locator("main form button.primary").first.click()
    assert urlsplit(page.url).path != "/login", await page.content()


async def submit(page: Page, form: Locator | None = None) -> None:
    target = form if form is not None else page.locator("main form")
    async with page.expect_navigation():
        await target.locator("button[type=submit].primary").first.click()


async def upload_csv(page: Page, form_input: str, name: str, content: bytes) -> None:
    await page.locator(form_input).set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    form = page.locator("form", has=page.locator(form_input))
    await submit(page, form)


async def import_files(story: Story, page: Page) -> None:
    await follow_nav(page, "/partners")
    await story.check(page)
    await page.locator("main a[href$='/imports']").first.click()
    await page.wait_for_url("**/imports")
    await story.check(page)

    # Areas first: the partners name them.
    await upload_csv(page, "#file_areas", "omraader.csv", AREAS_CSV.read_bytes())
    await expect(page.locator("h1")).to_have_text("Check before importing")
    await story.check(page)
    await submit(page)
    await expect(page.locator("h1")).to_have_text("The import is done")

    # Partners: the dry run finds a bad e-mail address; nothing is imported.
    await page.goto(story.url("/imports"))
    bad = partners_csv(hodan="hodan(at)boligsocial.example")
    await upload_csv(page, "#file_partners", "partnere.csv", bad)
    await expect(page.locator("h1")).to_have_text("The file has errors")
    errors = page.locator("table", has=page.locator("caption", has_text="Errors"))
    await expect(errors).to_contain_text("hodan(at)boligsocial.example")
    await expect(page.get_by_role("button", name="Import now")).to_have_count(0)
    await story.shoot(page, "03-import-errors")
    await story.check(page)

    # Fixed and uploaded again: the plan, then the import.
    await page.get_by_role("link", name="Import another file").click()
    await upload_csv(
        page, "#file_partners", "partnere.csv", partners_csv(hodan="hodan@bolig.example")
    )
    await expect(page.locator("h1")).to_have_text("Check before importing")
    await submit(page)
    await expect(page.locator("h1")).to_have_text("The import is done")
    await story.check(page)
    await page.get_by_role("link", name="See the result").click()
    await expect(page.locator("main")).to_contain_text("Mjølnerparkens Moské")


async def build_audience(story: Story, page: Page) -> str:
    await follow_nav(page, "/audiences")
    await story.check(page)
    await page.locator("#audience-uptake").fill("60")
    await page.locator("#audience-only-active").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Show audience").click()
    main = page.locator("main")
    await expect(main).to_contain_text("Mjølnerparkens Moské")
    await expect(main).to_contain_text("Tingbjerg Boligsocial")
    await expect(main).not_to_contain_text("Nørrebro Kulturforening")
    await story.check(page)
    await story.shoot(page, "04-audience")
    name = "Behind on vaccination (under 60 %)"
    await page.locator("#audience-name").fill(name)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save audience").click()
    await expect(page.locator(FLASH)).to_be_visible()
    return name


async def item_section(page: Page, title: str) -> Locator:
    section = page.locator("section.composer-item", has=page.locator("h3", has_text=title))
    await expect(section).to_have_count(1)
    return section


async def add_item(page: Page, kind: str, title: str) -> Locator:
    await page.locator("#new-item-kind").select_option(kind)
    await page.locator("#new-item-title").fill(title)
    await page.locator("#new-item-base_language").select_option("da")
    form = page.locator("form", has=page.locator("#new-item-kind"))
    await submit(page, form)
    await expect(page.locator(FLASH)).to_be_visible()
    return await item_section(page, title)


async def add_text(page: Page, section: Locator, language: str, text: str) -> None:
    form = section.locator("form", has=page.locator("textarea[name=text]"))
    await form.locator("select[name=language]").select_option(language)
    await form.locator("textarea[name=text]").fill(text)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    await expect(page.locator(FLASH)).to_be_visible()


async def upload(
    page: Page,
    title: str,
    language: str,
    name: str,
    mime: str,
    content: bytes,
    *,
    slow: bool = False,
) -> None:
    """Upload through the composer's form, whose script sends it with a progress bar.
    ``slow``: over a slow line (about 3 s for the file), to watch the bar move."""
    section = await item_section(page, title)
    form = section.locator("form[data-upload]")
    await form.locator("select[name=language]").select_option(language)
    await form.locator("input[type=file]").set_input_files(
        {"name": name, "mimeType": mime, "buffer": content}
    )
    line = await page.context.new_cdp_session(page) if slow else None
    if line is not None:
        await line.send("Network.enable")
        await line.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 20,
                "downloadThroughput": -1,
                "uploadThroughput": max(len(content) // 3, 1024),
            },
        )
    async with page.expect_navigation(timeout=30_000):
        await form.locator("button[type=submit]").click()
        if line is not None:
            bar = form.locator("[data-upload-progress] progress")
            await expect(bar).to_be_visible()
            await expect(form).to_have_attribute("aria-busy", "true")
            status = form.locator("[data-upload-status]")
            await expect(status).to_have_text(re.compile(r"^[1-9]\d? % uploaded$"))
            await expect(form.locator("button[type=submit]")).to_be_disabled()
    if line is not None:
        await line.send("Network.emulateNetworkConditions", UNTHROTTLED)
        await line.detach()
    await expect(page.locator(FLASH)).to_be_visible()


async def wait_for_processing(story: Story, page: Page, films: int) -> None:
    """The worker makes each film's WhatsApp version and poster frame; the composer's script
    follows it without a reload, then the officer reloads to see the poster frames."""
    done = page.locator(".composer-processing-done")
    await expect(done).to_have_count(films, timeout=PROCESSING_SECONDS * 1000)
    await page.reload()
    await expect(page.locator("img.composer-poster")).to_have_count(films)


async def compose(story: Story, page: Page, audience: str) -> None:
    await follow_nav(page, "/campaigns")
    await story.check(page)
    await page.locator("main a[href$='/campaigns/new']").first.click()
    await page.wait_for_url("**/campaigns/new")
    await story.check(page)

    # A missing title is shown beside the field; what was typed stays.
    await page.locator("#purpose").fill("Reach the families in the areas that are behind.")
    await page.locator("#title").evaluate("input => input.removeAttribute('required')")
    await submit(page)
    await expect(page.locator("#title-error")).to_be_visible()
    await expect(page.locator("#purpose")).to_have_value(
        "Reach the families in the areas that are behind."
    )
    await story.check(page)

    story.campaign_title = "Autumn vaccination 2026"
    await page.locator("#title").fill(story.campaign_title)
    await page.locator("#audience_id").select_option(label=audience)
    await submit(page)
    await expect(page.locator(FLASH)).to_be_visible()
    match = re.search(r"/campaigns/(\d+)", page.url)
    assert match, page.url
    story.campaign_id = int(match.group(1))

    film = "Why I got vaccinated"
    await add_item(page, "film", film)
    for language in LANGUAGES:
        mp4 = f"film-{language}.mp4"
        await upload(page, film, language, mp4, "video/mp4", story.film, slow=language == "da")
    section = await item_section(page, film)
    for language in LANGUAGES:  # the title a citizen sees, in the film's language
        await section.locator(f"a[href$='/variants/{language}']").first.click()
        await page.locator("#title").fill(TITLES[language])
        await submit(page)

    script = "Script: tell your own story"
    section = await add_item(page, "script", script)
    for language in LANGUAGES:
        await add_text(page, await item_section(page, script), language, SCRIPT[language])

    poster = "Poster: vaccination without appointment"
    await add_item(page, "poster", poster)
    for language in LANGUAGES:
        await upload(
            page, poster, language, f"poster-{language}.png", "image/png", poster_png(language)
        )

    await wait_for_processing(story, page, films=len(LANGUAGES))
    await story.check(page)
    await story.shoot(page, "05-composer")


async def preview_and_publish(story: Story, page: Page) -> None:
    await page.get_by_role("link", name="Preview as a partner sees it").click()
    await page.wait_for_url(f"**/campaigns/{story.campaign_id}/preview**")
    await expect(page.locator("main")).to_contain_text("Why I got vaccinated")
    await story.check(page)
    await story.shoot(page, "06-preview")
    await page.go_back()

    async with page.expect_navigation():
        await page.get_by_role("button", name="Publish now").click()
    await expect(page.locator(FLASH)).to_be_visible()
    await story.check(page)

    # The progress script follows the sending without a reload.
    percent = page.locator("[data-progress-percent]")
    await expect(percent).to_have_text("100 %", timeout=SENDING_SECONDS * 1000)
    await expect(page.locator("[data-count=sent]")).to_have_text(re.compile(r"[1-9]"))
    await story.shoot(page, "07-sending", at=page.locator(".sending-progress"))


async def officer_publishes(story: Story) -> None:
    context = await story.desktop("en")
    page = await story.new_page(context)
    await sign_in(story, page, story.officer_email)
    await import_files(story, page)
    audience = await build_audience(story, page)
    await compose(story, page, audience)
    await preview_and_publish(story, page)
    await context.close()
