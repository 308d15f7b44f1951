"""A partner's forward kit: ready-to-paste texts per channel, each with the partner's own link
for that channel, in the material's language."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from hub.distribution import sms
from hub.models import CampaignItem, Channel, ItemKind, ItemVariant, TrackedLink
from hub.tracking.landing import event_when, title_of
from hub.tracking.phrases import phrase

# The channels a forward kit has a text for, in the order shown.
FORWARD_CHANNELS = (
    Channel.whatsapp,
    Channel.facebook,
    Channel.sms_list,
    Channel.newsletter,
    Channel.meeting,
)
# Printed material: a poster in a stairwell, a flyer in every letterbox.
PRINT_CHANNELS = (Channel.poster, Channel.flyer)


@dataclass(frozen=True)
class ForwardText:
    channel: Channel
    text: str
    url: str
    # Where a click opens the channel with the text filled in (None: paste it yourself).
    action_url: str | None = None


def _body(item: CampaignItem, variant: ItemVariant) -> str:
    """The variant's own words when they are meant for citizens (a message, an event)."""
    if item.kind in (ItemKind.message, ItemKind.event, ItemKind.flyer, ItemKind.poster):
        return variant.text.strip()
    return ""


def _event_lines(item: CampaignItem, language: str) -> list[str]:
    if item.kind != ItemKind.event:
        return []
    lines = [event_when(item.starts_at, item.ends_at, language)]
    lines.append(", ".join(part for part in (item.place, item.address) if part))
    return [line for line in lines if line]


def forward_texts(
    item: CampaignItem, variant: ItemVariant, links: dict[Channel, TrackedLink], base_url: str
) -> list[ForwardText]:
    """One text per forward channel the organisation has a link for."""
    language = variant.language
    title = title_of(item, variant)
    body = _body(item, variant)
    event = _event_lines(item, language)
    # A film's text says what the link opens; it has no words of its own to go with it.
    more = phrase(language, "watch" if item.kind is ItemKind.film else "read_more")
    texts: list[ForwardText] = []
    for channel in FORWARD_CHANNELS:
        link = links.get(channel)
        if link is None:
            continue
        url = f"{base_url}/s/{link.code}"
        if channel in (Channel.whatsapp, Channel.facebook):
            link_line = f"{more}: {url}" if item.kind is ItemKind.film else url
            text = "\n\n".join(
                part for part in (f"*{title}*", body, "\n".join(event), link_line) if part
            )
            if channel is Channel.facebook:
                text = text.replace(f"*{title}*", title, 1)
                action = "https://www.facebook.com/sharer/sharer.php?u=" + quote(url, safe="")
            else:
                action = "https://wa.me/?text=" + quote(text, safe="")
        elif channel is Channel.sms_list:
            # One text message: the title, the words that fit, and the link, never cut.
            lead = f"{title}: {body}" if body else title
            text = sms.fit(lead, max_segments=1, keep_end=f"\n{url}")
            if sms.measure(text).segments > 1:  # the title alone is too long
                text = sms.fit(title, max_segments=2, keep_end=f"\n{url}")
            action = "sms:?&body=" + quote(text, safe="")
        elif channel is Channel.newsletter:
            text = "\n\n".join(
                part for part in (title, body, "\n".join(event), f"{more}: {url}") if part
            )
            action = None
        else:  # an announcement read out or pinned up at a meeting
            text = "\n".join(part for part in (title, *event, body, f"{more}: {url}") if part)
            action = None
        texts.append(ForwardText(channel=channel, text=text, url=url, action_url=action))
    return texts
