"""Campaigns: their life cycle, who they address, and their multilingual items."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub import jobs
from hub.audiences import service as audiences
from hub.audiences.service import AudienceSpec
from hub.audit import service as audit
from hub.distribution import service as distribution
from hub.errors import Conflict, FieldError, InvalidInput
from hub.i18n import _, lazy
from hub.languages import normalise_languages
from hub.models import (
    Audience,
    AuditAction,
    Campaign,
    CampaignItem,
    CampaignRecipient,
    CampaignStatus,
    ItemKind,
    ItemVariant,
    Material,
    MaterialKind,
    Role,
    User,
    VariantVersion,
    utcnow,
)
from hub.text import clean, search_text

S = CampaignStatus
# The life cycle: which status may follow which. Anything else is a 409 with the reason.
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    S.draft: frozenset({S.scheduled, S.published}),
    S.scheduled: frozenset({S.draft, S.published}),
    S.published: frozenset({S.closed}),
    S.closed: frozenset({S.published, S.archived}),
    S.archived: frozenset(),
}
# What partners can see: a campaign once it is out, until it is archived.
PARTNER_VISIBLE = (S.published, S.closed)


def is_staff(principal: User) -> bool:
    return principal.role in (Role.admin, Role.officer)


def visible_campaigns(principal: User) -> SelectOfScalar[Campaign]:
    """The one place that decides which campaigns a principal may see: staff all of them, a
    partner only published (or closed) campaigns that address its organisation."""
    query = select(Campaign)
    if not is_staff(principal):
        query = query.where(
            col(Campaign.status).in_(PARTNER_VISIBLE),
            col(Campaign.id).in_(
                select(CampaignRecipient.campaign_id).where(
                    CampaignRecipient.organisation_id == principal.organisation_id
                )
            ),
        )
    return query


async def get_visible_campaign(
    session: AsyncSession, *, principal: User, campaign_id: int
) -> Campaign | None:
    query = visible_campaigns(principal).where(Campaign.id == campaign_id)
    return (await session.exec(query)).first()


async def list_campaigns(
    session: AsyncSession,
    *,
    principal: User,
    status: CampaignStatus | None = None,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Campaign], int]:
    query = visible_campaigns(principal)
    if status is not None:
        query = query.where(Campaign.status == status)
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        query = query.where(
            sa.or_(
                func.lower(col(Campaign.title)).like(pattern),
                func.lower(col(Campaign.purpose)).like(pattern),
            )
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(
        query.order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total)


# --- writing campaigns -----------------------------------------------------------------------


def _dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        message = _("The campaign cannot end before it starts.")
        raise InvalidInput(message, errors=[FieldError("ends_on", message)])


async def _check_audience(
    session: AsyncSession, audience_id: int | None, spec: dict[str, Any] | None
) -> dict[str, Any] | None:
    if audience_id is not None and spec is not None:
        message = _("Choose a saved audience or describe one, not both.")
        raise InvalidInput(message, errors=[FieldError("audience_spec", message)])
    if audience_id is not None and await session.get(Audience, audience_id) is None:
        message = _("No such audience.")
        raise InvalidInput(message, errors=[FieldError("audience_id", message)])
    if spec is None:
        return None
    checked = AudienceSpec.model_validate(spec)
    await audiences.resolve(session, checked)  # refuses unknown areas now, not at publishing
    return checked.model_dump(mode="json")


async def create_campaign(
    session: AsyncSession,
    *,
    owner: User,
    title: str,
    purpose: str = "",
    audience_id: int | None = None,
    audience_spec: dict[str, Any] | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Campaign:
    """A new draft campaign."""
    title = clean(title, field="title", max_length=200, required=True)
    purpose = clean(purpose, field="purpose", max_length=2000, multiline=True)
    _dates(starts_on, ends_on)
    spec = await _check_audience(session, audience_id, audience_spec)
    campaign = Campaign(
        title=title,
        purpose=purpose,
        owner_id=owner.id,
        audience_id=audience_id,
        audience_spec=spec,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def update_campaign(
    session: AsyncSession, campaign: Campaign, changes: dict[str, Any]
) -> Campaign:
    """Change what the campaign says and whom it addresses (not once it is archived)."""
    if campaign.status == S.archived:
        raise Conflict(_("An archived campaign cannot be changed."))
    if "title" in changes:
        campaign.title = clean(changes["title"], field="title", max_length=200, required=True)
    if "purpose" in changes:
        campaign.purpose = clean(
            changes["purpose"], field="purpose", max_length=2000, multiline=True
        )
    if "audience_id" in changes or "audience_spec" in changes:
        if campaign.status not in (S.draft, S.scheduled):
            raise Conflict(_("The audience is fixed once the campaign is published."))
        audience_id = changes.get("audience_id", campaign.audience_id)
        spec = changes.get("audience_spec", campaign.audience_spec)
        # Choosing one kind of audience replaces the other.
        if changes.get("audience_id") is not None and "audience_spec" not in changes:
            spec = None
        if changes.get("audience_spec") is not None and "audience_id" not in changes:
            audience_id = None
        campaign.audience_spec = await _check_audience(session, audience_id, spec)
        campaign.audience_id = audience_id
    starts_on = changes.get("starts_on", campaign.starts_on)
    ends_on = changes.get("ends_on", campaign.ends_on)
    _dates(starts_on, ends_on)
    campaign.starts_on, campaign.ends_on = starts_on, ends_on
    campaign.updated_at = utcnow()
    session.add(campaign)
    await session.flush()
    return campaign


async def campaign_spec(session: AsyncSession, campaign: Campaign) -> AudienceSpec | None:
    """The campaign's audience: its saved audience's spec, else its own, else None."""
    if campaign.audience_id is not None:
        audience = await session.get(Audience, campaign.audience_id)
        if audience is not None:
            return audiences.spec_of(audience)
    if campaign.audience_spec is not None:
        return AudienceSpec.model_validate(campaign.audience_spec)
    return None


# --- the life cycle --------------------------------------------------------------------------

# Translated when the message is made (a Danish officer reads "kladde", not "draft").
_STATUS_NAMES = {
    S.draft: lazy("draft"),
    S.scheduled: lazy("scheduled"),
    S.published: lazy("published"),
    S.closed: lazy("closed"),
    S.archived: lazy("archived"),
}


def _move(campaign: Campaign, target: CampaignStatus) -> None:
    current = CampaignStatus(campaign.status)
    if target not in TRANSITIONS[current]:
        allowed = sorted(_(_STATUS_NAMES[s]) for s in TRANSITIONS[current]) or ["—"]
        raise Conflict(
            _("A %(current)s campaign cannot become %(target)s (it can become: %(allowed)s).")
            % {
                "current": _(_STATUS_NAMES[current]),
                "target": _(_STATUS_NAMES[target]),
                "allowed": ", ".join(allowed),
            }
        )
    campaign.status = target
    campaign.updated_at = utcnow()


async def _ready_to_publish(session: AsyncSession, campaign: Campaign) -> AudienceSpec:
    spec = await campaign_spec(session, campaign)
    if spec is None:
        raise Conflict(_("Choose the campaign's audience before publishing it."))
    items = (
        await session.exec(
            select(func.count())
            .select_from(CampaignItem)
            .where(CampaignItem.campaign_id == campaign.id)
        )
    ).one()
    if not items:
        raise Conflict(_("Add at least one item before publishing the campaign."))
    return spec


async def schedule_campaign(
    session: AsyncSession, campaign: Campaign, *, publish_at: datetime
) -> Campaign:
    """Publish later: the worker publishes it at ``publish_at``."""
    if publish_at <= utcnow():
        message = _("Choose a time in the future.")
        raise InvalidInput(message, errors=[FieldError("publish_at", message)])
    await _ready_to_publish(session, campaign)
    _move(campaign, S.scheduled)
    campaign.publish_at = publish_at.astimezone(UTC)
    session.add(campaign)
    await session.flush()
    await _audit(session, AuditAction.campaign_scheduled, campaign)
    return campaign


async def unschedule_campaign(session: AsyncSession, campaign: Campaign) -> Campaign:
    _move(campaign, S.draft)
    campaign.publish_at = None
    session.add(campaign)
    await session.flush()
    return campaign


async def publish_campaign(session: AsyncSession, campaign: Campaign) -> Campaign:
    """Publish now: fix the organisations it addresses, who see it from this moment, and
    write one delivery per contact and channel (the first time only; a reopened campaign
    does not notify again)."""
    spec = await _ready_to_publish(session, campaign)
    _move(campaign, S.published)
    if campaign.published_at is None:
        resolved = await audiences.resolve(session, spec)
        session.add_all(
            CampaignRecipient(campaign_id=campaign.id, organisation_id=o.id)  # type: ignore[arg-type]
            for o in resolved.organisations
        )
        campaign.published_at = utcnow()
        session.add(campaign)
        await session.flush()
        # One delivery per contact and channel, sent by the worker after the commit.
        await distribution.create_deliveries(session, campaign)
    campaign.closed_at = None
    session.add(campaign)
    await session.flush()
    await _audit(session, AuditAction.campaign_published, campaign)
    return campaign


async def close_campaign(session: AsyncSession, campaign: Campaign) -> Campaign:
    _move(campaign, S.closed)
    campaign.closed_at = utcnow()
    session.add(campaign)
    await session.flush()
    await _audit(session, AuditAction.campaign_closed, campaign)
    return campaign


async def archive_campaign(session: AsyncSession, campaign: Campaign) -> Campaign:
    _move(campaign, S.archived)
    campaign.archived_at = utcnow()
    session.add(campaign)
    await session.flush()
    await _audit(session, AuditAction.campaign_archived, campaign)
    return campaign


async def _audit(session: AsyncSession, action: AuditAction, campaign: Campaign) -> None:
    await audit.record(
        session, action, target_type="campaign", target_id=campaign.id, summary=campaign.title
    )


async def publish_due(session: AsyncSession, *, now: datetime | None = None) -> list[int]:
    """Publish every scheduled campaign whose time has come (the worker's cron job)."""
    due = (
        await session.exec(
            select(Campaign)
            .where(Campaign.status == S.scheduled, col(Campaign.publish_at) <= (now or utcnow()))
            .with_for_update(skip_locked=True)
        )
    ).all()
    published = []
    for campaign in due:
        await publish_campaign(session, campaign)
        published.append(campaign.id)
    return published  # type: ignore[return-value]


async def recipient_ids(session: AsyncSession, campaign: Campaign) -> list[int]:
    rows = await session.exec(
        select(CampaignRecipient.organisation_id).where(
            CampaignRecipient.campaign_id == campaign.id
        )
    )
    return list(rows.all())


# --- items and variants ----------------------------------------------------------------------

EVENT_FIELDS = ("starts_at", "ends_at", "place", "address", "map_url", "booking_help")


def checked_language(code: str | None, field_name: str) -> str:
    """A valid language code, or InvalidInput naming the field."""
    valid, bad = normalise_languages([code or ""])
    if bad or not valid:
        message = _("Not a language code (ISO 639-1, e.g. da, ar, so): %(codes)s") % {
            "codes": code or ""
        }
        raise InvalidInput(message, errors=[FieldError(field_name, message)])
    return valid[0]


def _utc(value: Any) -> Any:
    """Times are kept in UTC; other values pass through."""
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _check_event(values: dict[str, Any]) -> None:
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts and ends and ends < starts:
        message = _("The event cannot end before it starts.")
        raise InvalidInput(message, errors=[FieldError("ends_at", message)])
    url = values.get("map_url")
    if url and not str(url).startswith(("https://", "http://")):
        message = _("A map link starts with https://.")
        raise InvalidInput(message, errors=[FieldError("map_url", message)])


def _editable(campaign: Campaign) -> None:
    if campaign.status == S.archived:
        raise Conflict(_("An archived campaign cannot be changed."))


async def list_items(session: AsyncSession, campaign: Campaign) -> list[CampaignItem]:
    rows = await session.exec(
        select(CampaignItem)
        .where(CampaignItem.campaign_id == campaign.id)
        .order_by(col(CampaignItem.position), col(CampaignItem.id))
    )
    return list(rows.all())


async def create_item(
    session: AsyncSession,
    campaign: Campaign,
    *,
    kind: ItemKind,
    title: str,
    base_language: str = "da",
    fallback_language: str | None = None,
    **event: Any,
) -> CampaignItem:
    _editable(campaign)
    kind = ItemKind(kind)
    base = checked_language(base_language, "base_language")
    fallback = (
        checked_language(fallback_language, "fallback_language") if fallback_language else None
    )
    event_values = {k: _utc(event.get(k)) for k in EVENT_FIELDS}
    if kind is not ItemKind.event and any(v for v in event_values.values()):
        message = _("Time, place and address belong to events only.")
        raise InvalidInput(message, errors=[FieldError("kind", message)])
    _check_event(event_values)
    for name, limit in (("place", 200), ("address", 300), ("map_url", 500), ("booking_help", 2000)):
        if event_values.get(name) is not None:
            event_values[name] = (
                clean(
                    event_values[name],
                    field=name,
                    max_length=limit,
                    multiline=name == "booking_help",
                )
                or None
            )
    last = (
        await session.exec(
            select(func.max(CampaignItem.position)).where(CampaignItem.campaign_id == campaign.id)
        )
    ).one()
    item = CampaignItem(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        kind=kind,
        title=clean(title, field="title", max_length=200, required=True),
        base_language=base,
        fallback_language=fallback,
        position=(last or 0) + 1,
        **event_values,  # type: ignore[arg-type]
    )
    session.add(item)
    await session.flush()
    return item


async def update_item(
    session: AsyncSession, campaign: Campaign, item: CampaignItem, changes: dict[str, Any]
) -> CampaignItem:
    _editable(campaign)
    if "title" in changes:
        item.title = clean(changes["title"], field="title", max_length=200, required=True)
    if changes.get("base_language") is not None:
        item.base_language = checked_language(changes["base_language"], "base_language")
    if "fallback_language" in changes:
        item.fallback_language = (
            checked_language(changes["fallback_language"], "fallback_language")
            if changes["fallback_language"]
            else None
        )
    if changes.get("position") is not None:
        item.position = int(changes["position"])
    event_changes = {k: _utc(changes[k]) for k in EVENT_FIELDS if k in changes}
    if event_changes and item.kind != ItemKind.event:
        message = _("Time, place and address belong to events only.")
        raise InvalidInput(message, errors=[FieldError("kind", message)])
    merged = {k: getattr(item, k) for k in EVENT_FIELDS} | event_changes
    _check_event(merged)
    for name, value in event_changes.items():
        if isinstance(value, str):
            limit = {"place": 200, "address": 300, "map_url": 500, "booking_help": 2000}[name]
            value = (
                clean(value, field=name, max_length=limit, multiline=name == "booking_help") or None
            )
        setattr(item, name, value)
    item.updated_at = utcnow()
    session.add(item)
    await session.flush()
    return item


async def delete_item(session: AsyncSession, campaign: Campaign, item: CampaignItem) -> None:
    if campaign.status not in (S.draft, S.scheduled):
        raise Conflict(_("Items of a published campaign cannot be deleted; correct them instead."))
    await session.delete(item)
    await session.flush()


async def list_variants(session: AsyncSession, items: list[CampaignItem]) -> list[ItemVariant]:
    ids = [i.id for i in items]
    if not ids:
        return []
    rows = await session.exec(
        select(ItemVariant)
        .where(col(ItemVariant.item_id).in_(ids))
        .order_by(col(ItemVariant.item_id), col(ItemVariant.language))
    )
    return list(rows.all())


async def set_variant(
    session: AsyncSession,
    campaign: Campaign,
    item: CampaignItem,
    *,
    language: str,
    text: str | None = None,
    material_id: int | None = None,
    title: str | None = None,
    captions_material_id: int | None = None,
    replaced_by: User | None = None,
) -> ItemVariant:
    """Create or change the item's variant in ``language`` (text and/or a material, and the
    item's title in that language)."""
    _editable(campaign)
    language = checked_language(language, "language")
    material = await session.get(Material, material_id) if material_id is not None else None
    if material_id is not None and material is None:
        message = _("No such material.")
        raise InvalidInput(message, errors=[FieldError("material_id", message)])
    if material is not None and material.kind == MaterialKind.captions:
        message = _("A captions file belongs to a film: add it as the film's captions.")
        raise InvalidInput(message, errors=[FieldError("material_id", message)])
    variant = (
        await session.exec(
            select(ItemVariant).where(
                ItemVariant.item_id == item.id, ItemVariant.language == language
            )
        )
    ).first()
    body = clean(text, field="text", max_length=20000, multiline=True) if text is not None else None
    heading = clean(title, field="title", max_length=200) if title is not None else None
    if variant is None:
        if not body and material_id is None:
            message = _("A variant needs a text, a file or both.")
            raise InvalidInput(message, errors=[FieldError("text", message)])
        variant = ItemVariant(
            item_id=item.id,  # type: ignore[arg-type]
            language=language,
            text=body or "",
            title=heading or "",
            material_id=material_id,
        )
    else:
        if body is not None:
            variant.text = body
        if heading is not None:
            variant.title = heading
        if material_id is not None and material_id != variant.material_id:
            if variant.material_id is not None:
                # A replaced file is a new version; the old one stays for officers.
                session.add(
                    VariantVersion(
                        variant_id=variant.id,  # type: ignore[arg-type]
                        version=variant.version,
                        material_id=variant.material_id,
                        replaced_by_id=replaced_by.id if replaced_by else None,
                    )
                )
                variant.version += 1
                # Whoever downloaded the earlier file hears that a correction exists.
                jobs.defer(
                    session,
                    "campaigns.notify_correction",
                    variant.id,  # type: ignore[arg-type]
                    variant.version - 1,
                )
            variant.material_id = material_id
        variant.updated_at = utcnow()
    if captions_material_id is not None:
        await _set_captions(session, variant, captions_material_id)
    session.add(variant)
    await session.flush()
    return variant


async def check_captions_target(session: AsyncSession, item: CampaignItem, language: str) -> None:
    """Refuse captions for a language in which the item has no film (before storing them)."""
    variant = await get_variant(session, item, language)
    film = (
        await session.get(Material, variant.material_id)
        if variant and variant.material_id
        else None
    )
    if film is None or film.kind != MaterialKind.film:
        message = _("Upload the film in this language first; captions belong to a film.")
        raise InvalidInput(message, errors=[FieldError("file", message)])


async def _set_captions(session: AsyncSession, variant: ItemVariant, material_id: int) -> None:
    captions = await session.get(Material, material_id)
    if captions is None or captions.kind != MaterialKind.captions:
        message = _("Captions must be a WebVTT file (.vtt).")
        raise InvalidInput(message, errors=[FieldError("captions_material_id", message)])
    film = await session.get(Material, variant.material_id) if variant.material_id else None
    if film is None or film.kind != MaterialKind.film:
        message = _("Upload the film in this language first; captions belong to a film.")
        raise InvalidInput(message, errors=[FieldError("captions_material_id", message)])
    variant.captions_material_id = material_id
    variant.updated_at = utcnow()


async def delete_variant(session: AsyncSession, campaign: Campaign, variant: ItemVariant) -> None:
    if campaign.status not in (S.draft, S.scheduled):
        raise Conflict(
            _("Variants of a published campaign cannot be deleted; correct them instead.")
        )
    await session.delete(variant)
    await session.flush()


# --- coverage --------------------------------------------------------------------------------


@dataclass
class Coverage:
    """Which item exists in which language, and the audience's languages nobody covers."""

    languages: list[str]
    cells: dict[int, dict[str, str]]  # item id → language → "text", "file", "both" or ""
    audience_languages: list[str] = field(default_factory=list)
    uncovered: dict[int, list[str]] = field(default_factory=dict)  # item id → languages

    @property
    def warnings(self) -> list[str]:
        return sorted({lang for langs in self.uncovered.values() for lang in langs})


async def coverage(session: AsyncSession, campaign: Campaign) -> Coverage:
    items = await list_items(session, campaign)
    variants = await list_variants(session, items)
    spec = await campaign_spec(session, campaign)
    audience_languages: list[str] = []
    if spec is not None:
        resolved = await audiences.resolve(session, spec)
        audience_languages = sorted(resolved.by_language)
    cells: dict[int, dict[str, str]] = defaultdict(dict)
    for variant in variants:
        has_text, has_file = bool(variant.text.strip()), variant.material_id is not None
        cells[variant.item_id][variant.language] = (
            "both" if has_text and has_file else "file" if has_file else "text"
        )
    languages = sorted(
        {v.language for v in variants} | set(audience_languages) | {i.base_language for i in items}
    )
    item_ids = [i.id or 0 for i in items]
    uncovered = {
        item_id: [lang for lang in audience_languages if lang not in cells.get(item_id, {})]
        for item_id in item_ids
    }
    return Coverage(
        languages=languages,
        cells={item_id: dict(cells.get(item_id, {})) for item_id in item_ids},
        audience_languages=audience_languages,
        uncovered={k: v for k, v in uncovered.items() if v},
    )


# --- corrections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectionNotice:
    contact: User
    campaign: Campaign
    item: CampaignItem
    variant: ItemVariant


async def correction_notices(
    session: AsyncSession, *, variant_id: int, old_version: int
) -> list[CorrectionNotice]:
    """Who must hear that a file was corrected: the e-mail contacts of every organisation that
    downloaded the version before ``old_version + 1``."""
    from hub.models import MaterialDownload, NotifyBy, VariantVersion

    variant = await session.get(ItemVariant, variant_id)
    if variant is None:
        return []
    old = (
        await session.exec(
            select(VariantVersion).where(
                VariantVersion.variant_id == variant_id, VariantVersion.version == old_version
            )
        )
    ).first()
    if old is None:
        return []
    item = await session.get(CampaignItem, variant.item_id)
    campaign = await session.get(Campaign, item.campaign_id) if item else None
    if item is None or campaign is None:
        return []
    organisation_ids = select(MaterialDownload.organisation_id).where(
        MaterialDownload.material_id == old.material_id,
        MaterialDownload.variant_id == variant_id,
    )
    contacts = (
        await session.exec(
            select(User)
            .where(
                col(User.organisation_id).in_(organisation_ids),
                col(User.is_active).is_(True),
                col(User.erased_at).is_(None),
                col(User.notify_by).in_([NotifyBy.email, NotifyBy.both]),
            )
            .order_by(col(User.id))
        )
    ).all()
    return [
        CorrectionNotice(contact=c, campaign=campaign, item=item, variant=variant) for c in contacts
    ]


# --- for the officer pages -------------------------------------------------------------------


async def status_counts(
    session: AsyncSession, *, principal: User, search: str = ""
) -> dict[str, int]:
    """How many campaigns the principal sees in each status (those matching ``search``)."""
    visible = visible_campaigns(principal)
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        visible = visible.where(
            sa.or_(
                func.lower(col(Campaign.title)).like(pattern),
                func.lower(col(Campaign.purpose)).like(pattern),
            )
        )
    found = visible.subquery()
    rows = await session.exec(select(found.c.status, func.count()).group_by(found.c.status))
    counts = {s.value: 0 for s in CampaignStatus}
    for status, count in rows.all():
        counts[CampaignStatus(status).value] = int(count)
    return counts


async def item_counts(session: AsyncSession, campaign_ids: list[int]) -> dict[int, int]:
    """Campaign id → how many items it has."""
    if not campaign_ids:
        return {}
    rows = await session.exec(
        select(CampaignItem.campaign_id, func.count())
        .where(col(CampaignItem.campaign_id).in_(campaign_ids))
        .group_by(col(CampaignItem.campaign_id))
    )
    return {campaign_id: int(count) for campaign_id, count in rows.all()}


async def user_names(session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    """User id → the name to show (the e-mail address when no name is given)."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = await session.exec(select(User).where(col(User.id).in_(ids)))
    return {u.id: u.name or u.email for u in rows.all() if u.id is not None}


async def audience_names(session: AsyncSession, audience_ids: list[int]) -> dict[int, str]:
    """Saved audience id → its name."""
    ids = sorted({i for i in audience_ids if i is not None})
    if not ids:
        return {}
    rows = await session.exec(select(Audience).where(col(Audience.id).in_(ids)))
    return {a.id: a.name for a in rows.all() if a.id is not None}


async def get_variant(
    session: AsyncSession, item: CampaignItem, language: str
) -> ItemVariant | None:
    """The item's variant in ``language``, if there is one."""
    return (
        await session.exec(
            select(ItemVariant).where(
                ItemVariant.item_id == item.id, ItemVariant.language == language.strip().lower()
            )
        )
    ).first()


async def variant_versions(
    session: AsyncSession, variants: list[ItemVariant]
) -> dict[int, list[VariantVersion]]:
    """Variant id → its earlier versions, newest first."""
    ids = [v.id for v in variants if v.id is not None]
    if not ids:
        return {}
    rows = await session.exec(
        select(VariantVersion)
        .where(col(VariantVersion.variant_id).in_(ids))
        .order_by(col(VariantVersion.variant_id), col(VariantVersion.version).desc())
    )
    found: dict[int, list[VariantVersion]] = defaultdict(list)
    for version in rows.all():
        found[version.variant_id].append(version)
    return dict(found)


async def materials_by_id(session: AsyncSession, material_ids: list[int]) -> dict[int, Material]:
    ids = sorted({i for i in material_ids if i is not None})
    if not ids:
        return {}
    rows = await session.exec(select(Material).where(col(Material.id).in_(ids)))
    return {m.id: m for m in rows.all() if m.id is not None}


def check_variant_target(campaign: Campaign, language: str | None) -> str:
    """The checks of :func:`set_variant` that need no database, done before a file is stored
    (so a refused upload leaves no file behind): the normalised language code."""
    _editable(campaign)
    return checked_language(language, "language")
