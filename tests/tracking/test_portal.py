"""The partner's side of tracking: forward kits with one link per channel, QR codes, the
print page whose code, read back, lands on the right page and counts; and the JSON API."""

from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import zxingcpp
from PIL import Image
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, LinkDay, Role, TrackedLink
from tests.factories import api_token, bearer, csrf_from, login, make_contact, make_partner
from tests.tracking.conftest import TEXT_AR, TITLE_AR, Published, flush, hand_over


def decode_qr(png: bytes) -> str:
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return str(found.text)


async def make_links(client: httpx.AsyncClient, published: Published, variant_id: int) -> str:
    url = f"/portal/campaigns/{published.campaign.id}/variants/{variant_id}/forward"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    made = await client.post(
        f"/portal/campaigns/{published.campaign.id}/variants/{variant_id}/links",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert made.status_code == 303
    return (await client.get(made.headers["location"])).text


async def variant_id(db: Database, item_id: int, language: str) -> int:
    from hub.models import ItemVariant

    async with unit_of_work(db, None, write=False) as session:
        return (
            await session.exec(
                select(ItemVariant.id).where(
                    ItemVariant.item_id == item_id, ItemVariant.language == language
                )
            )
        ).one()  # type: ignore[return-value]


async def test_forward_kit_has_a_text_and_own_link_per_channel(
    partner_client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    vid = await variant_id(db, published.message.id or 0, "ar")
    kit = await partner_client.get(f"/portal/campaigns/{published.campaign.id}")
    assert f"/variants/{vid}/forward" in kit.text
    html = await make_links(partner_client, published, vid)
    async with unit_of_work(db, None, write=False) as session:
        links = {link.channel: link for link in (await session.exec(select(TrackedLink))).all()}
    assert set(links) == {
        Channel.whatsapp,
        Channel.facebook,
        Channel.sms_list,
        Channel.newsletter,
        Channel.meeting,
    }
    texts = {
        channel: unescape(text)
        for channel, text in re.findall(
            r'<textarea id="text-(\w+)" readonly rows="\d+" lang="ar" dir="rtl">(.*?)</textarea>',
            html,
            re.S,
        )
    }
    assert set(texts) == {c.value for c in links}
    for channel, link in links.items():
        text = texts[channel.value]
        assert f"http://testserver/s/{link.code}" in text
        # Only its own channel's link.
        assert sum(f"/s/{other.code}" in text for other in links.values()) == 1
    assert TITLE_AR in texts["whatsapp"] and TEXT_AR in texts["whatsapp"]
    wa = re.search(r'href="(https://wa\.me/\?text=[^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert unquote(parse_qs(urlsplit(unescape(wa)).query)["text"][0]) == texts["whatsapp"]
    from hub.distribution import sms

    assert sms.measure(texts["sms_list"]).segments == 1
    # Making the links again changes nothing.
    await make_links(partner_client, published, vid)
    async with unit_of_work(db, None, write=False) as session:
        assert len((await session.exec(select(TrackedLink))).all()) == 5


async def test_printed_poster_qr_lands_in_its_language_and_counts(
    app: object,
    partner_client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    published: Published,
) -> None:
    vid = await variant_id(db, published.poster.id or 0, "ar")
    forward = await partner_client.get(
        f"/portal/campaigns/{published.campaign.id}/variants/{vid}/forward"
    )
    made = await partner_client.post(
        f"/portal/campaigns/{published.campaign.id}/variants/{vid}/print",
        data={
            "csrf_token": csrf_from(forward.text),
            "channel": "poster",
            "size": "a3",
            "placement": "Opgang 4, indgang",
            "show_name": "1",
            "cta": "",
        },
    )
    assert made.status_code == 303, made.text
    sheet = await partner_client.get(made.headers["location"])
    assert sheet.status_code == 200
    assert '<html lang="ar" dir="rtl">' in sheet.text
    assert 'class="sheet-a3"' in sheet.text and "<svg" in sheet.text
    assert "امسح الرمز بكاميرا هاتفك" in sheet.text  # the call to action in Arabic
    assert "Moské Nord" in sheet.text
    async with unit_of_work(db, None, write=False) as session:
        link = (
            await session.exec(select(TrackedLink).where(TrackedLink.channel == Channel.poster))
        ).one()
    assert link.placement == "Opgang 4, indgang"
    png = await partner_client.get(f"/portal/links/{link.id}/qr.png")
    assert png.headers["content-type"] == "image/png"
    scanned = decode_qr(png.content)
    assert scanned == f"http://testserver/s/{link.code}"
    svg = await partner_client.get(f"/portal/links/{link.id}/qr.svg?download=1")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-disposition"].startswith("attachment")

    # A phone scans it: no cookie of the partner's goes along.
    async with httpx.AsyncClient(
        transport=partner_client._transport, base_url="http://testserver"
    ) as phone:
        landed = await phone.get(urlsplit(scanned).path, follow_redirects=True)
    assert landed.status_code == 200 and '<html lang="ar" dir="rtl">' in landed.text
    await hand_over(app)  # type: ignore[arg-type]
    await flush(settings, db)
    async with unit_of_work(db, None, write=False) as session:
        [row] = (await session.exec(select(LinkDay))).all()
    assert (row.link_id, row.clicks) == (link.id, 1)
    # Its count shows on the forward kit.
    again = await partner_client.get(
        f"/portal/campaigns/{published.campaign.id}/variants/{vid}/forward"
    )
    assert re.search(r"Opgang 4, indgang</td>\s*<td class=\"num\">1</td>", again.text)


async def test_print_form_errors_stay_beside_the_field(
    partner_client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    vid = await variant_id(db, published.poster.id or 0, "da")
    url = f"/portal/campaigns/{published.campaign.id}/variants/{vid}/print"
    forward = await partner_client.get(url.replace("/print", "/forward"))
    refused = await partner_client.post(
        url,
        data={
            "csrf_token": csrf_from(forward.text),
            "channel": "billboard",
            "size": "a5",
            "placement": "x" * 150,
            "cta": "Scan!",
        },
    )
    assert refused.status_code == 400
    assert "Choose a poster or a flyer." in refused.text and "Choose A4 or A3." in refused.text
    assert 'value="Scan!"' in refused.text
    too_long = await partner_client.post(
        url,
        data={
            "csrf_token": csrf_from(forward.text),
            "channel": "flyer",
            "size": "a4",
            "placement": "x" * 150,
        },
    )
    assert too_long.status_code == 400 and 'id="placement-error"' in too_long.text
    async with unit_of_work(db, None, write=False) as session:
        assert (await session.exec(select(TrackedLink))).all() == []


async def test_links_are_the_organisations_own(
    partner_client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    db: Database,
    published: Published,
) -> None:
    vid = await variant_id(db, published.message.id or 0, "so")
    await make_links(partner_client, published, vid)
    async with unit_of_work(db, None, write=False) as session:
        link = (await session.exec(select(TrackedLink))).first()
    other = await make_partner(db, name="Other")
    stranger = await make_contact(db, other)
    anon_client.headers["Accept-Language"] = "en"
    await login(anon_client, stranger.email)
    for path in (
        f"/portal/links/{link.id}/print",  # type: ignore[union-attr]
        f"/portal/links/{link.id}/qr.png",  # type: ignore[union-attr]
        f"/portal/campaigns/{published.campaign.id}/variants/{vid}/forward",
    ):
        assert (await anon_client.get(path)).status_code == 404, path


async def test_links_api(
    client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    token = bearer(await api_token(client, db, published.contact))
    body = {"item_id": published.film.id, "language": "so", "channel": "facebook"}
    url = f"/api/v1/campaigns/{published.campaign.id}/links"
    created = await client.post(url, json=body, headers=token)
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["url"] == f"http://testserver/s/{link['code']}" and link["hop"] == 1
    again = await client.post(url, json=body, headers=token)
    assert again.status_code == 200 and again.json()["id"] == link["id"]
    qr = await client.get(link["qr_png_url"].replace("http://testserver", ""), headers=token)
    assert decode_qr(qr.content) == link["url"]

    for bad, status in (
        ({**body, "channel": "pigeon"}, 422),
        ({**body, "language": "tr"}, 422),
        ({**body, "item_id": 999999}, 404),
        ({**body, "extra": 1}, 422),
    ):
        refused = await client.post(url, json=bad, headers=token)
        assert refused.status_code == status, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"

    await client.get(f"/s/{link['code']}")
    listed = await client.get(url, headers=token)
    assert listed.json()["total"] == 1

    from tests.factories import make_user

    officer = await make_user(db, role=Role.officer)
    officer_token = bearer(await api_token(client, db, officer))
    everyone = await client.get(url, headers=officer_token)
    assert [i["id"] for i in everyone.json()["items"]] == [link["id"]]
    assert (await client.post(url, json=body, headers=officer_token)).status_code == 403

    other = await make_partner(db, name="Other")
    stranger = bearer(await api_token(client, db, await make_contact(db, other)))
    assert (await client.get(f"/api/v1/links/{link['id']}", headers=stranger)).status_code == 404


async def test_no_new_links_once_the_campaign_has_ended(
    client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    from hub.campaigns import service as campaigns

    async with unit_of_work(db, None) as session:
        campaign = await session.get(type(published.campaign), published.campaign.id)
        await campaigns.close_campaign(session, campaign)  # type: ignore[arg-type]
    token = bearer(await api_token(client, db, published.contact))
    body = {"item_id": published.film.id, "language": "so", "channel": "facebook"}
    refused = await client.post(
        f"/api/v1/campaigns/{published.campaign.id}/links", json=body, headers=token
    )
    assert refused.status_code == 409
    client.headers["Accept-Language"] = "en"
    await login(client, published.contact.email)
    vid = await variant_id(db, published.film.id or 0, "so")
    page = await client.get(f"/portal/campaigns/{published.campaign.id}/variants/{vid}/forward")
    assert "This campaign has ended" in page.text and "/links" not in page.text


def test_a_films_texts_say_to_watch_it_in_its_language() -> None:
    from hub.models import CampaignItem, ItemKind, ItemVariant
    from hub.tracking.forward import forward_texts

    film = CampaignItem(campaign_id=1, kind=ItemKind.film, title="Vaccination", base_language="en")
    somali = ItemVariant(item_id=1, language="so", title="Tallaalka carruurta", text="")
    links = {
        channel: TrackedLink(
            code=f"code{n}",
            organisation_id=1,
            campaign_id=1,
            item_id=1,
            language="so",
            channel=channel,
        )
        for n, channel in enumerate((Channel.whatsapp, Channel.newsletter))
    }
    texts = {t.channel: t.text for t in forward_texts(film, somali, links, "https://hub.test")}
    assert texts[Channel.whatsapp] == (
        "*Tallaalka carruurta*\n\nHalkan ka daawo filimka: https://hub.test/s/code0"
    )
    assert texts[Channel.newsletter] == (
        "Tallaalka carruurta\n\nHalkan ka daawo filimka: https://hub.test/s/code1"
    )

    message = CampaignItem(campaign_id=1, kind=ItemKind.message, title="Vaccination")
    words = ItemVariant(item_id=1, language="so", title="Tallaal", text="Kaalay Sabtida.")
    whatsapp = forward_texts(message, words, links, "https://hub.test")[0]
    assert whatsapp.text == "*Tallaal*\n\nKaalay Sabtida.\n\nhttps://hub.test/s/code0"
