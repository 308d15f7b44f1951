"""The citizen's landing page: light, in the link's language (right to left where needed),
with the film, the poster, the event and "share further"; never a cookie."""

from __future__ import annotations

import re

import httpx
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import Channel, TrackedLink
from hub.templating import STATIC_DIR
from hub.tracking import service
from tests.tracking.conftest import (
    TEXT_AR,
    TEXT_DA,
    TEXT_SO,
    TITLE_AR,
    Published,
    make_published,
)

PAGE_BUDGET = 30 * 1024


async def link_for(
    db: Database,
    published: Published,
    item: str,
    language: str,
    channel: Channel = Channel.whatsapp,
) -> TrackedLink:
    async with unit_of_work(db, None) as session:
        return await service.get_or_create_link(
            session,
            organisation_id=published.organisation.id or 0,
            campaign=published.campaign,
            item=getattr(published, item),
            language=language,
            channel=channel,
        )


def no_cookie(response: httpx.Response) -> None:
    assert "set-cookie" not in response.headers, response.headers


async def test_arabic_page_is_right_to_left_light_and_cookieless(
    client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    link = await link_for(db, published, "message", "ar")
    followed = await client.get(f"/s/{link.code}", follow_redirects=True)
    assert followed.status_code == 200
    for response in (*followed.history, followed):
        no_cookie(response)
    html = followed.text
    assert '<html lang="ar" dir="rtl">' in html
    assert TITLE_AR in html and TEXT_AR in html
    assert "شاركه معك Moské Nord" in html  # the page's words in Arabic too
    # The switcher names each language in itself and links the variants that exist.
    assert f'href="/c/{link.code}/so" hreflang="so" lang="so" dir="ltr">Soomaali</a>' in html
    assert f'href="/c/{link.code}/da"' in html and f"/c/{link.code}/tr" not in html
    # Other items in Arabic: the film with its poster frame, the poster, the event.
    assert "<video" in html and 'poster="/c/' in html
    assert "لقاء إعلامي" in html and "Nordvest Kulturhus" in html
    assert "https://www.openstreetmap.org/" in html and "33 66 33 66" in html
    # Nothing from anywhere else: every src and stylesheet is our own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        if url.startswith("http") and 'rel="stylesheet"' not in url:
            assert url.startswith(("https://www.openstreetmap.org/", "http://testserver/")), url
    assert not re.search(r'src="https?://', html)
    css = (STATIC_DIR / "css" / "citizen.css").read_bytes()
    assert len(followed.content) + len(css) <= PAGE_BUDGET
    assert followed.headers["referrer-policy"] == "no-referrer"


async def test_switching_language_and_unknown_language(
    client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    link = await link_for(db, published, "message", "ar")
    somali = await client.get(f"/c/{link.code}/so")
    assert somali.status_code == 200
    assert '<html lang="so" dir="ltr">' in somali.text and TEXT_SO in somali.text
    assert "Sii wadaag" in somali.text
    danish = await client.get(f"/c/{link.code}/da")
    assert TEXT_DA in danish.text and "Del videre" in danish.text
    for bad, status in (("tr", 404), ("xx", 404), ("AR", 400), ("a", 400)):
        response = await client.get(f"/c/{link.code}/{bad}")
        assert response.status_code == status, bad
        no_cookie(response)
    missing = await client.get("/c/Nope1234")
    assert missing.status_code == 404
    no_cookie(missing)


async def test_film_streams_with_range_and_poster_frame(
    client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    link = await link_for(db, published, "film", "so")
    page = await client.get(f"/c/{link.code}")
    [source] = re.findall(r'<source src="([^"]+)" type="video/mp4">', page.text)
    [poster] = re.findall(r'<video[^>]* poster="([^"]+)"', page.text)
    part = await client.get(source, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-type"] == "video/mp4"
    no_cookie(part)
    frame = await client.get(poster)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
    assert frame.headers["content-disposition"].startswith("inline")
    download = await client.get(source + "?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    # A variant of another campaign, or a made-up one, is not served through this link.
    assert (await client.get(f"/c/{link.code}/files/999999/original")).status_code == 404


async def test_share_further_issues_one_child_link(
    client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    link = await link_for(db, published, "message", "ar")
    page = await client.get(f"/c/{link.code}")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    shared = await client.post(f"/c/{link.code}/share", data={"token": token, "language": "ar"})
    assert shared.status_code == 303
    no_cookie(shared)
    again = await client.post(f"/c/{link.code}/share", data={"token": token, "language": "ar"})
    assert again.headers["location"] == shared.headers["location"]
    child_code = shared.headers["location"].split("/")[2]
    async with unit_of_work(db, None, write=False) as session:
        child = (
            await session.exec(select(TrackedLink).where(TrackedLink.code == child_code))
        ).one()
    assert (child.parent_id, child.hop, child.organisation_id) == (
        link.id,
        2,
        published.organisation.id,
    )
    share_page = await client.get(shared.headers["location"])
    assert f"http://testserver/s/{child_code}" in share_page.text
    assert (
        "https://wa.me/?text=" in share_page.text
        and '<html lang="ar" dir="rtl">' in share_page.text
    )
    no_cookie(share_page)
    for forged in ("forged", "ålø∂", ""):
        refused = await client.post(f"/c/{link.code}/share", data={"token": forged})
        assert refused.status_code == 404
        no_cookie(refused)


async def test_closed_campaign_says_so_and_points_to_current_information(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    published = await make_published(db, settings)
    link = await link_for(db, published, "film", "ar")
    from hub.campaigns import service as campaigns

    async with unit_of_work(db, None) as session:
        campaign = await session.get(type(published.campaign), published.campaign.id)
        await campaigns.close_campaign(session, campaign)  # type: ignore[arg-type]
    page = await client.get(f"/s/{link.code}", follow_redirects=True)
    assert page.status_code == 200
    assert "انتهت هذه الحملة" in page.text
    assert f'href="{settings.citizen_info_url}"' in page.text
    assert "<video" not in page.text and 'action="/c/' not in page.text
    assert (
        await client.get(f"/c/{link.code}/files/{published.film.id}/original")
    ).status_code == 404


async def test_superseded_material_leads_to_the_new_version(
    client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    from hub.campaigns import service as campaigns
    from hub.models import ItemVariant, Material, MaterialKind
    from tests.materials import samples
    from tests.tracking.conftest import store

    link = await link_for(db, published, "poster", "ar")
    async with unit_of_work(db, None) as session:
        data = samples.png(60, 60, seed=3)
        new = Material(
            sha256="f" * 64,
            size=len(data),
            content_type="image/png",
            kind=MaterialKind.image,
            extension="png",
            storage_key=store(settings, data, "png"),
        )
        session.add(new)
        await session.flush()
        campaign = await session.get(type(published.campaign), published.campaign.id)
        item = await session.get(type(published.poster), published.poster.id)
        await campaigns.set_variant(
            session,
            campaign,
            item,
            language="ar",
            material_id=new.id,  # type: ignore[arg-type]
        )
        variant = (
            await session.exec(
                select(ItemVariant).where(
                    ItemVariant.item_id == item.id, ItemVariant.language == "ar"
                )  # type: ignore[union-attr]
            )
        ).one()
    page = await client.get(f"/c/{link.code}")
    image = await client.get(f"/c/{link.code}/files/{variant.id}/original")
    assert image.status_code == 200 and image.content == data
    assert f"/files/{variant.id}/original" in page.text


async def test_language_without_phrases_gets_english_labels_marked_as_such(
    client: httpx.AsyncClient, db: Database, published: Published
) -> None:
    from hub.campaigns import service as campaigns

    async with unit_of_work(db, None) as session:
        campaign = await session.get(type(published.campaign), published.campaign.id)
        item = await session.get(type(published.message), published.message.id)
        await campaigns.set_variant(
            session,
            campaign,  # type: ignore[arg-type]
            item,  # type: ignore[arg-type]
            language="ps",
            text="واکسین وړیا ده",
            title="واکسین",
        )
    link = await link_for(db, published, "message", "ps")
    page = await client.get(f"/c/{link.code}")
    assert '<html lang="ps" dir="rtl">' in page.text
    assert '<button type="submit" lang="en" dir="ltr">Share further</button>' in page.text


CAPTIONS = "WEBVTT\n\n00:00.000 --> 00:02.000\nالتطعيم مجاني\n".encode()


async def test_film_captions_from_the_composer_reach_the_landing_page(
    client: httpx.AsyncClient, db: Database, settings: Settings, published: Published
) -> None:
    from tests.factories import csrf_from, login

    client.headers["Accept-Language"] = "en"
    await login(client, published.officer.email)
    composer = await client.get(f"/campaigns/{published.campaign.id}")
    token = csrf_from(composer.text)
    upload_url = f"/campaigns/{published.campaign.id}/items/{published.film.id}/files"
    # Not WebVTT inside: refused, nothing stored.
    refused = await client.post(
        upload_url,
        data={"csrf_token": token, "language": "ar"},
        files={"file": ("captions.vtt", b"1\n00:00:00,000 --> 00:00:02,000\nhi\n", "text/vtt")},
    )
    assert refused.status_code == 422 and "WEBVTT" in refused.text
    # For a language without a film: refused too.
    no_film = await client.post(
        f"/campaigns/{published.campaign.id}/items/{published.message.id}/files",
        data={"csrf_token": token, "language": "ar"},
        files={"file": ("captions.vtt", CAPTIONS, "text/vtt")},
    )
    assert no_film.status_code == 422 and "captions belong to a film" in no_film.text
    done = await client.post(
        upload_url,
        data={"csrf_token": token, "language": "ar"},
        files={"file": ("captions.vtt", CAPTIONS, "text/vtt")},
    )
    assert done.status_code == 303, done.text
    await client.post("/logout", data={"csrf_token": token})
    from hub.models import Material, MaterialKind

    async with unit_of_work(db, None, write=False) as session:
        stored = (
            await session.exec(select(Material).where(Material.kind == MaterialKind.captions))
        ).all()
    assert len(stored) == 1  # the refused ones left nothing

    link = await link_for(db, published, "film", "ar")
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as phone:
        page = await phone.get(f"/c/{link.code}")
        [track] = re.findall(r'<track kind="captions" src="([^"]+)" srclang="ar"', page.text)
        captions = await phone.get(track)
    assert captions.status_code == 200 and captions.content == CAPTIONS
    assert captions.headers["content-type"].startswith("text/vtt")
    no_cookie(captions)
