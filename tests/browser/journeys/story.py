"""What the five journeys share: the running hub, the mailbox, the browser, and the checks every
page of a journey must pass (axe-core, 360 px, ``lang``), plus the screenshots for the README.

A journey is a plain async function taking the :class:`Story`; each leaves in it what the next
one needs (the campaign, the partner's link …), the way one person's work reaches the next.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, Page

from hub.config import Settings
from hub.db import Database
from tests.browser.conftest import ROOT, SERIOUS, Finding, HubServer, axe_findings, phone_options
from tests.conftest import Mailbox

SCREENSHOTS = ROOT / "docs" / "screenshots"
SCREENSHOT_WIDTH = 960  # px of the saved PNG: small enough to commit, sharp enough to read
FLASH = "p.notice-success[role=status]"  # the message after an action
MAIL_SECONDS = 30.0
ACTION_MS = 10_000  # a click or a wait that takes longer than this has failed
NAV_NAMES = re.compile("^(Main|Hovedmenu)$")
PASSWORD = "korrekt hest batteri 42"  # the test accounts' password


@dataclass
class Story:
    server: HubServer
    settings: Settings
    db: Database
    mailbox: Mailbox
    browser: Browser
    film: bytes
    work_dir: Path
    screenshots: Path
    publish_screenshots: bool = False
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    pages_checked: list[str] = field(default_factory=list)
    # What the journeys hand on.
    admin_email: str = "admin@kommune.example"
    officer_email: str = "officer@kommune.example"
    partner_email: str = ""
    campaign_id: int = 0
    campaign_title: str = ""
    citizen_link: str = ""

    # --- browsers ---------------------------------------------------------------------------

    async def desktop(self, language: str) -> BrowserContext:
        """A computer whose browser asks for ``language`` (da or en)."""
        return await self.browser.new_context(
            viewport={"width": 1280, "height": 860},
            locale="da-DK" if language == "da" else "en-GB",
            extra_http_headers={"Accept-Language": language},
            accept_downloads=True,
        )

    async def phone(self, language: str) -> BrowserContext:
        return await self.browser.new_context(
            **phone_options(),
            locale="da-DK" if language == "da" else "en-GB",
            extra_http_headers={"Accept-Language": language},
            accept_downloads=True,
        )

    def url(self, path: str) -> str:
        return self.server.url + path

    async def new_page(self, context: BrowserContext) -> Page:
        page = await context.new_page()
        page.set_default_timeout(ACTION_MS)
        return page

    # --- checks -----------------------------------------------------------------------------

    async def check(self, page: Page, *, citizen: bool = False) -> None:
        """The page as it is now passes axe-core (citizen pages: nothing at all; others:
        nothing serious or critical), names its language, and fits its window's width."""
        key = urlsplit(page.url).path
        self.pages_checked.append(key)
        lang = await page.locator("html").get_attribute("lang")
        assert lang, f"{key}: <html> has no lang"
        found = [f for f in await axe_findings(page) if citizen or f.impact in SERIOUS]
        if found:
            self.findings.setdefault(key, []).extend(found)
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{key} scrolls sideways by {overflow} px"

    def assert_accessible(self) -> None:
        report = "\n".join(
            f"{path}:\n  " + "\n  ".join(str(f) for f in found)
            for path, found in self.findings.items()
        )
        assert not self.findings, f"axe-core findings on journey pages:\n{report}"

    async def shoot(self, page: Page, name: str, at: Locator | None = None) -> None:
        """A screenshot of the window (not the whole page) from its top or from ``at``,
        shrunk and palette-coded."""
        if at is None:
            await page.evaluate("() => window.scrollTo(0, 0)")
        else:
            await at.scroll_into_view_if_needed()
        raw = await page.screenshot(full_page=False, animations="disabled", caret="hide")
        self.screenshots.mkdir(parents=True, exist_ok=True)
        if not self.publish_screenshots:  # taken, but not worth shrinking
            (self.screenshots / f"{name}.png").write_bytes(raw)
            return
        image = Image.open(io.BytesIO(raw)).convert("RGB")
        if image.width > SCREENSHOT_WIDTH:
            height = round(image.height * SCREENSHOT_WIDTH / image.width)
            image = image.resize((SCREENSHOT_WIDTH, height), Image.Resampling.LANCZOS)
        small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(self.screenshots / f"{name}.png", optimize=True)

    # --- mail -------------------------------------------------------------------------------

    async def mail_to(self, address: str, subject_contains: str = "") -> Message:
        """The newest message to ``address`` (whose subject has the words), once it arrives."""
        deadline = time.monotonic() + MAIL_SECONDS
        while time.monotonic() < deadline:
            found = [m for m in self.mailbox.to(address) if subject_contains in decoded_subject(m)]
            if found:
                return found[-1]
            await asyncio.sleep(0.1)
        subjects = [decoded_subject(m) for m in self.mailbox.messages]
        raise AssertionError(
            f"no e-mail to {address} about {subject_contains!r} within {MAIL_SECONDS} s; "
            f"the mailbox holds {subjects}\n{self.server.log_tail()}"
        )

    def link_in(self, message: Message, path_prefix: str) -> str:
        """The first link in the message's plain text that leads to ``path_prefix`` here."""
        text = plain_text(message)
        pattern = re.escape(self.server.url + path_prefix) + r"\S*"
        match = re.search(pattern, text)
        assert match, f"no link to {path_prefix} in:\n{text}"
        return match.group(0)


async def follow_nav(page: Page, path: str) -> None:
    """Click the main navigation's link to ``path``, as a person finds their way."""
    await page.get_by_role("navigation", name=NAV_NAMES).locator(f"a[href$='{path}']").click()
    await page.wait_for_url(f"**{path}")


def publish_screenshots() -> bool:
    """Whether to refresh docs/screenshots (``make screenshots``): a test run should not
    rewrite committed files."""
    return os.environ.get("HUB_SCREENSHOTS") == "1"


def decoded_subject(message: Message) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"] or "")))


def plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the e-mail has no plain-text part")
