"""Tracked links: one per (organisation, item, language, channel, placement), made on demand.

A code is eight random base62 characters (62⁸ ≈ 2·10¹⁴ codes): guessing one that exists is
hopeless, and nothing in a code says which link comes before or after it.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub.errors import Conflict, FieldError, InvalidInput, NotFound
from hub.i18n import _
from hub.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    Channel,
    ItemVariant,
    LinkDay,
    Role,
    TrackedLink,
    User,
)
from hub.text import clean

ALPHABET = string.digits + string.ascii_letters
CODE_LENGTH = 8
# A link shared on by someone who opened it gets a child; the child's child is the last hop
# told apart (hop 3 stands for "three or more").
MAX_HOP = 3
MAX_PLACEMENT = 100


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def link_key(
    *, organisation_id: int, item_id: int, language: str, channel: Channel, placement: str
) -> str:
    return f"{organisation_id}:{item_id}:{language}:{channel.value}:{placement.casefold()}"


def short_url(base_url: str, link: TrackedLink) -> str:
    """The address a partner hands out and a QR code carries."""
    return f"{base_url}/s/{link.code}"


async def _insert_or_get(session: AsyncSession, values: dict[str, object]) -> TrackedLink:
    """The link with ``values["key"]``, inserted unless it exists (another request may be
    making the same link right now: the unique key decides, and the loser reads the winner's)."""
    for _attempt in range(3):
        existing = (
            await session.exec(select(TrackedLink).where(TrackedLink.key == values["key"]))
        ).first()
        if existing is not None:
            return existing
        link = TrackedLink.model_validate({**values, "code": new_code()})
        try:
            async with session.begin_nested():
                session.add(link)
        except IntegrityError:
            continue  # the key was taken meanwhile (or, once in 10¹⁴, the code): look again
        return link
    raise RuntimeError("could not make a tracked link")  # pragma: no cover


async def get_or_create_link(
    session: AsyncSession,
    *,
    organisation_id: int,
    campaign: Campaign,
    item: CampaignItem,
    language: str,
    channel: Channel | str,
    placement: str = "",
    created_by: User | None = None,
) -> TrackedLink:
    """The organisation's link to ``item`` in ``language`` for ``channel`` (made if new)."""
    if item.campaign_id != campaign.id:
        raise NotFound(_("No such item in this campaign."))
    if campaign.status != CampaignStatus.published:
        # A closed campaign's existing links still land (on a page that says it ended).
        raise Conflict(_("Links are made for published campaigns only."))
    try:
        channel = Channel(channel)
    except ValueError:
        message = _("Choose a channel from the list.")
        raise InvalidInput(message, errors=[FieldError("channel", message)]) from None
    placement = clean(placement, field="placement", max_length=MAX_PLACEMENT)
    variant = (
        await session.exec(
            select(ItemVariant.id).where(
                ItemVariant.item_id == item.id, ItemVariant.language == language
            )
        )
    ).first()
    if variant is None:
        message = _("This item has no version in that language.")
        raise InvalidInput(message, errors=[FieldError("language", message)])
    values = dict(
        key=link_key(
            organisation_id=organisation_id,
            item_id=item.id or 0,
            language=language,
            channel=channel,
            placement=placement,
        ),
        organisation_id=organisation_id,
        campaign_id=campaign.id or 0,
        item_id=item.id or 0,
        language=language,
        channel=channel,
        placement=placement,
        created_by_id=created_by.id if created_by else None,
    )
    return await _insert_or_get(session, values)


async def child_link(session: AsyncSession, parent: TrackedLink) -> TrackedLink:
    """The link a citizen shares on: a child of the link they came by (made if new)."""
    if parent.hop >= MAX_HOP:
        return parent
    values = dict(
        key=f"child:{parent.id}",
        organisation_id=parent.organisation_id,
        campaign_id=parent.campaign_id,
        item_id=parent.item_id,
        language=parent.language,
        channel=parent.channel,
        placement=parent.placement,
        parent_id=parent.id,
        hop=parent.hop + 1,
    )
    return await _insert_or_get(session, values)


def visible_links(principal: User) -> SelectOfScalar[TrackedLink]:
    """The links ``principal`` may see: officers all, a partner its organisation's."""
    query = select(TrackedLink)
    if principal.role in (Role.admin, Role.officer):
        return query
    return query.where(TrackedLink.organisation_id == (principal.organisation_id or -1))


async def get_visible_link(
    session: AsyncSession, *, principal: User, link_id: int
) -> TrackedLink | None:
    return (await session.exec(visible_links(principal).where(TrackedLink.id == link_id))).first()


async def variant_links(
    session: AsyncSession, *, organisation_id: int, item_id: int, language: str
) -> list[TrackedLink]:
    """The organisation's own links to an item in a language (all channels and placements)."""
    rows = await session.exec(
        select(TrackedLink)
        .where(
            TrackedLink.organisation_id == organisation_id,
            TrackedLink.item_id == item_id,
            TrackedLink.language == language,
            col(TrackedLink.parent_id).is_(None),
        )
        .order_by(col(TrackedLink.id))
    )
    return list(rows.all())


async def link_variant(session: AsyncSession, link: TrackedLink) -> ItemVariant | None:
    """The current language version a link leads to."""
    return (
        await session.exec(
            select(ItemVariant).where(
                ItemVariant.item_id == link.item_id, ItemVariant.language == link.language
            )
        )
    ).first()


async def link_by_code(session: AsyncSession, code: str) -> TrackedLink | None:
    if not (7 <= len(code) <= 16) or not code.isascii() or not code.isalnum():
        return None
    return (await session.exec(select(TrackedLink).where(TrackedLink.code == code))).first()


@dataclass(frozen=True)
class LinkTotals:
    clicks: int = 0
    previews: int = 0
    uniques: int = 0
    # Clicks on the links citizens shared on from this one (second hop and further).
    shared_clicks: int = 0


async def link_totals(session: AsyncSession, link_ids: list[int]) -> dict[int, LinkTotals]:
    """Clicks, previews and the sum of daily unique estimates of each link, with the clicks of
    its descendants (links shared on from it) apart."""
    if not link_ids:
        return {}
    own = (
        await session.exec(
            select(
                LinkDay.link_id,
                func.sum(LinkDay.clicks),
                func.sum(LinkDay.previews),
                func.sum(LinkDay.uniques),
            )
            .where(col(LinkDay.link_id).in_(link_ids))
            .group_by(col(LinkDay.link_id))
        )
    ).all()
    totals = {
        link_id: LinkTotals(int(c or 0), int(p or 0), int(u or 0)) for link_id, c, p, u in own
    }
    # Descendants: children and grandchildren (MAX_HOP is 3).
    child = sa.orm.aliased(TrackedLink)
    grandchild = sa.orm.aliased(TrackedLink)
    shared: dict[int, int] = {}
    for depth_join in (False, True):
        query = select(TrackedLink.id, func.sum(LinkDay.clicks)).join(
            child, col(child.parent_id) == col(TrackedLink.id)
        )
        if depth_join:
            query = query.join(grandchild, col(grandchild.parent_id) == col(child.id)).join(
                LinkDay, col(LinkDay.link_id) == col(grandchild.id)
            )
        else:
            query = query.join(LinkDay, col(LinkDay.link_id) == col(child.id))
        rows = await session.exec(
            query.where(col(TrackedLink.id).in_(link_ids)).group_by(col(TrackedLink.id))
        )
        for link_id, clicks in rows.all():
            if link_id is not None:
                shared[link_id] = shared.get(link_id, 0) + int(clicks or 0)
    return {
        link_id: LinkTotals(
            clicks=totals.get(link_id, LinkTotals()).clicks,
            previews=totals.get(link_id, LinkTotals()).previews,
            uniques=totals.get(link_id, LinkTotals()).uniques,
            shared_clicks=shared.get(link_id, 0),
        )
        for link_id in link_ids
    }


async def organisation_links(
    session: AsyncSession, *, organisation_id: int, campaign_id: int
) -> list[TrackedLink]:
    """The organisation's own links of a campaign (not the ones citizens shared on)."""
    rows = await session.exec(
        select(TrackedLink)
        .where(
            TrackedLink.organisation_id == organisation_id,
            TrackedLink.campaign_id == campaign_id,
            col(TrackedLink.parent_id).is_(None),
        )
        .order_by(col(TrackedLink.item_id), col(TrackedLink.language), col(TrackedLink.id))
    )
    return list(rows.all())
