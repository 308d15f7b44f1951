"""Forward reports: what a partner says it did with a campaign, checked, stored, corrected
within a fortnight, and flagged by officers who doubt them.

Reported reach is self-reported and stays apart from measured clicks; :func:`reported_reach`
says which number of a report counts as its reach, and totals are kept per kind because the
numbers of different kinds are not the same thing (an audience estimate is not an attendance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from babel.numbers import format_decimal
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub.campaigns import service as campaigns
from hub.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from hub.i18n import _, current_language
from hub.languages import normalise_languages
from hub.materials import service as materials
from hub.materials.storage import Storage
from hub.materials.upload import ReceivedUpload
from hub.models import (
    Campaign,
    CampaignItem,
    Channel,
    ForwardReport,
    ItemVariant,
    Material,
    MaterialKind,
    Organisation,
    OrgRole,
    ReportKind,
    Role,
    User,
    utcnow,
)
from hub.text import clean

TIMEZONE = ZoneInfo("Europe/Copenhagen")
# How long after it was made a report may be corrected by its organisation.
CORRECTION_DAYS = 14
CORRECTION_WINDOW = timedelta(days=CORRECTION_DAYS)

MAX_AUDIENCE = 10_000_000
MAX_ATTENDANCE = 100_000
MAX_DOORS = 100_000
MAX_CONVERSATIONS = 100_000
MAX_POSTERS = 100_000

# Offline kinds have a channel of their own; a forward is on one of the others.
KIND_CHANNEL: dict[ReportKind, Channel] = {
    ReportKind.meeting: Channel.meeting,
    ReportKind.sermon: Channel.sermon,
    ReportKind.door_to_door: Channel.door_to_door,
}
POSTER_CHANNELS = (Channel.poster, Channel.flyer)
# Posters and flyers put up or handed out are a kind of their own, too.
OWN_KIND_CHANNELS = (*KIND_CHANNEL.values(), *POSTER_CHANNELS)
FORWARD_CHANNELS = tuple(c for c in Channel if c not in OWN_KIND_CHANNELS)

COMMON_FIELDS = ("item_id", "language", "occurred_on", "note")
# The fields each kind has (beyond the common ones), and which of all are required.
KIND_FIELDS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.forward: ("channel", "audience_estimate", "placement"),
    ReportKind.meeting: ("place", "languages", "attendance", "questions"),
    ReportKind.sermon: ("placement", "audience_estimate"),
    ReportKind.door_to_door: ("placement", "doors_knocked", "conversations"),
    ReportKind.posters: ("channel", "poster_count", "buildings", "audience_estimate"),
}
REQUIRED: dict[ReportKind, frozenset[str]] = {
    ReportKind.forward: frozenset(
        {"item_id", "language", "channel", "occurred_on", "audience_estimate"}
    ),
    ReportKind.meeting: frozenset({"occurred_on", "place", "languages", "attendance"}),
    ReportKind.sermon: frozenset({"occurred_on", "placement", "audience_estimate"}),
    ReportKind.door_to_door: frozenset({"occurred_on", "doors_knocked", "conversations"}),
    ReportKind.posters: frozenset({"occurred_on", "poster_count", "buildings"}),
}
# Every writable field: (maximum length, multi-line) of texts, maximum of counts.
TEXT_FIELDS: dict[str, tuple[int, bool]] = {
    "placement": (200, False),
    "note": (2000, True),
    "place": (200, False),
    "questions": (4000, True),
    "buildings": (1000, True),
}
COUNT_FIELDS: dict[str, int] = {
    "audience_estimate": MAX_AUDIENCE,
    "attendance": MAX_ATTENDANCE,
    "doors_knocked": MAX_DOORS,
    "conversations": MAX_CONVERSATIONS,
    "poster_count": MAX_POSTERS,
}
ALL_FIELDS = (
    *COMMON_FIELDS,
    "channel",
    *COUNT_FIELDS,
    "placement",
    "place",
    "languages",
    "questions",
    "buildings",
)
# Which number is a report's reach, per kind.
REACH_FIELD: dict[ReportKind, str] = {
    ReportKind.forward: "audience_estimate",
    ReportKind.sermon: "audience_estimate",
    ReportKind.posters: "audience_estimate",
    ReportKind.meeting: "attendance",
    ReportKind.door_to_door: "conversations",
}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


def fields_of(kind: ReportKind) -> tuple[str, ...]:
    """The fields a report of ``kind`` has, in the order forms show them."""
    return (*COMMON_FIELDS, *KIND_FIELDS[kind])


def reported_reach(report: ForwardReport) -> int | None:
    """How many people the report says it reached: the audience estimate of a forward, a
    sermon or posters, the attendance of a meeting, the conversations of door-to-door visits."""
    value = getattr(report, REACH_FIELD[ReportKind(report.kind)])
    return int(value) if value is not None else None


def today_in_copenhagen(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(TIMEZONE).date()


def earliest_day(campaign: Campaign) -> date:
    """The first day a report may name: the day before the campaign was published (a partner
    that got the material early may have passed it on the evening before)."""
    published = campaign.published_at or campaign.created_at
    return published.astimezone(TIMEZONE).date() - timedelta(days=1)


def editable_until(report: ForwardReport) -> datetime:
    return report.created_at + CORRECTION_WINDOW


def is_staff(principal: User) -> bool:
    return principal.role in (Role.admin, Role.officer)


# --- who sees what --------------------------------------------------------------------------


def visible_reports(principal: User) -> SelectOfScalar[ForwardReport]:
    """The one place that decides which reports a principal may see: staff all of them, a
    partner its own organisation's reports of campaigns it can still see."""
    query = select(ForwardReport)
    if is_staff(principal):
        return query
    if principal.organisation_id is None:
        return query.where(sa.false())
    visible = campaigns.visible_campaigns(principal).subquery()
    return query.where(
        ForwardReport.organisation_id == principal.organisation_id,
        col(ForwardReport.campaign_id).in_(select(visible.c.id)),
    )


async def get_report(session: AsyncSession, *, principal: User, report_id: int) -> ForwardReport:
    """A report the principal may see, or NotFound."""
    query = visible_reports(principal).where(ForwardReport.id == report_id)
    report = (await session.exec(query)).first()
    if report is None:
        raise NotFound(_("No such report."))
    return report


@dataclass(frozen=True)
class ReportView:
    """A report with the names a list shows beside it."""

    report: ForwardReport
    organisation: Organisation
    item: CampaignItem | None

    @property
    def reach(self) -> int | None:
        return reported_reach(self.report)


@dataclass(frozen=True)
class KindTotal:
    """The reports of one kind: how many, and the reach they report (flagged ones apart)."""

    kind: ReportKind
    reports: int
    reach: int
    flagged: int
    with_reach: int  # how many of the counted reports give a number at all


async def views_of(session: AsyncSession, reports: list[ForwardReport]) -> list[ReportView]:
    """Reports with their organisation and item, in the given order."""
    organisation_ids = {r.organisation_id for r in reports}
    item_ids = {r.item_id for r in reports if r.item_id is not None}
    organisations = (
        {
            o.id: o
            for o in (
                await session.exec(
                    select(Organisation).where(col(Organisation.id).in_(organisation_ids))
                )
            ).all()
        }
        if organisation_ids
        else {}
    )
    items = (
        {
            i.id: i
            for i in (
                await session.exec(select(CampaignItem).where(col(CampaignItem.id).in_(item_ids)))
            ).all()
        }
        if item_ids
        else {}
    )
    return [
        ReportView(
            report=r,
            organisation=organisations[r.organisation_id],
            item=items.get(r.item_id) if r.item_id is not None else None,
        )
        for r in reports
    ]


def _filtered(
    query: SelectOfScalar[ForwardReport],
    *,
    campaign: Campaign,
    kind: ReportKind | None,
    organisation_id: int | None,
    flagged: bool | None,
) -> SelectOfScalar[ForwardReport]:
    query = query.where(ForwardReport.campaign_id == campaign.id)
    if kind is not None:
        query = query.where(ForwardReport.kind == kind)
    if organisation_id is not None:
        query = query.where(ForwardReport.organisation_id == organisation_id)
    if flagged is True:
        query = query.where(col(ForwardReport.flagged_at).is_not(None))
    elif flagged is False:
        query = query.where(col(ForwardReport.flagged_at).is_(None))
    return query


async def list_reports(
    session: AsyncSession,
    *,
    principal: User,
    campaign: Campaign,
    kind: ReportKind | None = None,
    organisation_id: int | None = None,
    flagged: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ReportView], int]:
    """A campaign's reports the principal may see, newest activity first, and how many."""
    query = _filtered(
        visible_reports(principal),
        campaign=campaign,
        kind=kind,
        organisation_id=organisation_id,
        flagged=flagged,
    )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(
        query.order_by(
            col(ForwardReport.occurred_on).desc(),
            col(ForwardReport.created_at).desc(),
            col(ForwardReport.id).desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return await views_of(session, list(rows.all())), int(total)


async def kind_totals(
    session: AsyncSession,
    *,
    campaign: Campaign,
    organisation_id: int | None = None,
    separate_flagged: bool = True,
) -> list[KindTotal]:
    """Per kind: the number of reports and the reach they report. With ``separate_flagged``
    (officers), flagged reports are counted apart and left out of the reach; partners, who do
    not see flags, get the reach of all their reports. Never summed across kinds."""
    flagged = col(ForwardReport.flagged_at).is_not(None)
    counted = col(ForwardReport.flagged_at).is_(None) if separate_flagged else sa.true()
    fields = ("audience_estimate", "attendance", "conversations")
    measures: list[Any] = []
    for name in fields:
        value = sa.case((counted, getattr(ForwardReport, name)), else_=None)
        measures += [func.coalesce(func.sum(value), 0), func.count(value)]
    # More columns than sqlmodel's select() is typed for, so SQLAlchemy's own.
    query: Any = (
        sa.select(
            col(ForwardReport.kind),
            func.count(),
            func.coalesce(func.sum(sa.case((flagged, 1), else_=0)), 0),
            *measures,
        )
        .where(col(ForwardReport.campaign_id) == campaign.id)
        .group_by(col(ForwardReport.kind))
    )
    if organisation_id is not None:
        query = query.where(col(ForwardReport.organisation_id) == organisation_id)
    totals: dict[ReportKind, KindTotal] = {}
    for kind, count, flags, *numbers in (await session.exec(query)).all():
        kind = ReportKind(kind)
        at = fields.index(REACH_FIELD[kind]) * 2
        totals[kind] = KindTotal(
            kind=kind,
            reports=int(count),
            reach=int(numbers[at]),
            flagged=int(flags),
            with_reach=int(numbers[at + 1]),
        )
    return [totals[k] for k in ReportKind if k in totals]


async def report_organisations(session: AsyncSession, campaign: Campaign) -> list[Organisation]:
    """The organisations that reported on the campaign, by name (for the officers' filter)."""
    ids = select(ForwardReport.organisation_id).where(ForwardReport.campaign_id == campaign.id)
    rows = await session.exec(
        select(Organisation)
        .where(col(Organisation.id).in_(ids))
        .order_by(col(Organisation.name), col(Organisation.id))
    )
    return list(rows.all())


# --- what may be reported -------------------------------------------------------------------


async def campaign_variants(
    session: AsyncSession, campaign: Campaign
) -> list[tuple[CampaignItem, ItemVariant]]:
    """Every (item, language version) of the campaign, in the items' order."""
    items = await campaigns.list_items(session, campaign)
    by_id = {i.id: i for i in items}
    variants = await campaigns.list_variants(session, items)
    order = {i.id: n for n, i in enumerate(items)}
    variants.sort(key=lambda v: (order[v.item_id], v.language))
    return [(by_id[v.item_id], v) for v in variants]


async def campaign_languages(session: AsyncSession, campaign: Campaign) -> list[str]:
    """The languages of the campaign: those of its versions and those its audience asks for."""
    items = await campaigns.list_items(session, campaign)
    found = {v.language for v in await campaigns.list_variants(session, items)}
    spec = await campaigns.campaign_spec(session, campaign)
    if spec is not None:
        found.update(spec.languages)
    return sorted(found)


def check_reporter(principal: User) -> int:
    """The principal's organisation, if it is a partner that may report; else Forbidden."""
    if principal.role is not Role.partner or principal.organisation_id is None:
        raise Forbidden(_("Only partner organisations report what they did with a campaign."))
    return principal.organisation_id


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        if not any(e.field == field for e in self.items):
            self.items.append(FieldError(field, message))

    def extend(self, exc: InvalidInput) -> None:
        for error in exc.errors:
            self.add(error.field, error.message)

    def raise_any(self) -> None:
        if not self.items:
            return
        detail = (
            self.items[0].message
            if len(self.items) == 1
            else _("Some fields need a correction; see errors.")
        )
        raise InvalidInput(detail, errors=list(self.items))


def _required() -> str:
    return _("This field is required.")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


async def check_report(
    session: AsyncSession,
    *,
    campaign: Campaign,
    kind: ReportKind,
    values: dict[str, Any],
    today: date | None = None,
) -> dict[str, Any]:
    """The columns of a report of ``kind`` from ``values`` (typed: ints, a date, a Channel, a
    list of language codes), or InvalidInput naming every field that is wrong."""
    kind = ReportKind(kind)
    errors = _Errors()
    own = fields_of(kind)
    required = REQUIRED[kind]
    for name, value in values.items():
        if name not in own and not _blank(value):
            errors.add(
                name, _("Reports of this kind (%(kind)s) have no such field.") % {"kind": kind}
            )
    for name in required:
        if _blank(values.get(name)):
            errors.add(name, _required())
    columns: dict[str, Any] = {name: None for name in COUNT_FIELDS}
    columns.update({name: "" for name in TEXT_FIELDS})
    columns.update({"item_id": None, "language": None, "languages": None, "channel": None})

    # When.
    day = values.get("occurred_on")
    if day is not None:
        if not isinstance(day, date) or isinstance(day, datetime):
            errors.add("occurred_on", _("Enter a date."))
        elif day > (today or today_in_copenhagen()):
            errors.add("occurred_on", _("The date cannot be in the future."))
        elif day < earliest_day(campaign):
            errors.add(
                "occurred_on",
                _("The earliest date is %(day)s, the day before the campaign was published.")
                % {"day": format_date(earliest_day(campaign), "medium", locale=current_language())},
            )
        columns["occurred_on"] = day

    # What: an item of the campaign, in a language it has a version in.
    item_id, language = values.get("item_id"), values.get("language")
    if item_id is not None:
        item = await session.get(CampaignItem, item_id)
        if item is None or item.campaign_id != campaign.id:
            errors.add("item_id", _("Choose an item of this campaign."))
        elif _blank(language):
            errors.add("language", _("Choose the language of the version you used."))
        else:
            code = str(language).strip().lower()
            variant = await campaigns.get_variant(session, item, code)
            if variant is None:
                errors.add(
                    "language",
                    _("This item has no version in this language. Choose one that it has."),
                )
            columns["item_id"], columns["language"] = item.id, code
    elif not _blank(language) and "item_id" not in required:
        errors.add("item_id", _("Choose the item whose version you used."))

    # Where it went.
    if kind in KIND_CHANNEL:
        columns["channel"] = KIND_CHANNEL[kind]
    else:
        allowed = FORWARD_CHANNELS if kind is ReportKind.forward else POSTER_CHANNELS
        channel = values.get("channel")
        if _blank(channel):
            channel = None if kind is ReportKind.forward else Channel.poster
        if channel is not None:
            try:
                channel = Channel(channel)
            except ValueError:
                channel = None
            if channel not in allowed:
                errors.add("channel", _("Choose one of the channels offered."))
            columns["channel"] = channel

    # How many.
    for name, maximum in COUNT_FIELDS.items():
        value = values.get(name)
        if name not in own or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add(name, _("Enter a whole number."))
        elif value < 0:
            errors.add(name, _("The number cannot be negative."))
        elif value > maximum:
            errors.add(
                name,
                _("This number is too large: at most %(max)s.")
                % {"max": format_decimal(maximum, locale=current_language())},
            )
        else:
            columns[name] = value
    doors, talks = columns.get("doors_knocked"), columns.get("conversations")
    if doors is not None and talks is not None and talks > doors:
        errors.add("conversations", _("There cannot be more conversations than doors knocked on."))

    # Texts.
    for name, (maximum, multiline) in TEXT_FIELDS.items():
        if name not in own:
            continue
        try:
            columns[name] = clean(
                values.get(name), field=name, max_length=maximum, multiline=multiline
            )
        except InvalidInput as exc:
            errors.extend(exc)
            continue
        if name in required and not columns[name]:
            errors.add(name, _required())

    # The languages spoken at a meeting, from the campaign's.
    if "languages" in own and not _blank(values.get("languages")):
        raw = values["languages"]
        codes = [raw] if isinstance(raw, str) else list(raw)
        valid, bad = normalise_languages([str(c) for c in codes])
        offered = await campaign_languages(session, campaign)
        if bad or any(c not in offered for c in valid):
            errors.add("languages", _("Choose languages of the campaign."))
        elif len(valid) > 20:
            errors.add("languages", _("Choose at most 20 languages."))
        columns["languages"] = valid or None
    errors.raise_any()
    return columns


def report_values(report: ForwardReport) -> dict[str, Any]:
    """The current values of a report's own fields (what a correction starts from)."""
    return {name: getattr(report, name) for name in fields_of(ReportKind(report.kind))}


def check_evidence(upload: ReceivedUpload) -> None:
    if upload.kind is not MaterialKind.image or upload.content_type not in IMAGE_TYPES:
        message = _("Send a photo: JPEG, PNG or WebP.")
        raise InvalidInput(message, errors=[FieldError("file", message)])


async def _store_evidence(
    session: AsyncSession, upload: ReceivedUpload, *, storage: Storage, principal: User
) -> Material:
    check_evidence(upload)
    material, _created = await materials.store_material(
        session, upload, storage=storage, uploaded_by=principal
    )
    return material


# --- writing --------------------------------------------------------------------------------


async def _checked(
    session: AsyncSession,
    campaign: Campaign,
    kind: ReportKind,
    values: dict[str, Any],
    evidence: ReceivedUpload | None,
    today: date | None,
) -> dict[str, Any]:
    """The report's columns; a photo that is not one is named with the other errors."""
    errors = _Errors()
    columns: dict[str, Any] = {}
    try:
        columns = await check_report(
            session, campaign=campaign, kind=kind, values=values, today=today
        )
    except InvalidInput as exc:
        errors.extend(exc)
    if evidence is not None:
        try:
            check_evidence(evidence)
        except InvalidInput as exc:
            errors.extend(exc)
    errors.raise_any()
    return columns


async def create_report(
    session: AsyncSession,
    *,
    principal: User,
    campaign: Campaign,
    kind: ReportKind,
    values: dict[str, Any],
    evidence: ReceivedUpload | None = None,
    storage: Storage | None = None,
    today: date | None = None,
) -> ForwardReport:
    """A partner's report on a campaign it can see. Everything is checked before the evidence
    photo (if any) is stored, so a refused report leaves no file behind."""
    organisation_id = check_reporter(principal)
    columns = await _checked(session, campaign, kind, values, evidence, today)
    report = ForwardReport(
        organisation_id=organisation_id,
        campaign_id=campaign.id,  # type: ignore[arg-type]
        kind=ReportKind(kind),
        created_by_id=principal.id,
        **columns,
    )
    if evidence is not None:
        assert storage is not None
        material = await _store_evidence(session, evidence, storage=storage, principal=principal)
        report.evidence_material_id = material.id
    session.add(report)
    await session.flush()
    return report


def correction_refusal(
    report: ForwardReport, principal: User, *, now: datetime | None = None
) -> Forbidden | Conflict | None:
    """Why the principal may not correct the report, or None when it may: a coordinator the
    organisation's reports, a member its own, both only within 14 days of the report."""
    if is_staff(principal):
        return Forbidden(
            _("Officers do not change partners' reports; flag a report you doubt instead.")
        )
    if principal.organisation_id is None or principal.organisation_id != report.organisation_id:
        return Forbidden(_("This report belongs to another organisation."))
    coordinator = principal.org_role is OrgRole.coordinator
    if not coordinator and report.created_by_id != principal.id:
        return Forbidden(
            _("Only your organisation's coordinator can correct a report a colleague made.")
        )
    if (now or utcnow()) > editable_until(report):
        return Conflict(
            _("A report can be corrected for %(days)d days after it was made; this one is older.")
            % {"days": CORRECTION_DAYS}
        )
    return None


def can_correct(report: ForwardReport, principal: User, *, now: datetime | None = None) -> bool:
    return correction_refusal(report, principal, now=now) is None


def check_correctable(report: ForwardReport, principal: User) -> None:
    refusal = correction_refusal(report, principal)
    if refusal is not None:
        raise refusal


async def update_report(
    session: AsyncSession,
    report: ForwardReport,
    *,
    principal: User,
    campaign: Campaign,
    changes: dict[str, Any],
    evidence: ReceivedUpload | None = None,
    storage: Storage | None = None,
    remove_evidence: bool = False,
    today: date | None = None,
) -> ForwardReport:
    """Correct a report (the 14-day rule); the fields not in ``changes`` stay as they are."""
    check_correctable(report, principal)
    kind = ReportKind(report.kind)
    if "kind" in changes:
        wanted = changes.pop("kind")
        if wanted is not None and str(wanted) != kind.value:
            message = _("The kind of a report cannot change; make a new report instead.")
            raise InvalidInput(message, errors=[FieldError("kind", message)])
    merged = report_values(report) | changes
    columns = await _checked(session, campaign, kind, merged, evidence, today)
    if evidence is not None:
        assert storage is not None
        material = await _store_evidence(session, evidence, storage=storage, principal=principal)
        report.evidence_material_id = material.id
    elif remove_evidence:
        report.evidence_material_id = None
    for name, value in columns.items():
        setattr(report, name, value)
    report.updated_by_id = principal.id
    report.updated_at = utcnow()
    session.add(report)
    await session.flush()
    return report


async def set_evidence(
    session: AsyncSession,
    report: ForwardReport,
    *,
    principal: User,
    upload: ReceivedUpload,
    storage: Storage,
) -> ForwardReport:
    """Attach (or replace) the report's evidence photo, within the correction window."""
    check_correctable(report, principal)
    material = await _store_evidence(session, upload, storage=storage, principal=principal)
    report.evidence_material_id = material.id
    report.updated_by_id = principal.id
    report.updated_at = utcnow()
    session.add(report)
    await session.flush()
    return report


async def remove_evidence(
    session: AsyncSession, report: ForwardReport, *, principal: User
) -> ForwardReport:
    """Detach the evidence photo (the stored file stays with its Material row)."""
    check_correctable(report, principal)
    report.evidence_material_id = None
    report.updated_by_id = principal.id
    report.updated_at = utcnow()
    session.add(report)
    await session.flush()
    return report


async def delete_report(session: AsyncSession, report: ForwardReport, *, principal: User) -> None:
    """Withdraw a report, under the same rule as a correction."""
    check_correctable(report, principal)
    await session.delete(report)
    await session.flush()


def _check_officer(principal: User) -> None:
    if not is_staff(principal):
        raise Forbidden(_("Only officers flag reports."))


async def flag_report(
    session: AsyncSession, report: ForwardReport, *, officer: User, reason: str
) -> ForwardReport:
    """Mark a report as implausible, with the reason (a new flag replaces the reason)."""
    _check_officer(officer)
    report.flag_reason = clean(
        reason, field="reason", max_length=1000, multiline=True, required=True
    )
    report.flagged_at = utcnow()
    report.flagged_by_id = officer.id
    session.add(report)
    await session.flush()
    return report


async def unflag_report(
    session: AsyncSession, report: ForwardReport, *, officer: User
) -> ForwardReport:
    """Take the flag off a report (nothing happens if it has none)."""
    _check_officer(officer)
    report.flag_reason = None
    report.flagged_at = None
    report.flagged_by_id = None
    session.add(report)
    await session.flush()
    return report


async def evidence_of(session: AsyncSession, report: ForwardReport) -> Material:
    """The report's evidence photo, or NotFound."""
    material = (
        await session.get(Material, report.evidence_material_id)
        if report.evidence_material_id is not None
        else None
    )
    if material is None:
        raise NotFound(_("This report has no photo."))
    return material
