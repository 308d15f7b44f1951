"""Partner pages of campaigns: the inbox, the kit, scripts with the organisation's own films,
sharing a file with a colleague, and the officer's preview."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from hub.db import Database, unit_of_work
from hub.models import (
    FilmSubmission,
    Material,
    Organisation,
    ProcessingStatus,
    Role,
    SubmissionStatus,
    User,
)
from tests.factories import (
    api_token,
    bearer,
    csrf_from,
    login,
    make_contact,
    make_partner,
    make_user,
)
from tests.materials import samples

EN = {"Accept-Language": "en"}
MESSAGE_SO = "Tallaalku waa bilaash.\nKa qaybgal kulanka & keen qoyskaaga!"
MESSAGE_AR = "التطعيم مجاني. تعال مع عائلتك!"
SCRIPT_DA = (
    "Hej, jeg hedder **Amina**.\n\n"
    "<script>alert('x')</script>\n\n"
    "[Klik her](javascript:alert(1)) og [læs mere](https://www.sst.dk/)\n"
)

Browser = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def browser(app: FastAPI) -> Browser:
    """Another browser with its own cookies (a second user signed in at the same time)."""

    @asynccontextmanager
    async def open_browser() -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=EN
        ) as c:
            yield c

    return open_browser


@dataclass
class World:
    officer: dict[str, str]
    officer_user: User
    ours: Organisation
    theirs: Organisation
    partner: User
    outsider: User
    campaign: int
    items: dict[str, int]
    variants: dict[str, int]
    film_material: int


async def _post(client: httpx.AsyncClient, h: dict[str, str], path: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = await client.post(f"/api/v1{path}", json=body or None, headers=h)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


async def _variant(
    client: httpx.AsyncClient, h: dict[str, str], item: int, language: str, **body: object
) -> int:
    response = await client.put(f"/api/v1/items/{item}/variants/{language}", json=body, headers=h)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def _upload(client: httpx.AsyncClient, h: dict[str, str], name: str, content: bytes) -> int:
    uploaded = await client.post(
        "/api/v1/materials", headers=h, files={"file": (name, content, "application/octet-stream")}
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    return int(uploaded.json()["id"])


async def _campaign(
    client: httpx.AsyncClient,
    h: dict[str, str],
    title: str,
    *,
    languages: list[str],
    purpose: str = "",
    publish: bool = True,
) -> int:
    campaign = await _post(
        client,
        h,
        "/campaigns",
        title=title,
        purpose=purpose,
        audience_spec={"languages": languages},
        starts_on="2026-11-01",
        ends_on="2026-12-31",
    )
    await _post(client, h, f"/campaigns/{campaign['id']}/items", kind="message", title="Budskab")
    if publish:
        await _post(client, h, f"/campaigns/{campaign['id']}/publish")
    return int(campaign["id"])


async def _set_film(db: Database, material_id: int, **values: object) -> None:
    async with unit_of_work(db, None) as session:
        material = await session.get(Material, material_id)
        assert material is not None
        for name, value in values.items():
            setattr(material, name, value)
        session.add(material)


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database) -> World:
    officer_user = await make_user(db, role=Role.officer)
    officer = {**bearer(await api_token(client, db, officer_user)), **EN}
    ours = await make_partner(db, name="Somali Kvindeforening", languages=["so", "ar"])
    theirs = await make_partner(db, name="Tyrkisk Forening", languages=["tr"])
    partner = await make_contact(db, ours)
    outsider = await make_contact(db, theirs)

    c = (
        await _post(
            client,
            officer,
            "/campaigns",
            title="Vaccination før vinteren",
            purpose="Flere vaccineret i Gellerup",
            audience_spec={"languages": ["so"]},
            starts_on="2026-11-01",
            ends_on="2026-12-31",
        )
    )["id"]
    items = {}
    for kind, title, extra in (
        ("message", "Budskab til WhatsApp", {}),
        ("film", "Kort film", {}),
        ("script", "Manuskript til egen film", {}),
        ("poster", "Plakat til opgangen", {}),
        (
            "event",
            "Informationsmøde",
            {
                "place": "Beboerhuset",
                "address": "Vestparken 1, 8220 Brabrand",
                "map_url": "https://maps.example.org/?q=Vestparken",
                "starts_at": "2026-12-01T17:00:00+01:00",
                "ends_at": "2026-12-01T19:00:00+01:00",
                "booking_help": "Ring til sundhedshuset",
            },
        ),
    ):
        items[kind] = (
            await _post(client, officer, f"/campaigns/{c}/items", kind=kind, title=title, **extra)
        )["id"]
    variants = {
        "message-so": await _variant(client, officer, items["message"], "so", text=MESSAGE_SO),
        "message-ar": await _variant(client, officer, items["message"], "ar", text=MESSAGE_AR),
        "message-da": await _variant(
            client, officer, items["message"], "da", text="Vaccinen er gratis."
        ),
        "message-en": await _variant(
            client, officer, items["message"], "en", text="The vaccine is free."
        ),
        "message-tr": await _variant(
            client, officer, items["message"], "tr", text="Aşı ücretsizdir."
        ),
        "script-da": await _variant(client, officer, items["script"], "da", text=SCRIPT_DA),
    }
    film = await _upload(client, officer, "film.mp4", samples.mp4())
    variants["film-so"] = await _variant(client, officer, items["film"], "so", material_id=film)
    poster = await _upload(client, officer, "plakat.pdf", samples.pdf())
    variants["poster-so"] = await _variant(
        client, officer, items["poster"], "so", material_id=poster
    )
    await _post(client, officer, f"/campaigns/{c}/publish")
    return World(
        officer=officer,
        officer_user=officer_user,
        ours=ours,
        theirs=theirs,
        partner=partner,
        outsider=outsider,
        campaign=c,
        items=items,
        variants=variants,
        film_material=film,
    )


async def _signed_in(client: httpx.AsyncClient, user: User) -> httpx.AsyncClient:
    client.headers.update(EN)
    response = await login(client, user.email)
    assert response.status_code == 303, response.text
    return client


def _position(page: str, text: str) -> int:
    index = page.find(text)
    assert index >= 0, f"{text!r} not on the page"
    return index


# --- the inbox -------------------------------------------------------------------------------


async def test_the_inbox_lists_only_campaigns_addressed_to_the_organisation(
    client: httpx.AsyncClient, db: Database, world: World, browser: Browser
) -> None:
    officer = world.officer
    ended = await _campaign(client, officer, "Influenza i efteråret", languages=["ar"])
    await _post(client, officer, f"/campaigns/{ended}/close")
    await _campaign(client, officer, "Kladde om mæslinger", languages=["so"], publish=False)
    await _campaign(client, officer, "Kun for tyrkisk", languages=["tr"])

    await _signed_in(client, world.partner)
    page = await client.get("/portal/campaigns")
    assert page.status_code == 200
    text = page.text
    assert "Vaccination før vinteren" in text and "Influenza i efteråret" in text
    assert "Kladde om mæslinger" not in text and "Kun for tyrkisk" not in text
    assert "2 campaigns" in text
    assert f'href="http://testserver/portal/campaigns/{world.campaign}"' in text
    assert "Flere vaccineret i Gellerup" in text
    assert "5 items" in text and "1 item" in text
    # The languages on offer, the organisation's own first.
    assert _position(text, "Arabic, Somali, Danish") > 0
    # Only the ended campaign carries the marker, and it is said in words.
    assert text.count("Ended — materials stay available") == 1
    assert _position(text, "Influenza i efteråret") < _position(
        text, "Ended — materials stay available"
    )

    found = await client.get("/portal/campaigns", params={"q": "influenza"})
    assert "Influenza i efteråret" in found.text and "Vaccination før vinteren" not in found.text
    assert "1 campaign" in found.text
    nothing = await client.get("/portal/campaigns", params={"q": "mæslinger"})
    assert "No campaign matches" in nothing.text and "Kladde om mæslinger" not in nothing.text

    # The Turkish partner sees its own campaign; a partner nobody addressed sees what comes next.
    nobody = await make_partner(db, name="Ny forening", languages=["ur"])
    async with browser() as other:
        await _signed_in(other, await make_contact(db, nobody))
        empty = await other.get("/portal/campaigns")
        assert empty.status_code == 200
        assert "When the municipality publishes a campaign to your organisation" in empty.text
        assert "Vaccination før vinteren" not in empty.text


async def test_the_inbox_pages_through_many_campaigns(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    for number in range(25):
        await _campaign(client, world.officer, f"Bølge {number:02d}", languages=["so"])
    await _signed_in(client, world.partner)
    first = await client.get("/portal/campaigns")
    assert "26 campaigns" in first.text and "Page 1 of 2" in first.text
    assert "Bølge 24" in first.text and "Vaccination før vinteren" not in first.text  # newest first
    second = await client.get("/portal/campaigns", params={"page": 2})
    assert "Vaccination før vinteren" in second.text and "Bølge 24" not in second.text


async def test_staff_are_sent_to_their_own_list_and_strangers_to_sign_in(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, world: World
) -> None:
    for path in (
        "/portal/campaigns",
        f"/portal/campaigns/{world.campaign}",
        f"/portal/campaigns/{world.campaign}/items/{world.items['script']}",
        f"/campaigns/{world.campaign}/preview",
    ):
        response = await anon_client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    await _signed_in(client, world.officer_user)
    inbox = await client.get("/portal/campaigns")
    assert inbox.status_code == 303 and inbox.headers["location"] == "/campaigns"
    kit = await client.get(f"/portal/campaigns/{world.campaign}")
    assert kit.status_code == 303
    assert kit.headers["location"].endswith(f"/campaigns/{world.campaign}/preview")


# --- the kit ---------------------------------------------------------------------------------


async def test_the_kit_puts_the_organisations_languages_first(
    client: httpx.AsyncClient, world: World
) -> None:
    await _signed_in(client, world.partner)
    page = await client.get(f"/portal/campaigns/{world.campaign}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Vaccination før vinteren</h1>" in text
    message = text[_position(text, f'id="item-{world.items["message"]}"') :]
    # Somali and Arabic (the organisation's), then Danish (the item's base language), then the
    # rest behind "Other languages", alphabetically.
    order = [
        _position(message, f'id="variant-{world.variants["message-ar"]}"'),
        _position(message, f'id="variant-{world.variants["message-so"]}"'),
        _position(message, f'id="variant-{world.variants["message-da"]}"'),
        _position(message, "Other languages (2)"),
        _position(message, f'id="variant-{world.variants["message-en"]}"'),
        _position(message, f'id="variant-{world.variants["message-tr"]}"'),
    ]
    assert order == sorted(order)
    assert ">Somali <span" in text and ">Arabic <span" in text  # headed by language name
    # Every piece of content carries its language and direction.
    assert f'id="text-{world.variants["message-ar"]}" lang="ar" dir="rtl"' in text
    assert f'id="text-{world.variants["message-so"]}" lang="so" dir="ltr"' in text
    assert 'lang="da" dir="ltr"' in text
    # The period and the items in order.
    assert "Nov 1, 2026 – Dec 31, 2026" in text
    positions = [_position(text, f'id="item-{world.items[k]}"') for k in world.items]
    assert positions == sorted(positions)
    assert "has ended" not in text


async def test_a_message_can_be_copied_and_shared_on_whatsapp(
    client: httpx.AsyncClient, world: World
) -> None:
    await _signed_in(client, world.partner)
    text = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    vid = world.variants["message-so"]
    # The text, whole, in the element the copy button names.
    block = re.search(
        rf'<div class="kit-text kit-message" id="text-{vid}"[^>]*>(.*?)</div>', text, re.S
    )
    assert block and html.unescape(block.group(1)) == MESSAGE_SO
    # The button is there for the script to reveal: hidden without JavaScript.
    button = re.search(
        rf'<button type="button" class="copy-button" data-copy-target="text-{vid}"([^>]*)>', text
    )
    assert button and "hidden" in button.group(1)
    assert 'role="status" aria-live="polite" data-copied="Copied"' in text
    assert re.search(r'<script src="[^"]*/static/js/copy\.js" defer></script>', text)
    # A link the partner follows to WhatsApp with the text filled in; nothing fetched from it.
    assert f'href="https://wa.me/?text={quote(MESSAGE_SO, safe="")}"' in text
    assert "Share on WhatsApp" in text
    assert "<script>" not in text.replace('<script src="', "")


async def test_a_film_offers_the_whatsapp_ready_version_and_the_original(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    await _set_film(
        db,
        world.film_material,
        processing_status=ProcessingStatus.done,
        whatsapp_key="films/x-whatsapp.mp4",
        whatsapp_size=2_500_000,
        poster_key="films/x-poster.jpg",
    )
    await _signed_in(client, world.partner)
    vid = world.variants["film-so"]
    download = f"http://testserver/api/v1/variants/{vid}/download"
    text = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    assert f'poster="{download}?rendition=poster"' in text
    assert 'controls preload="none"' in text
    assert f'<source src="{download}" type="video/mp4">' in text
    assert f'href="{download}?rendition=whatsapp"' in text
    assert "WhatsApp-ready film (MP4, 2.5 MB)" in text
    size = len(samples.mp4())
    assert f'href="{download}"' in text and f"Original film (MP4, {size} byte" in text

    # While it is being prepared: the original now, and word that the rest is coming.
    await _set_film(
        db,
        world.film_material,
        processing_status=ProcessingStatus.running,
        whatsapp_key=None,
        poster_key=None,
    )
    text = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    assert "being prepared" in text and "rendition=whatsapp" not in text
    assert "rendition=poster" not in text and f'href="{download}"' in text
    # A failure is the municipality's to fix: partners simply get the original.
    await _set_film(db, world.film_material, processing_status=ProcessingStatus.failed)
    text = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    assert "being prepared" not in text and "rendition=whatsapp" not in text
    assert f'href="{download}"' in text


async def test_documents_events_and_scripts_in_the_kit(
    client: httpx.AsyncClient, world: World
) -> None:
    await _signed_in(client, world.partner)
    text = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    poster = world.variants["poster-so"]
    assert f'href="http://testserver/api/v1/variants/{poster}/download" hreflang="so"' in text
    assert f"Download the file (PDF, {len(samples.pdf())} byte" in text
    # The event: time on Copenhagen's clock, place, map link that opens as a plain link.
    # (Babel puts thin and narrow no-break spaces around the dash and before PM.)
    assert "Tuesday, December 1, 2026, 5:00 – 7:00 PM" in re.sub(r"\s", " ", text)
    assert "Beboerhuset" in text and "Vestparken 1, 8220 Brabrand" in text
    assert '<a href="https://maps.example.org/?q=Vestparken" rel="noopener">' in text
    assert "Ring til sundhedshuset" in text
    # The script's Markdown: formatting kept, raw HTML shown as text, no javascript: link.
    assert "<strong>Amina</strong>" in text
    assert "&lt;script&gt;alert(" in text and "<script>alert" not in text
    assert 'href="javascript:' not in text and "[Klik her](javascript:alert(1))" in text
    assert 'href="https://www.sst.dk/"' in text
    script = f"/portal/campaigns/{world.campaign}/items/{world.items['script']}"
    assert f'href="http://testserver{script}#variant-{world.variants["script-da"]}"' in text
    assert "Read the script and record your own film" in text


async def test_an_ended_campaign_says_so_and_keeps_its_materials(
    client: httpx.AsyncClient, world: World
) -> None:
    await _post(client, world.officer, f"/campaigns/{world.campaign}/close")
    await _signed_in(client, world.partner)
    text = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    assert "This campaign has ended." in text and "The materials stay available" in text
    assert MESSAGE_AR in text


# --- scripts and the organisation's own films ------------------------------------------------


async def test_the_script_page_shows_the_script_and_the_organisations_films(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    item = world.items["script"]
    async with unit_of_work(db, None) as session:
        session.add_all(
            [
                FilmSubmission(
                    item_id=item,
                    organisation_id=world.ours.id,  # type: ignore[arg-type]
                    language="so",
                    material_id=world.film_material,
                    status=SubmissionStatus.rejected,
                    reason="Lyden er for svag. Optag venligst igen et stille sted.",
                ),
                FilmSubmission(
                    item_id=item,
                    organisation_id=world.ours.id,  # type: ignore[arg-type]
                    language="ar",
                    material_id=world.film_material,
                ),
                FilmSubmission(
                    item_id=item,
                    organisation_id=world.theirs.id,  # type: ignore[arg-type]
                    language="tr",
                    material_id=world.film_material,
                    status=SubmissionStatus.rejected,
                    reason="Andet forenings hemmelighed",
                ),
            ]
        )
    await _signed_in(client, world.partner)
    page = await client.get(f"/portal/campaigns/{world.campaign}/items/{item}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Manuskript til egen film</h1>" in text
    assert "<strong>Amina</strong>" in text and "&lt;script&gt;" in text
    assert 'href="javascript:' not in text
    assert "Record your own film" in text and "horizontally" in text and "1 to 3 minutes" in text
    upload = f"/portal/campaigns/{world.campaign}/items/{item}/films/new"
    assert f'href="http://testserver{upload}"' in text
    # Its own films, newest first, with the status in words and the reason for a rejection.
    assert _position(text, "Waiting for review") < _position(text, "Not approved")
    assert "Lyden er for svag. Optag venligst igen et stille sted." in text
    assert "Andet forenings hemmelighed" not in text

    # Other kinds of item have no page of their own: back to the kit, at the item.
    film = await client.get(f"/portal/campaigns/{world.campaign}/items/{world.items['film']}")
    assert film.status_code == 303
    assert film.headers["location"].endswith(
        f"/portal/campaigns/{world.campaign}#item-{world.items['film']}"
    )
    # An item of another campaign is not found under this one.
    other = await _campaign(client, world.officer, "Anden kampagne", languages=["so"])
    assert (await client.get(f"/portal/campaigns/{other}/items/{item}")).status_code == 404


# --- another organisation --------------------------------------------------------------------


async def test_a_partner_of_another_organisation_gets_404_everywhere(
    client: httpx.AsyncClient, world: World
) -> None:
    await _signed_in(client, world.outsider)
    token = csrf_from((await client.get("/portal/campaigns")).text)
    for path in (
        f"/portal/campaigns/{world.campaign}",
        f"/portal/campaigns/{world.campaign}/items/{world.items['script']}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Vaccination før vinteren" not in response.text
    share = await client.post(
        f"/portal/campaigns/{world.campaign}/variants/{world.variants['poster-so']}/share",
        data={"csrf_token": token},
    )
    assert share.status_code == 404 and "/d/" not in share.text
    assert (await client.get(f"/campaigns/{world.campaign}/preview")).status_code == 403


# --- sharing a file --------------------------------------------------------------------------


async def test_sharing_a_file_gives_a_link_that_works_without_an_account(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, world: World
) -> None:
    await _signed_in(client, world.partner)
    kit = (await client.get(f"/portal/campaigns/{world.campaign}")).text
    vid = world.variants["poster-so"]
    action = f"/portal/campaigns/{world.campaign}/variants/{vid}/share"
    assert f'action="http://testserver{action}#share-{vid}"' in kit
    # Texts have nothing to share as a file.
    assert f"/variants/{world.variants['message-so']}/share" not in kit

    refused = await client.post(action, data={"csrf_token": "forged"})
    assert refused.status_code == 403
    shared = await client.post(action, data={"csrf_token": csrf_from(kit)})
    assert shared.status_code == 200
    match = re.search(
        rf'<input id="shared-url-{vid}" type="text" readonly value="(http://testserver/d/[^"]+)"',
        shared.text,
    )
    assert match, shared.text
    assert f'data-copy-target="shared-url-{vid}"' in shared.text
    assert "without an account until" in shared.text
    response = await anon_client.get(match.group(1).removeprefix("http://testserver"))
    assert response.status_code == 200 and response.content == samples.pdf()

    # A variant of another campaign is not shared through this one; a text has no file.
    other = await _campaign(client, world.officer, "Anden kampagne", languages=["so"])
    for path in (
        f"/portal/campaigns/{other}/variants/{vid}/share",
        f"/portal/campaigns/{world.campaign}/variants/{world.variants['message-so']}/share",
    ):
        response = await client.post(path, data={"csrf_token": csrf_from(kit)})
        assert response.status_code == 404, path


# --- the officer's preview -------------------------------------------------------------------


async def test_officers_preview_the_kit_as_an_organisation_sees_it(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    officer = world.officer
    draft = await _campaign(client, officer, "Kladde", languages=["so", "tr"], publish=False)
    item = (await client.get(f"/api/v1/campaigns/{draft}/items", headers=officer)).json()[0]
    ids = {
        code: await _variant(client, officer, item["id"], code, text=f"Tekst {code}")
        for code in ("da", "so", "tr")
    }
    await _signed_in(client, world.officer_user)

    page = await client.get(f"/campaigns/{world.campaign}/preview")
    assert page.status_code == 200
    text = page.text
    assert "Preview — this is what partners see" in text
    assert re.search(rf'href="(http://testserver)?/campaigns/{world.campaign}"', text)
    # Only the organisations the published campaign addresses.
    assert "Somali Kvindeforening" in text and "Tyrkisk Forening" not in text
    assert "/share" not in text  # nothing to share in a preview
    assert MESSAGE_SO in html.unescape(text)
    assert "not see this campaign until" not in text

    # A draft, as each organisation its audience would reach sees it (the first by default).
    first = await client.get(f"/campaigns/{draft}/preview")
    assert first.status_code == 200
    assert "Partners do not see this campaign until it is published." in first.text
    assert f'<option value="{world.ours.id}" selected>' in first.text
    assert f'<option value="{world.theirs.id}" >' in first.text
    assert _position(first.text, f'id="variant-{ids["so"]}"') < _position(
        first.text, f'id="variant-{ids["tr"]}"'
    )
    turkish = await client.get(
        f"/campaigns/{draft}/preview", params={"organisation_id": str(world.theirs.id)}
    )
    assert f'<option value="{world.theirs.id}" selected>' in turkish.text
    order = [_position(turkish.text, f'id="variant-{ids[c]}"') for c in ("tr", "da", "so")]
    assert order == sorted(order)
    # Someone it does not address: the default instead.
    stranger = await client.get(f"/campaigns/{draft}/preview", params={"organisation_id": "999"})
    assert f'<option value="{world.ours.id}" selected>' in stranger.text

    # Partners have no preview; nor do they see a draft.
    await _signed_in(client, world.partner)
    assert (await client.get(f"/campaigns/{world.campaign}/preview")).status_code == 403
    assert (await client.get(f"/campaigns/{draft}/preview")).status_code == 403
    assert (await client.get(f"/portal/campaigns/{draft}")).status_code == 404
