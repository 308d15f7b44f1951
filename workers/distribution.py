"""Jobs of distribution: the fan-out, the send jobs (a batch of deliveries each) and the sweep
that brings back whatever a killed worker or a flushed Redis lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import httpx

from hub import i18n
from hub.db import unit_of_work
from hub.distribution import service
from hub.distribution.channels import (
    Channel,
    EmailChannel,
    Report,
    SmsChannel,
    WebhookChannel,
)
from hub.distribution.ratelimit import RateLimiter
from hub.distribution.service import Claimed, Outcome
from hub.models import DeliveryChannel, utcnow
from hub.state import HubState

log = logging.getLogger("hub.distribution")

# Send jobs the fan-out hands to the queue per transaction.
BATCHES_PER_STEP = 20
# How often a send job records the outcomes it has so far (seconds).
RECORD_INTERVAL = 0.1
# How long a send job waits for the rate limit before giving the rest back for later.
MAX_THROTTLE_WAIT = 20.0


async def fan_out(ctx: dict[str, Any], campaign_id: int) -> int:
    """Hand a campaign's deliveries to send jobs in id order, from the stored watermark: a
    fan-out that dies resumes where it stopped, and nothing is handed out twice."""
    state: HubState = ctx["hub"]
    handed = 0
    while True:
        async with unit_of_work(state.db, state.queue) as session:
            batches = await service.next_batches(
                session,
                campaign_id,
                batch_size=state.settings.delivery_batch_size,
                batches=BATCHES_PER_STEP,
            )
        if not batches:
            break
        handed += sum(len(b) for b in batches)
    log.info("distribution.fanned_out", extra={"campaign_id": campaign_id, "count": handed})
    return handed


def _limits(state: HubState, channel: DeliveryChannel) -> tuple[float, int]:
    s = state.settings
    return {
        DeliveryChannel.email: (s.email_per_second, s.email_per_hour),
        DeliveryChannel.sms: (s.sms_per_second, s.sms_per_hour),
        DeliveryChannel.webhook: (s.webhook_per_second, s.webhook_per_hour),
    }[channel]


async def _over_cap(state: HubState, session: Any, claimed: list[Claimed]) -> list[Outcome]:
    """Contacts past their weekly number of notifications get none more."""
    contact_ids = [c.contact.id for c in claimed if c.contact is not None and c.contact.id]
    counts = await service.sent_this_week(session, contact_ids)  # type: ignore[arg-type]
    cap = state.settings.notifications_per_contact_per_week
    return [
        Outcome.permanent_failure(
            c.delivery.id or 0, f"the contact's limit of {cap} notifications a week"
        )
        for c in claimed
        if c.contact is not None and counts.get(c.contact.id or 0, 0) >= cap
    ]


_recorders: dict[int, Recorder] = {}


class Recorder:
    """Records the outcomes of every send job of this worker process as they come, in one
    statement every RECORD_INTERVAL, written in the background while sending goes on: a
    worker killed mid-batch leaves only the last fraction of a second sent but unrecorded
    (those few are sent again after their lease: the only duplicates), and the database sees
    a few writes a second however many jobs run."""

    def __init__(self, state: HubState) -> None:
        self.state = state
        self.pending: list[Outcome] = []
        self.last = time.monotonic()
        self.writing: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    @classmethod
    def of(cls, state: HubState) -> Recorder:
        """The worker's recorder (arq gives each job its own copy of ctx: not kept there)."""
        recorder = _recorders.get(id(state))
        if recorder is None or recorder.state is not state:
            recorder = _recorders[id(state)] = cls(state)
        return recorder

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        due = time.monotonic() - self.last >= RECORD_INTERVAL
        if due and (self.writing is None or self.writing.done()):
            self.writing = asyncio.create_task(self.write())

    async def write(self) -> None:
        """Write what is pending (one writer at a time; a failed write is put back)."""
        async with self.lock:
            self.last = time.monotonic()
            outcomes, self.pending = self.pending, []
            if not outcomes:
                return
            try:
                async with unit_of_work(self.state.db, None) as session:
                    await service.settle(session, outcomes)
            except Exception:
                self.pending[:0] = outcomes
                raise


async def _send_channel(
    state: HubState,
    channel: Channel,
    batch: list[Claimed],
    limiter: RateLimiter,
    record: Report,
) -> list[int]:
    """Send within the channel's rate limit; returns what could not go within
    MAX_THROTTLE_WAIT, untried."""
    per_second, per_hour = _limits(state, channel.name)
    waited = 0.0
    pending = batch
    while pending:
        granted, wait = await limiter.take(
            channel.name.value, len(pending), per_second=per_second, per_hour=per_hour
        )
        if granted:
            await channel.send(pending[:granted], record)
            pending = pending[granted:]
            continue
        if waited + wait > MAX_THROTTLE_WAIT:
            break
        await asyncio.sleep(wait)
        waited += wait
    return [c.delivery.id or 0 for c in pending]


async def send(ctx: dict[str, Any], *delivery_ids: int) -> str:
    """Send a batch of deliveries: claim the due ones under a lease, send them (one SMTP
    connection for the e-mails), record the outcomes in bulk as they come."""
    state: HubState = ctx["hub"]
    # The errors kept on deliveries are read by officers: in the hub's language.
    with i18n.use_language(state.settings.default_language):
        return await _send(state, Recorder.of(state), list(delivery_ids))


async def _send(state: HubState, recorder: Recorder, delivery_ids: list[int]) -> str:
    lease = timedelta(seconds=state.settings.delivery_lease_seconds)
    async with unit_of_work(state.db, None) as session:
        claimed = await service.claim(session, delivery_ids, lease=lease)
        capped = await _over_cap(state, session, claimed)
    if not claimed:
        return "nothing due"
    tally: Counter[str] = Counter()

    async def record(outcome: Outcome) -> None:
        tally["sent" if outcome.sent else "failed" if outcome.permanent else "retrying"] += 1
        recorder.add(outcome)

    for outcome in capped:
        await record(outcome)
    refused = {o.delivery_id for o in capped}
    by_channel: dict[DeliveryChannel, list[Claimed]] = defaultdict(list)
    for c in claimed:
        if c.delivery.id not in refused:
            by_channel[DeliveryChannel(c.delivery.channel)].append(c)
    limiter = RateLimiter(state.redis, prefix=state.settings.redis_prefix)
    email = EmailChannel(state.settings, state.mailer)
    untried: list[int] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            channels: dict[DeliveryChannel, Channel] = {DeliveryChannel.email: email}
            if set(by_channel) - {DeliveryChannel.email}:
                # An HTTP client (and its TLS context, costly to load) only when needed.
                client = await stack.enter_async_context(
                    httpx.AsyncClient(
                        timeout=state.settings.webhook_timeout_seconds, follow_redirects=False
                    )
                )
                channels[DeliveryChannel.sms] = SmsChannel(state.settings, client)
                channels[DeliveryChannel.webhook] = WebhookChannel(state.settings, client)
            for name, batch in by_channel.items():
                untried += await _send_channel(state, channels[name], batch, limiter, record)
    finally:
        await email.aclose()
        # This job's outcomes are written before it ends (with whatever else is pending).
        await recorder.write()
    if untried:
        async with unit_of_work(state.db, None) as session:
            await service.release(session, untried, at=utcnow() + timedelta(minutes=1))
        tally["throttled"] = len(untried)
    return ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))


async def sweep(ctx: dict[str, Any]) -> int:
    """Every minute: send again what is due and has no job (retries, expired leases, queued
    deliveries whose job was lost); give up on those past 72 hours."""
    state: HubState = ctx["hub"]
    async with unit_of_work(state.db, state.queue) as session:
        count = await service.sweep(session, batch_size=state.settings.delivery_batch_size)
    if count:
        log.info("distribution.swept", extra={"count": count})
    return count
