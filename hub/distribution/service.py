"""Deliveries: written when a campaign is published, claimed by send jobs under a lease, and
settled in bulk. The database is the source of truth; Redis only carries the work."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import jobs
from hub.audit import service as audit
from hub.distribution import retry
from hub.errors import Conflict
from hub.i18n import _
from hub.models import (
    AuditAction,
    Campaign,
    CampaignRecipient,
    CampaignSending,
    CampaignStatus,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    NotifyBy,
    Organisation,
    OrganisationStatus,
    Role,
    User,
    utcnow,
)

FAN_OUT_JOB = "distribution.fan_out"
SEND_JOB = "distribution.send"
D = DeliveryState
# Rows written per INSERT statement when a campaign is published.
INSERT_CHUNK = 1000
# Deliveries per send job when an officer resumes or retries (the worker's setting is not
# at hand in a request).
CONTROL_BATCH = 100
# A queued delivery that no send job has claimed after this long has lost its job.
QUEUED_GRACE = timedelta(minutes=2)


# --- publishing: one delivery per (campaign, recipient, channel) ------------------------------


def _channels_of(contact: User) -> list[DeliveryChannel]:
    notify = NotifyBy(contact.notify_by)
    channels = []
    if notify in (NotifyBy.email, NotifyBy.both):
        channels.append(DeliveryChannel.email)
    if notify in (NotifyBy.sms, NotifyBy.both) and contact.phone:
        channels.append(DeliveryChannel.sms)
    return channels


async def create_deliveries(session: AsyncSession, campaign: Campaign) -> int:
    """Write the deliveries of a campaign being published (once), and defer the fan-out job
    that hands them to the queue after the commit. Returns how many were written."""
    if await session.get(CampaignSending, campaign.id) is not None:
        return 0  # published before (reopened): its contacts were notified then
    organisation_ids = select(CampaignRecipient.organisation_id).where(
        CampaignRecipient.campaign_id == campaign.id
    )
    contacts = await session.exec(
        select(User)
        .where(
            col(User.organisation_id).in_(organisation_ids),
            User.role == Role.partner,
            col(User.is_active).is_(True),
            col(User.erased_at).is_(None),
        )
        .order_by(col(User.organisation_id), col(User.id))
    )
    rows: list[dict[str, Any]] = []
    for contact in contacts.all():
        for channel in _channels_of(contact):
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "organisation_id": contact.organisation_id,
                    "contact_id": contact.id,
                    "channel": channel,
                    "recipient_key": f"contact:{contact.id}",
                }
            )
    webhooks = await session.exec(
        select(Organisation.id).where(
            col(Organisation.id).in_(organisation_ids),
            col(Organisation.webhook_url).is_not(None),
            Organisation.status == OrganisationStatus.active,
        )
    )
    for organisation_id in webhooks.all():
        rows.append(
            {
                "campaign_id": campaign.id,
                "organisation_id": organisation_id,
                "contact_id": None,
                "channel": DeliveryChannel.webhook,
                "recipient_key": f"organisation:{organisation_id}",
            }
        )
    now = utcnow()
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = [
            {**row, "state": D.queued, "attempts": 0, "created_at": now}
            for row in rows[start : start + INSERT_CHUNK]
        ]
        await session.exec(sa.insert(Delivery), params=chunk)
    session.add(CampaignSending(campaign_id=campaign.id))  # type: ignore[arg-type]
    await session.flush()
    jobs.defer(session, FAN_OUT_JOB, campaign.id)  # type: ignore[arg-type]
    return len(rows)


# --- the fan-out: hand deliveries to send jobs, in id order, from a stored watermark ----------


async def next_batches(
    session: AsyncSession, campaign_id: int, *, batch_size: int, batches: int
) -> list[list[int]]:
    """Advance the campaign's watermark over up to ``batches`` batches of its deliveries and
    defer a send job for each (enqueued when the caller commits). Empty: the fan-out is done."""
    sending = (
        await session.exec(
            select(CampaignSending)
            .where(CampaignSending.campaign_id == campaign_id)
            .with_for_update()
        )
    ).first()
    if sending is None or sending.paused or sending.cancelled_at is not None:
        return []
    ids = (
        await session.exec(
            select(Delivery.id)
            .where(
                col(Delivery.campaign_id) == campaign_id,
                col(Delivery.id) > sending.watermark,
                col(Delivery.state) == D.queued,
            )
            .order_by(col(Delivery.id))
            .limit(batch_size * batches)
        )
    ).all()
    if not ids:
        return []
    found = [int(i) for i in ids if i is not None]
    chunks = defer_sends(session, found, batch_size=batch_size)
    sending.watermark = found[-1]
    session.add(sending)
    return chunks


def defer_sends(
    session: AsyncSession, delivery_ids: list[int], *, batch_size: int, again: str | None = None
) -> list[list[int]]:
    """Send jobs for these deliveries, ``batch_size`` each. A job's id names its batch, so the
    same batch is queued once; a round of sending ``again`` (a sweep, a retry) gets new ids,
    since the batch may have had a job before, now gone or finished (arq refuses a finished
    job's id while it keeps the result). claim() keeps any delivery from going out twice."""
    key = f"{again}-{secrets.token_hex(6)}" if again else None
    batches = [delivery_ids[i : i + batch_size] for i in range(0, len(delivery_ids), batch_size)]
    for batch in batches:
        jobs.defer(session, SEND_JOB, *batch, key=key, named_by=(batch[0], batch[-1], len(batch)))
    return batches


def _halted_campaigns() -> Any:
    """Campaigns whose sending is paused or cancelled: nothing of theirs is claimed."""
    return select(CampaignSending.campaign_id).where(
        sa.or_(
            col(CampaignSending.paused).is_(True), col(CampaignSending.cancelled_at).is_not(None)
        )
    )


# --- send jobs: claim under a lease, then settle ------------------------------------------------


@dataclass(frozen=True)
class DeliveryRef:
    """What a send job needs of a delivery (read as plain columns: many per job)."""

    id: int
    campaign_id: int
    organisation_id: int
    contact_id: int | None
    channel: DeliveryChannel


@dataclass(frozen=True)
class ContactRef:
    """What a send job needs of a contact person."""

    id: int
    email: str
    name: str
    language: str
    phone: str | None


@dataclass(frozen=True)
class Claimed:
    delivery: DeliveryRef
    contact: ContactRef | None
    organisation: Organisation
    campaign: Campaign


async def claim(
    session: AsyncSession, delivery_ids: list[int], *, lease: timedelta, now: datetime | None = None
) -> list[Claimed]:
    """Take the deliveries that are due (queued, a retry whose time has come, or a send whose
    lease ran out) and whose campaign is sending: they become ``sending`` until the lease ends.
    A delivery claimed by another job, sent, failed, cancelled or paused is left alone."""
    now = now or utcnow()
    paused = select(CampaignSending.campaign_id).where(
        sa.or_(
            col(CampaignSending.paused).is_(True), col(CampaignSending.cancelled_at).is_not(None)
        )
    )
    due = sa.or_(
        col(Delivery.state) == D.queued,
        sa.and_(col(Delivery.state) == D.retrying, col(Delivery.next_attempt_at) <= now),
        sa.and_(col(Delivery.state) == D.sending, col(Delivery.lease_until) < now),
    )
    claimed_ids = (
        await session.exec(
            sa.update(Delivery)
            .where(
                col(Delivery.id).in_(delivery_ids),
                due,
                col(Delivery.campaign_id).not_in(paused),
            )
            .values(
                state=D.sending,
                lease_until=now + lease,
                attempts=Delivery.attempts + 1,
                first_attempt_at=sa.func.coalesce(Delivery.first_attempt_at, now),
                updated_at=now,
            )
            .returning(col(Delivery.id))
        )
    ).all()
    if not claimed_ids:
        return []
    ids = [row[0] for row in claimed_ids]
    # Nine columns: more than sqlmodel's exec() is typed for.
    query: Any = (
        sa.select(
            col(Delivery.id),
            col(Delivery.campaign_id),
            col(Delivery.organisation_id),
            col(Delivery.contact_id),
            col(Delivery.channel),
            col(User.email),
            col(User.name),
            col(User.language),
            col(User.phone),
        )
        .join(User, col(User.id) == Delivery.contact_id, isouter=True)
        .where(col(Delivery.id).in_(ids))
        .order_by(col(Delivery.id))
    )
    found = (await session.exec(query)).all()
    # Few organisations and campaigns per batch: loaded once each.
    organisations = {i: await session.get(Organisation, i) for i in {r[2] for r in found}}
    campaigns = {i: await session.get(Campaign, i) for i in {r[1] for r in found}}
    claimed = []
    for d_id, campaign_id, organisation_id, contact_id, channel, email, name, lang, phone in found:
        organisation, campaign = organisations[organisation_id], campaigns[campaign_id]
        assert organisation is not None and campaign is not None
        claimed.append(
            Claimed(
                delivery=DeliveryRef(
                    d_id, campaign_id, organisation_id, contact_id, DeliveryChannel(channel)
                ),
                contact=ContactRef(contact_id, email, name, lang, phone)
                if contact_id is not None and email is not None
                else None,
                organisation=organisation,
                campaign=campaign,
            )
        )
    return claimed


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, or an error that is temporary or permanent."""

    delivery_id: int
    sent: bool
    error: str | None = None
    permanent: bool = False

    @classmethod
    def ok(cls, delivery_id: int) -> Outcome:
        return cls(delivery_id, sent=True)

    @classmethod
    def temporary(cls, delivery_id: int, error: str) -> Outcome:
        return cls(delivery_id, sent=False, error=error[:1000])

    @classmethod
    def permanent_failure(cls, delivery_id: int, error: str) -> Outcome:
        return cls(delivery_id, sent=False, error=error[:1000], permanent=True)


async def settle(
    session: AsyncSession, outcomes: list[Outcome], *, now: datetime | None = None
) -> Counter[str]:
    """Record what the attempts came to: the sent ones in one statement, failures each with
    their next attempt or final state. Only deliveries still ``sending`` change (a cancel that
    came meanwhile wins)."""
    now = now or utcnow()
    tally: Counter[str] = Counter()
    sent_ids = [o.delivery_id for o in outcomes if o.sent]
    if sent_ids:
        await session.exec(
            sa.update(Delivery)
            .where(col(Delivery.id).in_(sent_ids), col(Delivery.state) == D.sending)
            .values(state=D.sent, sent_at=now, lease_until=None, last_error=None, updated_at=now)
        )
        tally["sent"] = len(sent_ids)
    failures = [o for o in outcomes if not o.sent]
    if not failures:
        return tally
    rows = await session.exec(
        select(Delivery).where(
            col(Delivery.id).in_([o.delivery_id for o in failures]),
            col(Delivery.state) == D.sending,
        )
    )
    by_id = {d.id: d for d in rows.all()}
    for outcome in failures:
        delivery = by_id.get(outcome.delivery_id)
        if delivery is None:
            continue
        delivery.last_error = outcome.error
        delivery.lease_until = None
        delivery.updated_at = now
        at = (
            None
            if outcome.permanent
            else retry.next_attempt(
                delivery.attempts, first_attempt_at=delivery.first_attempt_at or now, now=now
            )
        )
        if at is None:
            delivery.state = D.failed
            delivery.next_attempt_at = None
            tally["failed"] += 1
        else:
            delivery.state = D.retrying
            delivery.next_attempt_at = at
            tally["retrying"] += 1
        session.add(delivery)
    return tally


async def release(session: AsyncSession, delivery_ids: list[int], *, at: datetime) -> None:
    """Give claimed deliveries back untried (a rate limit, a shutdown): the attempt does not
    count and they are due again at ``at``."""
    if not delivery_ids:
        return
    await session.exec(
        sa.update(Delivery)
        .where(col(Delivery.id).in_(delivery_ids), col(Delivery.state) == D.sending)
        .values(
            state=D.retrying,
            attempts=Delivery.attempts - 1,
            next_attempt_at=at,
            lease_until=None,
            updated_at=utcnow(),
        )
    )


async def sent_this_week(
    session: AsyncSession, contact_ids: list[int], *, now: datetime | None = None
) -> dict[int, int]:
    """Notifications each contact got in the last seven days (for the per-contact cap)."""
    if not contact_ids:
        return {}
    since = (now or utcnow()) - timedelta(days=7)
    rows = await session.exec(
        select(Delivery.contact_id, func.count())
        .where(
            col(Delivery.contact_id).in_(contact_ids),
            col(Delivery.state) == D.sent,
            col(Delivery.sent_at) >= since,
        )
        .group_by(col(Delivery.contact_id))
    )
    return {contact_id: int(n) for contact_id, n in rows.all() if contact_id is not None}


# --- the sweeper: nothing is lost when a worker dies or Redis forgets -------------------------


async def sweep(
    session: AsyncSession, *, batch_size: int, now: datetime | None = None, limit: int = 50_000
) -> int:
    """Defer send jobs for every delivery that is due but has no job: retries whose time has
    come, sends whose lease ran out, queued ones nobody claimed. Gives up on deliveries past
    the 72-hour limit. Returns how many deliveries were handed out again."""
    now = now or utcnow()
    await session.exec(
        sa.update(Delivery)
        .where(
            col(Delivery.state) == D.retrying,
            col(Delivery.first_attempt_at) < now - retry.GIVE_UP_AFTER,
        )
        .values(state=D.failed, next_attempt_at=None, updated_at=now)
    )
    paused = select(CampaignSending.campaign_id).where(
        sa.or_(
            col(CampaignSending.paused).is_(True), col(CampaignSending.cancelled_at).is_not(None)
        )
    )
    due = (
        await session.exec(
            select(Delivery.id)
            .where(
                sa.or_(
                    sa.and_(
                        col(Delivery.state) == D.retrying, col(Delivery.next_attempt_at) <= now
                    ),
                    sa.and_(col(Delivery.state) == D.sending, col(Delivery.lease_until) < now),
                    sa.and_(
                        col(Delivery.state) == D.queued,
                        col(Delivery.created_at) < now - QUEUED_GRACE,
                    ),
                ),
                col(Delivery.campaign_id).not_in(paused),
            )
            .order_by(col(Delivery.id))
            .limit(limit)
        )
    ).all()
    ids = [int(i) for i in due if i is not None]
    defer_sends(session, ids, batch_size=batch_size, again="sweep")
    return len(ids)


# --- progress and the officer's controls -------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]
    total: int
    paused: bool
    cancelled: bool
    started: bool

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("sent", "failed", "cancelled"))

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.done * 100 // self.total)


async def progress(session: AsyncSession, campaign_id: int) -> Progress:
    rows = await session.exec(
        select(Delivery.state, func.count())
        .where(col(Delivery.campaign_id) == campaign_id)
        .group_by(col(Delivery.state))
    )
    counts = {str(DeliveryState(state)): int(n) for state, n in rows.all()}
    sending = await session.get(CampaignSending, campaign_id)
    return Progress(
        counts={s.value: counts.get(s.value, 0) for s in DeliveryState},
        total=sum(counts.values()),
        paused=bool(sending and sending.paused),
        cancelled=bool(sending and sending.cancelled_at),
        started=sending is not None,
    )


async def _sending(session: AsyncSession, campaign: Campaign) -> CampaignSending:
    sending = await session.get(CampaignSending, campaign.id)
    if sending is None:
        raise Conflict(_("This campaign has not been sent yet."))
    return sending


async def pause(session: AsyncSession, campaign: Campaign) -> None:
    sending = await _sending(session, campaign)
    if sending.cancelled_at is not None:
        raise Conflict(_("The sending was cancelled."))
    sending.paused, sending.paused_at = True, utcnow()
    session.add(sending)


async def resume(session: AsyncSession, campaign: Campaign) -> None:
    """Go on: the fan-out continues from its watermark; due retries are picked up by the
    sweeper (and right now, by a send job for them)."""
    sending = await _sending(session, campaign)
    if sending.cancelled_at is not None:
        raise Conflict(_("The sending was cancelled."))
    if campaign.status not in (CampaignStatus.published, CampaignStatus.closed):
        raise Conflict(_("Only a published campaign sends."))
    sending.paused, sending.paused_at = False, None
    session.add(sending)
    await session.flush()
    jobs.defer(session, FAN_OUT_JOB, campaign.id, key=f"resume-{secrets.token_hex(6)}")  # type: ignore[arg-type]
    await _send_waiting(session, campaign.id)  # type: ignore[arg-type]


async def _send_waiting(session: AsyncSession, campaign_id: int) -> None:
    """Send jobs now for the campaign's deliveries waiting to retry (or handed out before a
    pause); claim() decides which are really due."""
    ids = (
        await session.exec(
            select(Delivery.id)
            .where(
                col(Delivery.campaign_id) == campaign_id,
                col(Delivery.state).in_([D.retrying, D.queued]),
            )
            .order_by(col(Delivery.id))
        )
    ).all()
    sending = await session.get(CampaignSending, campaign_id)
    watermark = sending.watermark if sending else 0
    handed_out = [int(i) for i in ids if i is not None and i <= watermark]
    defer_sends(session, handed_out, batch_size=CONTROL_BATCH, again="now")


async def retry_failed(session: AsyncSession, campaign: Campaign) -> int:
    """Try the failed deliveries again, from a fresh count of attempts."""
    sending = await _sending(session, campaign)
    if sending.cancelled_at is not None:
        raise Conflict(_("The sending was cancelled."))
    now = utcnow()
    result = await session.exec(
        sa.update(Delivery)
        .where(col(Delivery.campaign_id) == campaign.id, col(Delivery.state) == D.failed)
        .values(
            state=D.retrying,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=now,
            updated_at=now,
        )
        .returning(col(Delivery.id))
    )
    ids = [row[0] for row in result.all()]
    defer_sends(session, ids, batch_size=CONTROL_BATCH, again="retry")
    return len(ids)


async def cancel(session: AsyncSession, campaign: Campaign) -> int:
    """Stop: every delivery not yet sent or failed is cancelled (one in flight may still go)."""
    sending = await _sending(session, campaign)
    now = utcnow()
    result = await session.exec(
        sa.update(Delivery)
        .where(
            col(Delivery.campaign_id) == campaign.id,
            col(Delivery.state).in_([D.queued, D.retrying, D.sending]),
        )
        .values(state=D.cancelled, next_attempt_at=None, lease_until=None, updated_at=now)
        .returning(col(Delivery.id))
    )
    sending.cancelled_at = now
    session.add(sending)
    cancelled = len(result.all())
    await audit.record(
        session,
        AuditAction.sending_cancelled,
        target_type="campaign",
        target_id=campaign.id,
        summary=f"{campaign.title} ({cancelled})",
    )
    return cancelled


# --- the delivery list -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    delivery: Delivery
    organisation: Organisation
    contact: User | None


async def list_deliveries(
    session: AsyncSession,
    campaign_id: int,
    *,
    state: DeliveryState | None = None,
    channel: DeliveryChannel | None = None,
    organisation_id: int | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[list[DeliveryRow], int]:
    conditions = [col(Delivery.campaign_id) == campaign_id]
    if state is not None:
        conditions.append(col(Delivery.state) == state)
    if channel is not None:
        conditions.append(col(Delivery.channel) == channel)
    if organisation_id is not None:
        conditions.append(col(Delivery.organisation_id) == organisation_id)
    total = (
        await session.exec(select(func.count()).select_from(Delivery).where(*conditions))
    ).one()
    query = (
        select(Delivery, Organisation, User)
        .join(Organisation, col(Organisation.id) == Delivery.organisation_id)
        .join(User, col(User.id) == Delivery.contact_id, isouter=True)
        .where(*conditions)
        .order_by(col(Delivery.id))
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.exec(query)).all()
    return [DeliveryRow(d, o, u) for d, o, u in rows], int(total)


async def delivery_organisations(session: AsyncSession, campaign_id: int) -> list[Organisation]:
    """The organisations a campaign's deliveries go to (for the filter)."""
    ids = select(Delivery.organisation_id).where(col(Delivery.campaign_id) == campaign_id)
    rows = await session.exec(
        select(Organisation).where(col(Organisation.id).in_(ids)).order_by(Organisation.name)
    )
    return list(rows.all())
