"""Every page of the officers' console and the partners' portal, in a real browser against a
real server, with realistic data behind it: no serious accessibility violation, no sideways
scrolling on a 360 px phone, the document in the UI's language, and a visible keyboard focus.

Each page is seen twice: at 1280 px in English and at 360 px in Danish (so both languages and
both widths without doubling the run). The pages do not differ per database: SQLite only.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page
from sqlmodel import select

from hub.audiences import service as audiences
from hub.audiences.service import AudienceSpec
from hub.auth import service as auth
from hub.campaigns import service as campaigns
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.distribution import webhooks
from hub.models import (
    Campaign,
    Channel,
    FilmSubmission,
    ForwardReport,
    ItemKind,
    Organisation,
    ReportKind,
    Role,
    TokenPurpose,
    User,
    utcnow,
)
from tests.browser.conftest import (
    SERIOUS,
    HubServer,
    axe_findings,
    phone_options,
    tracked_link,
    variant_id,
)
from tests.conftest import DB_KIND
from tests.factories import PASSWORD, make_contact, make_user
from tests.reports.conftest import Fixture, fixture  # noqa: F401 - the fixture itself
from tests.tracking.conftest import Published, make_published

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        DB_KIND != "sqlite",
        reason="the pages are the same on every database: the sweep runs on SQLite only",
    ),
]

# Words of the UI chrome, common buttons and labels kept in templates of their own, in each
# language, whose translation differs: none may show in the other language's page. (Labels
# once stuck in the language of the first page rendered; the seed data uses none of these.)
ENGLISH_ONLY = (
    "Skip to content",
    "Sign out",
    "Sign in",
    "Change language",
    "Dashboard",
    "Campaigns",
    "Films to review",
    "Our organisation",
    "Our impact",
    "API tokens",
    "Save",
    "Cancel",
    "Search",
    "Previous",
    "Next",
    "Delete",
    "Edit",
    "Download",
    "Active",
    "Coordinator",
    "Member",
    "Faith community",
    "Housing organisation",
    "Published",
    "Draft",
    "Waiting for review",
    "Queued",
)
DANISH_ONLY = (
    "Spring til indhold",
    "Log ud",
    "Annullér",
    "Søg",
    "Aktiv",
    "Koordinator",
    "Kontaktperson",
    "Trossamfund",
    "Boligorganisation",
    "Udgivet",
    "Kladde",
    "Venter på gennemsyn",
    "I kø",
)
# A script to film, with a table of its scenes (a partner reads it on a phone).
SCRIPT_AR = """# خطوات

سجل فيلما قصيرا عن التطعيم.

| المشهد | الثواني | ماذا تقول | أين تصور | ملاحظات للمصور |
|---|---|---|---|---|
| ١ | ١٠ | مرحبا، اسمي فاطمة من مسجد الشمال | أمام باب المسجد | انظر إلى الكاميرا |
| ٢ | ٢٠ | التطعيم مجاني لمن تجاوز الخامسة والستين | في القاعة الكبيرة | اذكر رقم الهاتف |
"""
# How many Tab presses: past the skip link and the navigation's links to the header's form
# (a field and a button) on the longest navigation, the officers'.
TABS = 14
LANES = 2  # side by side: the browser and the server each mostly wait on the other

# Everything the sweep reads from the page in one evaluation.
MEASURE = """screen => {
  const doc = document.documentElement;
  const scrollers = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(style.overflowX)) continue;
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    // A focusable region with a name, which a keyboard can scroll: the .table-wrap.
    const region = el.getAttribute('role') === 'region' && el.tabIndex >= 0
      && (el.hasAttribute('aria-label') || el.hasAttribute('aria-labelledby'));
    if (el.classList.contains('table-wrap') && region) continue;
    if (['TEXTAREA', 'SELECT', 'INPUT'].includes(el.tagName)) continue;
    scrollers.push(el.outerHTML.slice(0, 160));
  }
  // Whether a box that sticks out is inside a scroll box that holds it (an absolutely
  // positioned box belongs to its containing block, not to the boxes in between).
  const clips = el => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
  const placed = el => el === document.body || getComputedStyle(el).position !== 'static';
  const held = el => {
    for (let node = el; node && node !== document.body;) {
      let parent = node.parentElement;
      const position = getComputedStyle(node).position;
      if (position === 'fixed') return false;
      if (position === 'absolute') {
        while (parent && !placed(parent)) parent = parent.parentElement;
      }
      if (!parent || parent === document.body) return false;
      if (clips(parent)) return true;
      node = parent;
    }
    return false;
  };
  const wide = [];
  if (doc.scrollWidth > screen) {
    for (const el of document.querySelectorAll('body *')) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.right > doc.clientWidth + 1 && !held(el)) {
        wide.push(el.outerHTML.slice(0, 160));
      }
    }
  }
  return {
    lang: doc.getAttribute('lang'),
    scrollWidth: doc.scrollWidth,
    innerWidth: window.innerWidth,
    clientWidth: doc.clientWidth,
    scrollers: scrollers,
    wide: wide.slice(-3),
    text: document.body.innerText,
  };
}"""

# Notes every element the focus moves to, and whether it shows where the focus is, so that
# the Tab presses need no round trip each to look.
RECORD_FOCUS = """() => {
  window.__focused = [];
  document.addEventListener('focusin', event => {
    const el = event.target;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = Boolean(style.boxShadow) && style.boxShadow !== 'none';
    const box = el.getBoundingClientRect();
    window.__focused.push({
      tag: el.tagName.toLowerCase(),
      type: (el.getAttribute('type') || '').toLowerCase(),
      html: el.outerHTML.slice(0, 160),
      indicated: outline || shadow,
      skip: el.classList.contains('skip-link'),
      shown: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0,
    });
  }, true);
}"""
FOCUSED = "() => window.__focused"


@dataclass(frozen=True)
class Visit:
    """One page to see: its path and what is special about it."""

    path: str
    status: int = 200
    lang: str | None = None  # the document's language when it is not the UI's (a poster)
    skip_link: bool = True


@dataclass
class Seeded:
    """The data behind the pages, and who sees them."""

    officer: str
    admin: str
    partner: str
    console: list[Visit] = field(default_factory=list)
    admin_pages: list[Visit] = field(default_factory=list)
    portal: list[Visit] = field(default_factory=list)
    signed_out: list[Visit] = field(default_factory=list)


# --- the data ---------------------------------------------------------------------------------


async def _add_script_and_submission(db: Database, published: Published) -> tuple[int, int]:
    """A script in the partner's language and a film the partner sent for it."""
    async with unit_of_work(db, None) as session:
        campaign = await session.get(Campaign, published.campaign.id)
        assert campaign is not None
        script = await campaigns.create_item(
            session, campaign, kind=ItemKind.script, title="Manuskript om vaccination"
        )
        await campaigns.set_variant(
            session,
            campaign,
            script,
            language="ar",
            text=SCRIPT_AR,
            title="نص الفيلم",
        )
        submission = FilmSubmission(
            item_id=script.id,  # type: ignore[arg-type]
            organisation_id=published.organisation.id,  # type: ignore[arg-type]
            language="ar",
            material_id=published.film_material.id,  # type: ignore[arg-type]
            submitted_by_id=published.contact.id,
        )
        session.add(submission)
        await session.flush()
        return script.id or 0, submission.id or 0


async def _add_partner_report(db: Database, published: Published) -> int:
    async with unit_of_work(db, None) as session:
        report = ForwardReport(
            organisation_id=published.organisation.id,  # type: ignore[arg-type]
            campaign_id=published.campaign.id,  # type: ignore[arg-type]
            kind=ReportKind.forward,
            item_id=published.message.id,
            language="ar",
            channel=Channel.whatsapp,
            occurred_on=utcnow().date(),
            audience_estimate=60,
            placement="Moskéens WhatsApp-gruppe",
            created_by_id=published.contact.id,
        )
        session.add(report)
        await session.flush()
        return report.id or 0


async def _add_draft(db: Database, officer: User) -> tuple[int, int]:
    async with unit_of_work(db, None) as session:
        draft = await campaigns.create_campaign(
            session,
            owner=officer,
            title="Vinterens influenzavaccine",
            purpose="Flere ældre i Nordvest skal tage imod vaccinen.",
            audience_spec={"languages": ["ar"]},
        )
        item = await campaigns.create_item(
            session, draft, kind=ItemKind.message, title="Influenzavaccinen er gratis"
        )
        await campaigns.set_variant(
            session,
            draft,
            item,
            language="da",
            text="Influenzavaccinen er gratis for alle over 65.",
        )
        return draft.id or 0, item.id or 0


async def _add_audience(db: Database, officer: User, area_id: int) -> int:
    async with unit_of_work(db, None) as session:
        audience = await audiences.save_audience(
            session,
            name="Arabisktalende i Nordvest",
            spec=AudienceSpec(area_ids=[area_id], languages=["ar"]),
            created_by=officer,
        )
        return audience.id or 0


async def _link_tokens(db: Database, invited_id: int) -> dict[TokenPurpose, str]:
    async with unit_of_work(db, None) as session:
        return {
            purpose: await auth.issue_link_token(
                session,
                purpose=purpose,
                ttl=timedelta(hours=1),
                user_id=None if purpose is TokenPurpose.setup else invited_id,
            )
            for purpose in (TokenPurpose.setup, TokenPurpose.invitation, TokenPurpose.magic_link)
        }


async def _api_token(db: Database, user: User) -> int:
    async with unit_of_work(db, None) as session:
        token, _raw = await auth.create_api_token(session, user=user, name="Regneark")
        return token.id or 0


async def _add_webhook(db: Database, organisation_id: int) -> None:
    async with unit_of_work(db, None) as session:
        organisation = await session.get(Organisation, organisation_id)
        assert organisation is not None
        organisation.webhook_url = "https://moske-nord.example.org/hub/kampagner"
        organisation.webhook_secret = webhooks.new_secret()


async def _seed(db: Database, settings: Settings, reports: Fixture) -> Seeded:
    published = await make_published(db, settings)
    officer = published.officer
    admin = await make_user(db, role=Role.admin, name="Admin Andersen")
    colleague = await make_contact(db, published.organisation)
    invited = await make_user(db, role=Role.officer, password=None, name="Ny Kollega")
    script_id, submission_id = await _add_script_and_submission(db, published)
    report_id = await _add_partner_report(db, published)
    draft_id, draft_item = await _add_draft(db, officer)
    audience_id = await _add_audience(db, officer, reports.nordvest)
    tokens = await _link_tokens(db, invited.id or 0)
    officer_token = await _api_token(db, officer)
    partner_token = await _api_token(db, published.contact)
    await _add_webhook(db, published.organisation.id or 0)
    poster = await tracked_link(db, published, language="ar", channel=Channel.poster)
    message_ar = await variant_id(db, published.message.id or 0, "ar")
    async with unit_of_work(db, None, write=False) as session:
        officer_report = (
            await session.exec(
                select(ForwardReport.id).where(ForwardReport.campaign_id == reports.campaign_id)
            )
        ).first()
        assert officer_report is not None

    cid = published.campaign.id
    org = published.organisation.id
    message = published.message.id
    return Seeded(
        officer=officer.email,
        admin=admin.email,
        partner=published.contact.email,
        console=[
            Visit("/"),
            Visit("/account/tokens"),
            Visit(f"/account/tokens/{officer_token}/revoke"),
            Visit("/partners"),
            Visit("/partners/new"),
            Visit(f"/partners/{org}"),
            Visit(f"/partners/{org}/edit"),
            Visit(f"/partners/{org}/offboard"),
            Visit(f"/organisations/{org}/webhook/remove"),
            Visit(f"/contacts/{colleague.id}/remove"),
            Visit("/areas"),
            Visit(f"/areas/{reports.top_area}"),
            Visit("/audiences"),
            Visit(f"/audiences?saved={audience_id}"),
            Visit(f"/audiences/{audience_id}/delete"),
            Visit("/imports"),
            Visit("/campaigns"),
            Visit("/campaigns/new"),
            Visit(f"/campaigns/{cid}"),
            Visit(f"/campaigns/{draft_id}"),
            Visit(f"/campaigns/{cid}/edit"),
            Visit(f"/campaigns/{cid}/items/{message}/edit"),
            Visit(f"/campaigns/{draft_id}/items/{draft_item}/delete"),
            Visit(f"/campaigns/{cid}/items/{message}/variants/ar"),
            Visit(f"/campaigns/{cid}/items/{message}/variants/ar/delete"),
            Visit(f"/campaigns/{cid}/preview"),
            Visit(f"/campaigns/{reports.campaign_id}/sending"),
            Visit(f"/campaigns/{cid}/sending/cancel"),
            Visit(f"/campaigns/{cid}/status/close"),
            Visit(f"/campaigns/{cid}/status/archive"),
            Visit(f"/campaigns/{reports.campaign_id}/summary"),
            Visit(f"/campaigns/{reports.campaign_id}/reports"),
            Visit(f"/campaigns/{reports.campaign_id}/reports/{officer_report}"),
            Visit("/reviews"),
            Visit(f"/reviews/{submission_id}"),
            Visit(f"/reports?campaign_id={reports.campaign_id}&by=partner"),
            Visit(f"/reports/equity?campaign_id={reports.campaign_id}"),
            Visit(f"/partners/{reports.a}/impact"),
            Visit("/campaigns/999999", status=404),
        ],
        admin_pages=[
            Visit("/users"),
            Visit("/audit"),
            Visit(f"/users/{officer.id}/disable"),
            Visit(f"/contacts/{colleague.id}/erase"),
        ],
        portal=[
            Visit("/"),
            Visit("/account/tokens"),
            Visit(f"/account/tokens/{partner_token}/revoke"),
            Visit("/portal/campaigns"),
            Visit(f"/portal/campaigns/{cid}"),
            Visit(f"/portal/campaigns/{cid}/items/{script_id}"),
            Visit(f"/portal/campaigns/{cid}/items/{script_id}/films/new"),
            Visit(f"/portal/campaigns/{cid}/variants/{message_ar}/forward"),
            Visit(f"/portal/links/{poster.id}/print", lang="ar", skip_link=False),
            Visit(f"/portal/campaigns/{cid}/reports"),
            Visit(f"/portal/campaigns/{cid}/reports/new"),
            Visit(f"/portal/campaigns/{cid}/reports/new?kind=meeting"),
            Visit(f"/portal/reports/{report_id}/edit"),
            Visit("/portal/impact"),
            Visit("/organisation"),
            Visit("/organisation/edit"),
            Visit("/organisation/agreement"),
            Visit(f"/organisations/{org}/webhook/rotate"),
        ],
        signed_out=[
            Visit("/login"),
            Visit(f"/login/link/{tokens[TokenPurpose.magic_link]}"),
            Visit(f"/setup/{tokens[TokenPurpose.setup]}"),
            Visit(f"/invitation/{tokens[TokenPurpose.invitation]}"),
            Visit(f"/invitation/{secrets.token_urlsafe(16)}", status=404),
        ],
    )


@pytest.fixture
async def seeded(
    db: Database,
    settings: Settings,
    fixture: Fixture,  # noqa: F811
) -> Seeded:
    return await _seed(db, settings, fixture)


# --- the browser ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """One way of seeing every page: a language and a screen."""

    language: str
    options: dict[str, Any]


ENGLISH_DESKTOP = Pass(
    "en",
    {
        "viewport": {"width": 1280, "height": 900},
        "locale": "en-GB",
        "extra_http_headers": {"Accept-Language": "en"},
    },
)
DANISH_PHONE = Pass(
    "da", {**phone_options(), "locale": "da-DK", "extra_http_headers": {"Accept-Language": "da"}}
)
PASSES = (ENGLISH_DESKTOP, DANISH_PHONE)


@asynccontextmanager
async def _context(browser: Browser, way: Pass) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(**way.options)
    try:
        yield context
    finally:
        await context.close()


async def _sign_in(page: Page, server: HubServer, email: str) -> None:
    """Sign in on the sign-in page in whichever language it is shown."""
    await page.goto(f"{server.url}/login")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.locator("#password").press("Enter")
    assert urlsplit(page.url).path != "/login", await page.content()


async def _focus_problems(page: Page, visit: Visit) -> list[str]:
    """Tab from the top of the freshly loaded page through the first few controls (the skip
    link, the navigation's links, a form field, a button): every one must show where the
    focus is; the skip link comes first and appears on screen."""
    await page.evaluate(RECORD_FOCUS)
    for _press in range(TABS):
        await page.keyboard.press("Tab")
    focused: list[dict[str, Any]] = await page.evaluate(FOCUSED)
    if not focused:
        return ["Tab does not focus anything"]
    problems = []
    first = focused[0]
    if visit.skip_link and not (first["skip"] and first["shown"]):
        problems.append(f"the first Tab does not show the skip link: {first['html']}")
    seen, kinds = set(), set()
    for element in focused:
        if element["html"] in seen:  # round again, past the page's last control
            break
        seen.add(element["html"])
        if not element["indicated"]:
            problems.append(f"no visible focus indicator on {element['html']}")
        if element["tag"] == "a":
            kinds.add("link")
        elif element["tag"] == "button" or element["type"] == "submit":
            kinds.add("button")
        elif element["tag"] in ("input", "select", "textarea"):
            kinds.add("field")
    if visit.skip_link and kinds != {"link", "field", "button"}:
        problems.append(f"{TABS} Tabs reached only {sorted(kinds)}, not a field and a button")
    return problems


async def _page_problems(page: Page, server: HubServer, visit: Visit, way: Pass) -> list[str]:
    response = await page.goto(server.url + visit.path)
    assert response is not None, visit.path
    if response.status != visit.status:
        return [f"answered {response.status}, not {visit.status}"]
    problems = [str(f) for f in await axe_findings(page) if f.impact in SERIOUS]
    measured = await page.evaluate(MEASURE, way.options["viewport"]["width"])
    expected_lang = visit.lang or way.language
    if measured["lang"] != expected_lang:
        problems.append(f'<html lang="{measured["lang"]}">, not "{expected_lang}"')
    # A phone's browser zooms out to fit a page that is too wide, and widens innerWidth with
    # it: the page is measured against the screen it was given.
    screen = way.options["viewport"]["width"]
    if measured["innerWidth"] != screen or measured["scrollWidth"] > screen:
        problems.append(
            f"scrolls sideways: {measured['scrollWidth']} px wide, window "
            f"{measured['innerWidth']} px, layout {measured['clientWidth']} px, on a {screen} px "
            f"screen; too wide: {measured['wide']}"
        )
    for scroller in measured["scrollers"]:
        problems.append(f"scrolls sideways in a box the keyboard cannot reach: {scroller}")
    foreign = ENGLISH_ONLY if way.language == "da" else DANISH_ONLY
    for words in foreign:
        if re.search(rf"(?<![\w-]){re.escape(words)}(?![\w-])", measured["text"]):
            problems.append(f"{words!r}, not in the page's language ({way.language})")
    problems += await _focus_problems(page, visit)
    return problems


async def _lane(
    browser: Browser, server: HubServer, visits: list[Visit], email: str | None, way: Pass
) -> list[str]:
    """Every page of one user in one pass; the problems found, each with its page and pass."""
    problems: list[str] = []
    async with _context(browser, way) as context:
        page = await context.new_page()
        if email is not None:
            await _sign_in(page, server, email)
        for visit in visits:
            found = await _page_problems(page, server, visit, way)
            where = f"{visit.path} ({way.language}, {way.options['viewport']['width']} px)"
            problems += [f"{where}: {problem}" for problem in found]
    return problems


# --- the sweep --------------------------------------------------------------------------------


async def test_every_page_is_accessible_fits_a_phone_and_shows_focus(
    hub_server: HubServer, browser: Browser, seeded: Seeded
) -> None:
    users = (
        (seeded.console, seeded.officer),
        (seeded.admin_pages, seeded.admin),
        (seeded.portal, seeded.partner),
        (seeded.signed_out, None),
    )
    side_by_side = asyncio.Semaphore(LANES)

    async def lane(visits: list[Visit], email: str | None, way: Pass) -> list[str]:
        async with side_by_side:
            return await _lane(browser, hub_server, visits, email, way)

    lanes = await asyncio.gather(
        *(lane(visits, email, way) for visits, email in users for way in PASSES)
    )
    problems = [problem for lane in lanes for problem in lane]
    assert not problems, "\n".join(problems)
