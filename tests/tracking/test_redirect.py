"""The citizen's click: ``/s/{code}`` resolves without the database, counts clicks and
previews apart, sets no cookie, and the flush adds the counts to the rollups exactly once."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.errors import InvalidInput
from hub.models import Channel, LinkDay, TrackedLink, TrackingFlush
from hub.tracking import rollup, service
from hub.tracking.counter import ClickCounter, Keys, day_of, is_preview
from hub.tracking.redirect import valid_code
from tests.tracking.conftest import Published, flush, hand_over

PREVIEW_AGENTS = [
    "WhatsApp/2.23.20.0 A",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "TelegramBot (like TwitterBot)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    # iMessage's link preview
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
    "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) SkypeUriPreview Preview/0.5 skype-url-preview",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
]
BROWSERS = [
    "Mozilla/5.0 (Linux; Android 13; SM-A146P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "",
]


async def make_link(
    db: Database, published: Published, *, channel: Channel = Channel.whatsapp, language: str = "ar"
) -> TrackedLink:
    async with unit_of_work(db, None) as session:
        return await service.get_or_create_link(
            session,
            organisation_id=published.organisation.id or 0,
            campaign=published.campaign,
            item=published.message,
            language=language,
            channel=channel,
        )


async def day_rows(db: Database) -> list[LinkDay]:
    async with unit_of_work(db, None, write=False) as session:
        return list((await session.exec(select(LinkDay).order_by(LinkDay.link_id))).all())


def test_preview_detection() -> None:
    for agent in PREVIEW_AGENTS:
        assert is_preview("GET", agent.encode()), agent
    for agent in BROWSERS:
        assert not is_preview("GET", agent.encode()), agent
    assert is_preview("HEAD", BROWSERS[0].encode())
    assert is_preview("GET", BROWSERS[0].encode(), b"prefetch;prerender")


def test_codes_are_random_base62() -> None:
    codes = {service.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 8 and valid_code(c) for c in codes)
    assert not valid_code("abc") and not valid_code("abcdefg/") and not valid_code("ab cdefgh")


async def test_one_link_per_channel_made_on_demand(db: Database, published: Published) -> None:
    first = await make_link(db, published)
    again = await make_link(db, published)
    other = await make_link(db, published, channel=Channel.facebook)
    assert first.id == again.id and first.code == again.code
    assert other.id != first.id
    async with unit_of_work(db, None) as session:
        with_place = await service.get_or_create_link(
            session,
            organisation_id=published.organisation.id or 0,
            campaign=published.campaign,
            item=published.poster,
            language="da",
            channel=Channel.poster,
            placement="Opgang 4, indgang",
        )
        assert with_place.placement == "Opgang 4, indgang"
        with pytest.raises(InvalidInput) as refused:
            await service.get_or_create_link(
                session,
                organisation_id=published.organisation.id or 0,
                campaign=published.campaign,
                item=published.poster,
                language="so",
                channel=Channel.poster,
            )
        assert [e.field for e in refused.value.errors] == ["language"]


async def test_click_redirects_without_cookie_and_counts(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    link = await make_link(db, published)
    for agent in BROWSERS:
        response = await client.get(f"/s/{link.code}", headers={"User-Agent": agent})
        assert response.status_code == 302
        assert response.headers["location"] == f"/c/{link.code}"
        assert "set-cookie" not in response.headers
        assert response.headers["cache-control"] == "no-store"
    for agent in PREVIEW_AGENTS:
        response = await client.get(f"/s/{link.code}", headers={"User-Agent": agent})
        assert response.status_code == 302
    head = await client.head(f"/s/{link.code}", headers={"User-Agent": BROWSERS[0]})
    assert head.status_code == 302
    # Unknown, malformed and unsupported: no count, no cookie.
    assert (await client.get("/s/ZZZZZZZZ")).status_code == 404
    assert (await client.get("/s/../../etc")).status_code == 404
    assert (await client.post(f"/s/{link.code}")).status_code == 405

    await hand_over(app)
    result = await flush(settings, db)
    assert (result.clicks, result.previews) == (3, len(PREVIEW_AGENTS) + 1)
    [row] = await day_rows(db)
    assert row.link_id == link.id and row.day == date.fromisoformat(day_of(_now()))
    assert (row.clicks, row.previews) == (3, len(PREVIEW_AGENTS) + 1)
    # Three different agents from one address: three visitors, estimated.
    assert row.uniques == 3
    # Nothing counted twice by a second flush.
    assert (await flush(settings, db)).clicks == 0
    assert (await day_rows(db))[0].clicks == 3


async def test_repeat_visitor_counts_once_as_unique(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    link = await make_link(db, published)
    for _ in range(5):
        await client.get(f"/s/{link.code}", headers={"User-Agent": BROWSERS[0]})
    await hand_over(app)
    await flush(settings, db)
    for _ in range(2):
        await client.get(f"/s/{link.code}", headers={"User-Agent": BROWSERS[0]})
    await hand_over(app)
    await flush(settings, db)
    [row] = await day_rows(db)
    assert (row.clicks, row.uniques) == (7, 1)


async def test_resolves_from_redis_and_memory_after_first_lookup(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    link = await make_link(db, published)
    redis = aioredis.Redis.from_url(settings.redis_url or "")
    keys = Keys(settings.redis_prefix)
    try:
        assert await redis.hget(keys.links, link.code) is None
        assert (await client.get(f"/s/{link.code}")).status_code == 302
        assert await redis.hget(keys.links, link.code) == str(link.id).encode()
        # Gone from the database: memory still answers (codes never change their link).
        async with unit_of_work(db, None) as session:
            row = await session.get(TrackedLink, link.id)
            row.code = "Zz0000000"  # type: ignore[union-attr]
        assert (await client.get(f"/s/{link.code}")).status_code == 302
    finally:
        await redis.aclose()


async def test_counter_survives_redis_refusing(settings: Settings) -> None:
    """A hand-over that fails keeps its counts for the next one, which delivers them."""
    counter = ClickCounter(prefix=settings.redis_prefix)
    broken = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    counter.start(broken)
    try:
        for _ in range(4):
            counter.count(7, preview=False, client="10.0.0.1", user_agent=b"x")
        counter.count(7, preview=True, client="10.0.0.1", user_agent=b"bot")
        assert not await counter.hand_over()
    finally:
        await counter.stop()
        await broken.aclose()
    working = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        counter.start(working)
        assert await counter.hand_over()
        assert counter._unsent == []  # nothing left waiting
        keys = Keys(settings.redis_prefix)
        live = await working.hgetall(keys.live)
        assert {k.decode().rsplit(":", 1)[1]: int(v) for k, v in live.items()} == {"c": 4, "p": 1}
    finally:
        await counter.stop()
        await working.aclose()


async def test_repeated_hand_over_is_applied_once(settings: Settings) -> None:
    redis = aioredis.Redis.from_url(settings.redis_url or "")
    counter = ClickCounter(prefix=settings.redis_prefix)
    counter.start(redis)
    try:
        from hub.tracking.counter import _Batch

        batch = _Batch(counts={"2026-11-22:9:c": 5})
        await counter._send_counts(batch)
        await counter._send_counts(batch)  # the reply was lost; sent again
        assert await redis.hget(counter.keys.live, "2026-11-22:9:c") == b"5"
    finally:
        await counter.stop()
        await redis.aclose()


@pytest.mark.parametrize("crash_at", ["before_commit", "after_commit"])
async def test_flush_killed_midway_is_made_whole(
    monkeypatch: pytest.MonkeyPatch,
    app: FastAPI,
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    published: Published,
    crash_at: str,
) -> None:
    link = await make_link(db, published)
    for _ in range(11):
        await client.get(f"/s/{link.code}", headers={"User-Agent": BROWSERS[0]})
    await hand_over(app)

    original_add, original_forget = rollup._add, rollup.forget_batch

    async def crash_before_commit(*args: object) -> None:
        await original_add(*args)  # type: ignore[arg-type]
        raise KeyboardInterrupt  # stands for the process dying

    async def crash_after_commit(*args: object) -> None:
        raise KeyboardInterrupt

    if crash_at == "before_commit":
        monkeypatch.setattr(rollup, "_add", crash_before_commit)
    else:
        monkeypatch.setattr(rollup, "forget_batch", crash_after_commit)
    with pytest.raises(KeyboardInterrupt):
        await flush(settings, db)
    monkeypatch.setattr(rollup, "_add", original_add)
    monkeypatch.setattr(rollup, "forget_batch", original_forget)

    # Clicks arriving between the crash and the next run.
    for _ in range(4):
        await client.get(f"/s/{link.code}", headers={"User-Agent": BROWSERS[1]})
    await hand_over(app)
    await flush(settings, db)
    [row] = await day_rows(db)
    assert row.clicks == 15
    async with unit_of_work(db, None, write=False) as session:
        applied = (await session.exec(select(TrackingFlush))).all()
    assert len(applied) == 2  # the batch of the crashed run and the new one, once each


def _now() -> object:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_worker_flushes_on_its_schedule(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    from hub.state import HubState
    from workers import settings as worker_settings
    from workers.tracking import flush_clicks

    cron = next(c for c in worker_settings.CRON_JOBS if c.name == "tracking.flush_clicks")
    assert cron.unique and cron.second == {10, 30, 50}
    link = await make_link(db, published)
    await client.get(f"/s/{link.code}", headers={"User-Agent": BROWSERS[0]})
    await hand_over(app)
    state = await HubState.open(settings)
    try:
        result = await flush_clicks({"hub": state})
    finally:
        await state.close()
    assert result == {"batches": 1, "clicks": 1, "previews": 0}


async def test_a_burst_of_first_clicks_looks_the_code_up_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    published: Published,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from hub.tracking.redirect import Redirector

    link = await make_link(db, published)
    calls = 0
    original = Redirector._look_up

    async def counted(self: Redirector, scope: object, code: str) -> int | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)  # a slow database: the others arrive meanwhile
        return await original(self, scope, code)  # type: ignore[arg-type]

    monkeypatch.setattr(Redirector, "_look_up", counted)
    answers = await asyncio.gather(*(client.get(f"/s/{link.code}") for _ in range(40)))
    assert [a.status_code for a in answers] == [302] * 40
    assert calls == 1
    await hand_over(app)
    assert (await flush(settings, db)).clicks == 40
