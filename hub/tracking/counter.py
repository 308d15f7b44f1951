"""Counting clicks on the hot path: in memory per web process, handed to Redis in batches.

A click costs a few dictionary updates and one keyed hash; nothing waits on the network. A
background task hands the counts to Redis every half second (``FLUSH_INTERVAL``), so a hard
kill of the web process loses at most that much, and a graceful stop loses nothing (the
lifespan's shutdown hands over the rest). Each hand-over carries an id that Redis remembers for
an hour: a hand-over whose reply was lost and that is sent again is not counted twice.

Unique visitors are estimated per link and day with a HyperLogLog of ``blake2b(ip, user
agent)`` keyed by a salt that is random per day, lives only in Redis and expires, with the
day's HyperLogLogs, 48 hours after the day began. Neither the address nor the agent is kept
anywhere; the hash of one is worthless once the salt is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

log = logging.getLogger("hub.tracking")

TIMEZONE = ZoneInfo("Europe/Copenhagen")
FLUSH_INTERVAL = 0.5
# A day's salt and unique-visitor estimates vanish this long after the day began.
RETENTION = timedelta(hours=48)
# While Redis is away the counts wait in memory; past this many distinct (day, link) entries
# the unique-visitor hashes are dropped (the estimate gets worse, the counts stay exact).
MAX_PENDING_SETS = 100_000
HANDOVER_MEMORY = 3600

# Link-preview fetchers and other robots: counted as previews, never as clicks.
PREVIEW_AGENTS = re.compile(
    rb"whatsapp|facebookexternalhit|facebot|facebookcatalog|meta-externalagent|telegrambot"
    rb"|slackbot|slack-imgproxy|twitterbot|discordbot|linkedinbot|skypeuripreview|teams"
    rb"|microsoft office|microsoft outlook|msoffice|ms-office|microsoftpreview|bingpreview"
    rb"|outlook|office365|safelinks|applebot|pinterest|redditbot|viber|snapchat|line-poker"
    rb"|iframely|embedly|google-pagerenderer|googlebot|yandex|bot[/;) ]|bot$|crawler|spider"
    rb"|preview",
    re.IGNORECASE,
)

# KEYS: the live hash, this hand-over's marker. ARGV: marker lifetime, then field/amount pairs.
HANDOVER = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  for i = 2, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
  end
  return 1
end
return 0
"""


def is_preview(method: bytes | str, user_agent: bytes, purpose: bytes = b"") -> bool:
    """A HEAD, a prefetch, or a known link-preview fetcher: looked at by a machine."""
    if method in ("HEAD", b"HEAD"):
        return True
    if purpose and b"prefetch" in purpose.lower():
        return True
    return bool(user_agent) and PREVIEW_AGENTS.search(user_agent) is not None


def day_of(moment: datetime) -> str:
    return moment.astimezone(TIMEZONE).date().isoformat()


class Keys:
    """Every Redis key of the tracker, under the hub's prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.live = f"{prefix}track:counts"
        self.batches = f"{prefix}track:batches"
        self.links = f"{prefix}track:links"

    def salt(self, day: str) -> str:
        return f"{self.prefix}track:salt:{day}"

    def visitors(self, day: str, link_id: int) -> str:
        return f"{self.prefix}track:uv:{day}:{link_id}"

    def batch(self, batch_id: str) -> str:
        return f"{self.prefix}track:batch:{batch_id}"

    def handover(self, handover_id: str) -> str:
        return f"{self.prefix}track:handover:{handover_id}"


def _day_bounds(now: float) -> tuple[str, float, float]:
    """Today's date (Copenhagen), when it began and when it ends, as Unix times."""
    local = datetime.fromtimestamp(now, TIMEZONE)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # across a DST change, too
    return local.date().isoformat(), start.timestamp(), end.timestamp()


@dataclass
class _Batch:
    """Counts on their way to Redis, under an id that makes a repeated hand-over harmless."""

    counts: dict[str, int]
    handover_id: str = field(default_factory=lambda: secrets.token_hex(12))


class ClickCounter:
    """One per web process: counts in memory, hands them to Redis every ``interval``."""

    def __init__(self, *, prefix: str, interval: float = FLUSH_INTERVAL) -> None:
        self.keys = Keys(prefix)
        self.interval = interval
        self.redis: Redis | None = None
        self._counts: dict[str, int] = defaultdict(int)
        self._visitors: dict[tuple[str, int], set[bytes]] = defaultdict(set)
        # Before the day's salt has arrived (the first moments of a process or a day).
        self._unsalted: dict[tuple[str, int], set[tuple[str, bytes]]] = defaultdict(set)
        # Batches Redis may or may not have taken (a lost reply): sent again under their id.
        self._unsent: list[_Batch] = []
        self._salts: dict[str, bytes] = {}
        self._day = ""
        self._day_end = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._handover: AsyncScript | None = None

    # --- the hot path ---------------------------------------------------------------------

    def _today(self) -> str:
        now = time.time()
        if now >= self._day_end:
            self._day, _start, self._day_end = _day_bounds(now)
        return self._day

    def count(self, link_id: int, *, preview: bool, client: str, user_agent: bytes) -> None:
        """Count one request for a link: a click (with its visitor hash) or a preview."""
        day = self._today()
        if preview:
            self._counts[f"{day}:{link_id}:p"] += 1
            return
        self._counts[f"{day}:{link_id}:c"] += 1
        salt = self._salts.get(day)
        if salt is None:
            # Only in the first moments of a process or a day, before the salt has arrived:
            # the pair waits in memory until the next hand-over hashes it (or, with Redis
            # away, drops it), never longer.
            self._unsalted[(day, link_id)].add((client, user_agent))
            return
        self._visitors[(day, link_id)].add(_visitor(salt, client, user_agent))

    # --- hand-over to Redis -----------------------------------------------------------------

    def start(self, redis: Redis) -> None:
        self.redis = redis
        self._handover = redis.register_script(HANDOVER)
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="tracking.hand_over")

    async def stop(self) -> None:
        """Stop the background task and hand over what is left (a graceful stop loses none)."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.redis is not None:
            for _attempt in range(5):
                if await self.hand_over():
                    return
                await asyncio.sleep(0.2)
            lost = sum(sum(b.counts.values()) for b in self._unsent) + sum(self._counts.values())
            log.error("tracking.counts_lost_at_stop: %d clicks and previews", lost)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            await self.hand_over()

    async def hand_over(self) -> bool:
        """Move the counts to Redis; on failure keep them for the next try. True if done."""
        async with self._lock:  # the background task and a final hand-over never overlap
            return await self._hand_over()

    async def _hand_over(self) -> bool:
        if self._counts:
            self._unsent.append(_Batch(counts=dict(self._counts)))
            self._counts = defaultdict(int)
        done = True
        try:  # the counts first: they are what must never be lost
            while self._unsent:
                await self._send_counts(self._unsent[0])
                self._unsent.pop(0)
        except Exception as exc:  # Redis away or refusing: keep them, try again later
            log.warning("tracking.hand_over_failed: %s", exc)
            done = False
        visitors, self._visitors = self._visitors, defaultdict(set)
        unsalted, self._unsalted = self._unsalted, defaultdict(set)
        try:
            for entry, pairs in unsalted.items():
                salt = await self._salt_for(entry[0])
                visitors[entry] |= {_visitor(salt, client, agent) for client, agent in pairs}
            await self._salt_for(self._today())
            if visitors:
                await self._send_visitors(visitors)
        except Exception as exc:
            log.warning("tracking.visitors_hand_over_failed: %s", exc)
            # Hashed visitors are kept for the next try, within bounds (the estimate suffers,
            # the counts do not). Unhashed pairs are dropped: an address is never kept waiting.
            if len(self._visitors) + len(visitors) <= MAX_PENDING_SETS:
                for entry, values in visitors.items():
                    self._visitors[entry] |= values
            done = False
        return done

    async def _send_counts(self, batch: _Batch) -> None:
        assert self._handover is not None
        args: list[str | int] = [HANDOVER_MEMORY]
        for key, amount in batch.counts.items():
            args += [key, amount]
        await self._handover(
            keys=[self.keys.live, self.keys.handover(batch.handover_id)], args=args
        )

    async def _send_visitors(self, visitors: dict[tuple[str, int], set[bytes]]) -> None:
        assert self.redis is not None
        async with self.redis.pipeline(transaction=False) as pipe:
            for (day, link_id), values in visitors.items():
                key = self.keys.visitors(day, link_id)
                pipe.pfadd(key, *values)
                pipe.expireat(key, int(_day_start_of(day) + RETENTION.total_seconds()))
            await pipe.execute()

    async def _salt_for(self, day: str) -> bytes:
        salt = self._salts.get(day)
        if salt is not None:
            return salt
        assert self.redis is not None
        key = self.keys.salt(day)
        fresh = secrets.token_hex(32)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, fresh, nx=True)
            pipe.expireat(key, int(_day_start_of(day) + RETENTION.total_seconds()))
            pipe.get(key)
            _set, _expire, value = await pipe.execute()
        raw = value if value is not None else fresh
        salt = raw.encode() if isinstance(raw, str) else raw
        # Keep only today's and yesterday's salts in memory.
        self._salts = {d: s for d, s in self._salts.items() if d >= _yesterday(day)}
        self._salts[day] = salt
        return salt


def _visitor(salt: bytes, client: str, user_agent: bytes) -> bytes:
    digest = hashlib.blake2b(client.encode() + b"\x00" + user_agent, key=salt[:64], digest_size=8)
    return digest.digest()


def _day_start_of(day: str) -> float:
    year, month, date = (int(part) for part in day.split("-"))
    return datetime(year, month, date, tzinfo=TIMEZONE).timestamp()


def _yesterday(day: str) -> str:
    year, month, date = (int(part) for part in day.split("-"))
    return (datetime(year, month, date) - timedelta(days=1)).date().isoformat()
