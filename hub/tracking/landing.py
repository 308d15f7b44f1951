"""What a citizen's landing page shows: the linked item in one language, then the campaign's
other items in that language. Reads only; never anything about the visitor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_interval, format_time, get_timezone
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.campaigns import service as campaigns
from hub.campaigns.kit import TIMEZONE
from hub.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    ItemKind,
    ItemVariant,
    Material,
    MaterialKind,
    Organisation,
    ProcessingStatus,
    TrackedLink,
)

# Scripts are for partners who record films; citizens get everything else.
CITIZEN_KINDS = (
    ItemKind.message,
    ItemKind.film,
    ItemKind.poster,
    ItemKind.flyer,
    ItemKind.qa,
    ItemKind.event,
)
SHOWN = (CampaignStatus.published,)
ENDED = (CampaignStatus.closed, CampaignStatus.archived)


def title_of(item: CampaignItem, variant: ItemVariant) -> str:
    """An item's title in a language: the variant's own, else the item's."""
    return variant.title or item.title


def title_language(item: CampaignItem, variant: ItemVariant) -> str:
    """The language the title is in: the variant's own title, else the item's (base language)."""
    return variant.language if variant.title else item.base_language


@dataclass
class Block:
    """One item in the page's language."""

    item: CampaignItem
    variant: ItemVariant
    material: Material | None

    @property
    def title(self) -> str:
        return title_of(self.item, self.variant)

    @property
    def title_language(self) -> str:
        return title_language(self.item, self.variant)

    @property
    def is_film(self) -> bool:
        return self.material is not None and self.material.kind == MaterialKind.film

    @property
    def is_image(self) -> bool:
        return self.material is not None and self.material.kind == MaterialKind.image

    @property
    def has_poster_frame(self) -> bool:
        m = self.material
        return m is not None and m.processing_status == ProcessingStatus.done and bool(m.poster_key)

    @property
    def has_captions(self) -> bool:
        return self.is_film and self.variant.captions_material_id is not None

    @property
    def playable(self) -> str:
        """The rendition the player streams: the small WhatsApp-ready MP4 when there is one."""
        m = self.material
        return "whatsapp" if m is not None and m.whatsapp_key else "original"


@dataclass
class Landing:
    link: TrackedLink
    campaign: Campaign
    organisation_name: str
    language: str
    languages: list[str]
    main: Block | None
    others: list[Block] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.campaign.status in ENDED

    @property
    def title(self) -> str:
        return self.main.title if self.main else self.campaign.title


async def find_landing(
    session: AsyncSession, link: TrackedLink, language: str | None
) -> Landing | None:
    """The page of ``link`` in ``language`` (the link's own when None); None when the
    campaign is not public (a draft) or the language is not one the item has."""
    campaign = await session.get(Campaign, link.campaign_id)
    item = await session.get(CampaignItem, link.item_id)
    if campaign is None or item is None or campaign.status not in (*SHOWN, *ENDED):
        return None
    organisation = await session.get(Organisation, link.organisation_id)
    items = [i for i in await campaigns.list_items(session, campaign) if i.kind in CITIZEN_KINDS]
    if item.kind not in CITIZEN_KINDS:
        items.insert(0, item)
    variants = await campaigns.list_variants(session, items)
    by_item: dict[int, dict[str, ItemVariant]] = {}
    for variant in variants:
        by_item.setdefault(variant.item_id, {})[variant.language] = variant
    own = by_item.get(item.id or 0, {})
    if language is None:
        language = next(
            (
                code
                for code in (link.language, item.fallback_language, item.base_language)
                if code and code in own
            ),
            min(own) if own else link.language,
        )
    elif language not in own:
        return None
    materials = await _materials(session, {v.material_id for v in variants if v.material_id})

    def block(of: CampaignItem) -> Block | None:
        variant = by_item.get(of.id or 0, {}).get(language or "")
        if variant is None:
            return None
        material = materials.get(variant.material_id) if variant.material_id else None
        return Block(item=of, variant=variant, material=material)

    main = block(item)
    others = [b for b in (block(i) for i in items if i.id != item.id) if b is not None]
    return Landing(
        link=link,
        campaign=campaign,
        organisation_name=organisation.name if organisation else "",
        language=language,
        languages=sorted(own),
        main=main,
        others=others,
    )


async def _materials(session: AsyncSession, ids: set[int]) -> dict[int, Material]:
    if not ids:
        return {}
    rows = await session.exec(select(Material).where(col(Material.id).in_(ids)))
    return {m.id: m for m in rows.all() if m.id is not None}


def babel_locale(language: str) -> str:
    """``language`` if Babel can format dates in it, else Danish (the municipality's)."""
    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return "da"
    return language


def event_when(starts_at: datetime | None, ends_at: datetime | None, language: str) -> str:
    """An event's time in the page's language, on Copenhagen's clock."""
    if starts_at is None:
        return ""
    locale = babel_locale(language)
    zone = get_timezone(TIMEZONE)
    start = starts_at.astimezone(zone)
    day = format_date(start, "full", locale=locale)
    if ends_at is None:
        return f"{day}, {format_time(start, 'short', locale=locale)}"
    end = ends_at.astimezone(zone)
    if end.date() == start.date():
        return f"{day}, {format_interval(start, end, 'Hm', tzinfo=zone, locale=locale)}"
    return "{}, {} – {}, {}".format(
        day,
        format_time(start, "short", locale=locale),
        format_date(end, "full", locale=locale),
        format_time(end, "short", locale=locale),
    )


async def variant_for_file(
    session: AsyncSession, link: TrackedLink, variant_id: int
) -> tuple[ItemVariant, CampaignItem] | None:
    """A variant of the link's campaign, while the campaign is public."""
    variant = await session.get(ItemVariant, variant_id)
    item = await session.get(CampaignItem, variant.item_id) if variant else None
    if variant is None or item is None or item.campaign_id != link.campaign_id:
        return None
    campaign = await session.get(Campaign, item.campaign_id)
    if campaign is None or campaign.status not in SHOWN:
        return None
    return variant, item
