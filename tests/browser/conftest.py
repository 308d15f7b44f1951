"""A real browser (Debian's chromium, driven by Playwright) against the hub running as a real
server process, with axe-core for accessibility.

The browser is Debian's own (``bash scripts/ensure-browser.sh`` installs it); Playwright's
downloaded browsers are never used. The server is ``hub serve --no-worker`` in a process of
its own, configured like the test's settings, with its base URL on its own port so that the
links and QR codes it makes point at it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import imageio_ffmpeg
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, ItemVariant, LinkDay, Material, TrackedLink
from hub.tracking import service
from tests.factories import PASSWORD
from tests.tracking.conftest import Published, make_published, store

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_SECONDS = 30.0
STOP_SECONDS = 15.0
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
EN = {"Accept-Language": "en"}
SERIOUS = ("serious", "critical")


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; never a browser Playwright downloads."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests use Debian's chromium. "
            "Run `bash scripts/ensure-browser.sh` (as root) first.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A citizen's phone: small touch screen, a mobile browser's agent, no cookies yet."""
    context = await browser.new_context(**phone_options())
    try:
        yield context
    finally:
        await context.close()


def phone_options() -> dict[str, Any]:
    return {
        "viewport": {"width": 360, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "user_agent": PHONE_AGENT,
    }


@pytest.fixture
async def desktop(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A partner's computer, in English."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", extra_http_headers=EN
    )
    try:
        yield context
    finally:
        await context.close()


# --- axe-core ---------------------------------------------------------------------------------

_axe = Axe()


@dataclass(frozen=True)
class Finding:
    """One node axe-core found in violation of a rule."""

    rule: str
    impact: str
    target: str
    html: str
    help: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}) at {self.target}: {self.help} — {self.html}"


async def axe_findings(page: Page) -> list[Finding]:
    """Every violation axe-core finds on the page as it is now, one per element."""
    results = await _axe.run(page)
    return [
        Finding(
            rule=violation["id"],
            impact=violation.get("impact") or "",
            target=" ".join(str(t) for t in node.get("target", [])),
            html=" ".join(str(node.get("html", "")).split())[:300],
            help=violation.get("help", ""),
        )
        for violation in results.response["violations"]
        for node in violation["nodes"]
    ]


def describe(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings)


# --- the hub as a real server -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def hub_environment(settings: Settings, *, base_url: str) -> dict[str, str]:
    """The environment of a ``hub`` process configured like the test's hub."""
    return {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_SECRET_KEY": settings.secret_key,
        "HUB_DATABASE_URL": settings.resolved_database_url,
        "HUB_REDIS_URL": settings.redis_url or "",
        "HUB_REDIS_PREFIX": settings.redis_prefix,
        "HUB_VAR_DIR": str(settings.var_dir),
        "HUB_MEDIA_ROOT": str(settings.media_root),
        "HUB_BASE_URL": base_url,
        "HUB_DEFAULT_LANGUAGE": "en",
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_SMTP_HOST": settings.smtp_host,
        "HUB_SMTP_PORT": str(settings.smtp_port),
        "HUB_WORKER_HEARTBEAT_SECONDS": str(settings.worker_heartbeat_seconds),
    }


class HubServer:
    """``hub serve`` in a process of its own, configured like the test's hub: without a job
    worker, or with one in the same process (``worker=True``) sending through the test's SMTP
    server."""

    def __init__(self, settings: Settings, log_path: Path, *, worker: bool = False) -> None:
        self.port = _free_port()
        self.log_path = log_path
        env = hub_environment(settings, base_url=self.url)
        with log_path.open("wb") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "hub", "serve", "--port", str(self.port)),
                    "--worker" if worker else "--no-worker",
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"hub serve died while starting:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise AssertionError(f"hub serve did not start:\n{self.log_tail()}")

    async def stop(self) -> None:
        """Stop gracefully: the process hands its in-memory click counts to Redis first."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.process.wait, STOP_SECONDS)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_SECONDS)


@pytest.fixture
def hub_server(settings: Settings, tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(settings, tmp_path / "hub-serve.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


# --- data -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_film(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real one-second H.264 + AAC MP4 (160×120) that a browser can play."""
    path = tmp_path_factory.mktemp("film") / "film.mp4"
    # fmt: off
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline",
            "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    # fmt: on
    return path.read_bytes()


@pytest.fixture
async def published(db: Database, settings: Settings, real_film: bytes) -> Published:
    """The published campaign of tests/tracking, its film a real, playable MP4."""
    published = await make_published(db, settings)
    async with unit_of_work(db, None) as session:
        material = await session.get(Material, published.film_material.id)
        assert material is not None
        material.whatsapp_key = store(settings, real_film, "mp4")
        material.whatsapp_size = len(real_film)
    return published


async def tracked_link(
    db: Database, published: Published, *, language: str, channel: Channel
) -> TrackedLink:
    """The partner's link to the campaign's message in ``language`` for ``channel``."""
    async with unit_of_work(db, None) as session:
        return await service.get_or_create_link(
            session,
            organisation_id=published.organisation.id or 0,
            campaign=published.campaign,
            item=published.message,
            language=language,
            channel=channel,
        )


async def variant_id(db: Database, item_id: int, language: str) -> int:
    async with unit_of_work(db, None, write=False) as session:
        variant = (
            await session.exec(
                select(ItemVariant).where(
                    ItemVariant.item_id == item_id, ItemVariant.language == language
                )
            )
        ).one()
        assert variant.id is not None
        return variant.id


async def link_by_code(db: Database, code: str) -> TrackedLink:
    async with unit_of_work(db, None, write=False) as session:
        return (await session.exec(select(TrackedLink).where(TrackedLink.code == code))).one()


async def link_clicks(db: Database, link_id: int) -> list[LinkDay]:
    async with unit_of_work(db, None, write=False) as session:
        return list((await session.exec(select(LinkDay).where(LinkDay.link_id == link_id))).all())


async def sign_in(page: Page, server: HubServer, email: str) -> None:
    """The partner signs in with e-mail and password on the sign-in page."""
    await page.goto(f"{server.url}/login")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in", exact=True).click()
    assert urlsplit(page.url).path != "/login", await page.content()
