"""What a partner's campaign kit shows: the campaign's items with their language versions in the
order the organisation needs them, the files behind them, and the inbox's summaries.

Pages only read here; files are never fetched server-side (the templates link to the download
routes, so every download is counted where it happens).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import quote

from babel import Locale
from babel.dates import format_date, format_interval, format_time, get_timezone
from babel.units import format_unit
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import i18n
from hub.audiences import service as audiences
from hub.campaigns import service
from hub.db import Database, unit_of_work
from hub.errors import HubError
from hub.languages import display_name
from hub.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    CampaignVisit,
    ItemVariant,
    Material,
    Organisation,
    ProcessingStatus,
    User,
)
from hub.partners import service as partners

# As the JSON API's share route: a link a colleague may use for a week.
WHATSAPP_SHARE = "https://wa.me/?text="
TIMEZONE = "Europe/Copenhagen"


# --- formatting ------------------------------------------------------------------------------


def file_size(size: int | None) -> str:
    """A byte count as people read it (``4.2 MB``; ``4,2 MB`` in Danish)."""
    if size is None:
        return ""
    locale = i18n.current_language()
    for unit, factor, pattern in (
        ("digital-gigabyte", 1_000_000_000, "#,##0.##"),
        ("digital-megabyte", 1_000_000, "#,##0.#"),
        ("digital-kilobyte", 1_000, "#,##0"),
    ):
        if size >= factor:
            return format_unit(size / factor, unit, length="short", format=pattern, locale=locale)
    return format_unit(size, "digital-byte", length="short", locale=locale)


def day(value: date | datetime | None) -> str:
    """A calendar day in the reader's language (times are shown on Copenhagen's clock)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(get_timezone(TIMEZONE)).date()
    return format_date(value, "medium", locale=i18n.current_language())


def _date_and_time(locale: str, date_text: str, time_text: str) -> str:
    # As Babel joins them: the locale's pattern, e.g. "{1}, {0}" in English.
    pattern = Locale.parse(locale).datetime_formats["long"]
    return str(pattern).replace("'", "").replace("{1}", date_text).replace("{0}", time_text)


def event_time(starts_at: datetime | None, ends_at: datetime | None) -> str:
    """When an event is, on Copenhagen's clock: "Tuesday, December 1, 2026, 5:00 – 7:00 PM"."""
    if starts_at is None:
        return ""
    locale = i18n.current_language()
    zone = get_timezone(TIMEZONE)
    start = starts_at.astimezone(zone)
    start_day = format_date(start, "full", locale=locale)
    if ends_at is None:
        return _date_and_time(locale, start_day, format_time(start, "short", locale=locale))
    end = ends_at.astimezone(zone)
    if end.date() == start.date():
        twelve_hours = "a" in str(Locale.parse(locale).time_formats["short"])
        skeleton = "hm" if twelve_hours else "Hm"
        times = format_interval(start, end, skeleton, tzinfo=zone, locale=locale)
        return _date_and_time(locale, start_day, times)
    return "{} – {}".format(
        _date_and_time(locale, start_day, format_time(start, "short", locale=locale)),
        _date_and_time(
            locale,
            format_date(end, "full", locale=locale),
            format_time(end, "short", locale=locale),
        ),
    )


FORMATTERS = {"file_size": file_size, "day": day, "event_time": event_time}


# --- language order --------------------------------------------------------------------------


def language_order(
    languages: list[str] | set[str],
    *,
    preferred: list[str],
    base: str | None = None,
    fallback: str | None = None,
) -> list[str]:
    """The organisation's own languages first (in its order), then the item's base language,
    then its fallback, then the rest alphabetically by name in the reader's language."""
    present = set(languages)
    first = [code for code in [*preferred, base, fallback] if code in present]
    first = list(dict.fromkeys(first))
    reader = i18n.current_language()
    rest = sorted(present - set(first), key=lambda c: (display_name(c, reader).lower(), c))
    return first + rest


async def organisation_languages(session: AsyncSession, organisation_id: int | None) -> list[str]:
    """The languages an organisation serves, as its profile lists them."""
    if organisation_id is None:
        return []
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        return []
    return (await partners.load_view(session, organisation)).languages


# --- the kit ---------------------------------------------------------------------------------


@dataclass
class VariantView:
    variant: ItemVariant
    material: Material | None
    own_language: bool
    credited_to: str | None = None

    @property
    def language(self) -> str:
        return self.variant.language

    @property
    def whatsapp_share_url(self) -> str:
        return WHATSAPP_SHARE + quote(self.variant.text, safe="")

    @property
    def processing(self) -> bool:
        """A film whose WhatsApp-ready version and poster frame are still being made."""
        return self.material is not None and self.material.processing_status in (
            ProcessingStatus.pending,
            ProcessingStatus.running,
        )

    @property
    def has_poster_frame(self) -> bool:
        m = self.material
        return m is not None and m.processing_status == ProcessingStatus.done and bool(m.poster_key)

    @property
    def has_whatsapp_film(self) -> bool:
        return self.material is not None and bool(self.material.whatsapp_key)

    @property
    def file_type(self) -> str:
        return self.material.extension.upper() if self.material else ""


@dataclass
class ItemView:
    item: CampaignItem
    main: list[VariantView] = field(default_factory=list)
    others: list[VariantView] = field(default_factory=list)

    @property
    def variants(self) -> list[VariantView]:
        return self.main + self.others


@dataclass
class Kit:
    campaign: Campaign
    items: list[ItemView]
    organisation_languages: list[str]

    @property
    def closed(self) -> bool:
        return self.campaign.status == CampaignStatus.closed


def item_view(
    item: CampaignItem,
    variants: list[ItemVariant],
    materials: dict[int, Material],
    *,
    preferred: list[str],
    credits: dict[int, str] | None = None,
) -> ItemView:
    """One item's language versions, ordered; those outside the organisation's languages and
    the item's own base and fallback languages are grouped as "other languages"."""
    by_language = {v.language: v for v in variants}
    order = language_order(
        list(by_language),
        preferred=preferred,
        base=item.base_language,
        fallback=item.fallback_language,
    )
    wanted = {*preferred, item.base_language, item.fallback_language}
    view = ItemView(item)
    for code in order:
        variant = by_language[code]
        shown = VariantView(
            variant=variant,
            material=materials.get(variant.material_id) if variant.material_id else None,
            own_language=code in preferred,
            credited_to=(credits or {}).get(variant.credited_organisation_id or 0),
        )
        (view.main if code in wanted else view.others).append(shown)
    if not view.main:  # nothing in the languages asked for: show what there is
        view.main, view.others = view.others, []
    return view


async def _materials(session: AsyncSession, ids: set[int]) -> dict[int, Material]:
    if not ids:
        return {}
    rows = await session.exec(select(Material).where(col(Material.id).in_(ids)))
    return {m.id: m for m in rows.all() if m.id is not None}


async def _organisation_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))
    return {o.id: o.name for o in rows.all() if o.id is not None}


async def build_kit(session: AsyncSession, campaign: Campaign, *, languages: list[str]) -> Kit:
    """Everything the kit page shows, in a handful of queries."""
    items = await service.list_items(session, campaign)
    variants = await service.list_variants(session, items)
    materials = await _materials(session, {v.material_id for v in variants if v.material_id})
    credits = await _organisation_names(
        session, {v.credited_organisation_id for v in variants if v.credited_organisation_id}
    )
    grouped: dict[int, list[ItemVariant]] = defaultdict(list)
    for variant in variants:
        grouped[variant.item_id].append(variant)
    views = [
        item_view(
            item, grouped.get(item.id or 0, []), materials, preferred=languages, credits=credits
        )
        for item in items
    ]
    return Kit(campaign=campaign, items=views, organisation_languages=languages)


async def item_variants(
    session: AsyncSession, item: CampaignItem, *, languages: list[str]
) -> ItemView:
    """One item's language versions in the organisation's order (the script page)."""
    variants = await service.list_variants(session, [item])
    materials = await _materials(session, {v.material_id for v in variants if v.material_id})
    return item_view(item, variants, materials, preferred=languages)


async def kit_variant(
    session: AsyncSession, campaign: Campaign, variant_id: int
) -> ItemVariant | None:
    """A variant with a file, of an item of ``campaign``; None otherwise."""
    variant = await session.get(ItemVariant, variant_id)
    if variant is None or variant.material_id is None:
        return None
    item = await session.get(CampaignItem, variant.item_id)
    if item is None or item.campaign_id != campaign.id:
        return None
    return variant


# --- visits -----------------------------------------------------------------------------------


async def record_visit(
    session: AsyncSession, db: Database, campaign: Campaign, principal: User
) -> None:
    """Note that a partner user opened the campaign today (once a day; for reach reports).

    Looked up in the page's read-only ``session``; written in a short unit of work of its own,
    so that the page's GET stays read-only. The page's session hands its connection back first
    (what it loaded stays usable): a request holding one connection while it waits for another
    deadlocks the pool once as many kits open at once as the pool has connections."""
    if principal.organisation_id is None or principal.id is None or campaign.id is None:
        return
    today = datetime.now(get_timezone(TIMEZONE)).date()
    key = (campaign.id, principal.id, today)
    if await session.get(CampaignVisit, key) is not None:
        return
    await session.commit()
    try:
        async with unit_of_work(db, None) as writer:
            writer.add(
                CampaignVisit(
                    campaign_id=campaign.id,
                    user_id=principal.id,
                    day=today,
                    organisation_id=principal.organisation_id,
                )
            )
    except IntegrityError:
        pass  # the same user, in another tab at the same moment


# --- sharing a file --------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedLink:
    url: str
    expires_at: datetime


# --- the inbox -------------------------------------------------------------------------------


@dataclass
class InboxEntry:
    campaign: Campaign
    item_count: int
    languages: list[str]

    @property
    def closed(self) -> bool:
        return self.campaign.status == CampaignStatus.closed


async def inbox_entries(
    session: AsyncSession, campaigns: list[Campaign], *, languages: list[str]
) -> list[InboxEntry]:
    """Item counts and available languages (the organisation's first) of listed campaigns."""
    ids = [c.id for c in campaigns if c.id is not None]
    if not ids:
        return []
    counts = dict(
        (
            await session.exec(
                select(CampaignItem.campaign_id, func.count())
                .where(col(CampaignItem.campaign_id).in_(ids))
                .group_by(col(CampaignItem.campaign_id))
            )
        ).all()
    )
    found: dict[int, set[str]] = defaultdict(set)
    rows = await session.exec(
        select(CampaignItem.campaign_id, ItemVariant.language)
        .join(ItemVariant, col(ItemVariant.item_id) == col(CampaignItem.id))
        .where(col(CampaignItem.campaign_id).in_(ids))
        .distinct()
    )
    for campaign_id, language in rows.all():
        found[campaign_id].add(language)
    return [
        InboxEntry(
            campaign=c,
            item_count=int(counts.get(c.id or 0, 0)),
            languages=language_order(found.get(c.id or 0, set()), preferred=languages),
        )
        for c in campaigns
    ]


# --- the officer's preview -------------------------------------------------------------------


async def preview_organisations(session: AsyncSession, campaign: Campaign) -> list[Organisation]:
    """The organisations whose view an officer may preview: those a published campaign
    addresses, or those its audience would address now (drafts and scheduled ones)."""
    if campaign.published_at is not None:
        ids = await service.recipient_ids(session, campaign)
        if not ids:
            return []
        rows = await session.exec(
            select(Organisation)
            .where(col(Organisation.id).in_(ids))
            .order_by(func.lower(col(Organisation.name)), col(Organisation.id))
        )
        return list(rows.all())
    spec = await service.campaign_spec(session, campaign)
    if spec is None:
        return []
    try:
        return (await audiences.resolve(session, spec)).organisations
    except HubError:  # e.g. an area of the audience was deleted since: nobody to preview as
        return []
