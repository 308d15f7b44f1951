"""Officer pages of campaigns: the list, creating and editing, the composer (coverage, items,
text and file variants, uploads with and without JavaScript), the life cycle through its forms,
and who may open them."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import select

from hub.audiences import service as audiences
from hub.audiences.service import AudienceSpec
from hub.campaigns import service as campaigns
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.main import create_app
from hub.materials.storage import LocalStorage
from hub.models import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    ItemKind,
    ItemVariant,
    Material,
    Role,
    User,
    VariantVersion,
)
from tests.factories import csrf_from, csrf_token, login, make_contact, make_partner, make_user
from tests.materials import samples

EN = {"Accept-Language": "en"}
XHR = {"X-Requested-With": "XMLHttpRequest", **EN}
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
async def officer(client: httpx.AsyncClient, db: Database) -> User:
    user = await make_user(db, role=Role.officer, name="Olga Officer")
    await login(client, user.email)
    client.headers.update(EN)
    return user


async def make_campaign(
    db: Database,
    owner: User,
    *,
    title: str = "Vaccination før vinteren",
    purpose: str = "",
    audience_languages: list[str] | None = None,
    items: list[tuple[ItemKind, str]] | None = None,
    status: CampaignStatus | None = None,
) -> tuple[int, list[int]]:
    """A campaign (with a saved audience when languages are given) and its items' ids."""
    async with unit_of_work(db, None) as session:
        audience_id = None
        if audience_languages is not None:
            audience = await audiences.save_audience(
                session,
                name=f"Audience of {title}",
                spec=AudienceSpec(languages=audience_languages),
                created_by=owner,
            )
            audience_id = audience.id
        campaign = await campaigns.create_campaign(
            session, owner=owner, title=title, purpose=purpose, audience_id=audience_id
        )
        item_ids = []
        for kind, item_title in items or []:
            item = await campaigns.create_item(session, campaign, kind=kind, title=item_title)
            item_ids.append(item.id)
        if status in (CampaignStatus.published, CampaignStatus.closed):
            await campaigns.publish_campaign(session, campaign)
        if status is CampaignStatus.closed:
            await campaigns.close_campaign(session, campaign)
        if status is CampaignStatus.scheduled:
            await campaigns.schedule_campaign(
                session, campaign, publish_at=datetime.now(UTC) + timedelta(days=3)
            )
        return campaign.id, item_ids  # type: ignore[return-value]


async def load(db: Database, model: Any, row_id: int) -> Any:
    async with unit_of_work(db, None, write=False) as session:
        return await session.get(model, row_id)


async def rows(db: Database, model: Any) -> list[Any]:
    async with unit_of_work(db, None, write=False) as session:
        return list((await session.exec(select(model))).all())


def html(response: httpx.Response) -> str:
    """The page, with its links relative (url_for writes them absolute)."""
    return response.text.replace("http://testserver/", "/")


def field_error(html: str, field_id: str) -> str:
    """The text of the error shown beside a field ("" when none is shown)."""
    match = re.search(
        rf'<p class="field-error" id="{re.escape(field_id)}-error"([^>]*)>([^<]*)<', html
    )
    if match is None or "hidden" in match.group(1):
        return ""
    return match.group(2).strip()


def upload_body(token: str | None, language: str, name: str, content: bytes) -> dict[str, Any]:
    data = {"language": language}
    if token is not None:
        data["csrf_token"] = token
    return {"data": data, "files": {"file": (name, content, "application/octet-stream")}}


def media_files(settings: Settings) -> list[Path]:
    root = settings.media_root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- the list --------------------------------------------------------------------------------


async def test_the_list_filters_by_status_counts_each_and_searches(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    empty = await client.get("/campaigns")
    assert empty.status_code == 200
    assert "No campaigns yet." in html(empty) and 'href="/campaigns/new"' in html(empty)

    await make_partner(db, languages=["so"])
    winter, _items = await make_campaign(db, officer, title="Vinter i Gellerup")
    await make_campaign(
        db,
        officer,
        title="Sommer i Vollsmose",
        purpose="Flere vaccinerede unge",
        audience_languages=["so"],
        items=[(ItemKind.message, "Budskab")],
        status=CampaignStatus.published,
    )
    await make_campaign(
        db,
        officer,
        title="Efterår",
        audience_languages=["so"],
        items=[(ItemKind.film, "Film"), (ItemKind.poster, "Plakat")],
        status=CampaignStatus.scheduled,
    )

    listing = await client.get("/campaigns")
    text = html(listing)
    assert "3 campaigns" in text
    assert re.search(r"All <span class=\"count\">\(3\)</span>", text)
    for label, count in (("Draft", 1), ("Scheduled", 1), ("Published", 1), ("Closed", 0)):
        assert re.search(rf"{label} <span class=\"count\">\({count}\)</span>", text), label
    assert f'href="/campaigns/{winter}"' in text
    assert "Olga Officer" in text and "Audience of Efterår" in text and "No audience yet" in text
    assert "Publishes " in text  # the scheduled one says when

    drafts = await client.get("/campaigns?status=draft")
    assert "Vinter i Gellerup" in html(drafts) and "Sommer i Vollsmose" not in html(drafts)
    assert '<a href="/campaigns?status=draft" aria-current="page"' in html(drafts)

    found = await client.get("/campaigns?q=UNGE")  # the purpose is searched, too
    assert "Sommer i Vollsmose" in html(found) and "Vinter i Gellerup" not in html(found)
    assert "1 campaign" in html(found)
    nothing = await client.get("/campaigns?q=vinter&status=published")
    assert "No campaign matches this search or status." in html(nothing)


async def test_the_list_pages_by_25(client: httpx.AsyncClient, db: Database, officer: User) -> None:
    async with unit_of_work(db, None) as session:
        for n in range(27):
            await campaigns.create_campaign(session, owner=officer, title=f"Kampagne {n:02d}")
    first = await client.get("/campaigns")
    assert "Page 1 of 2" in html(first) and html(first).count('href="/campaigns/') >= 25
    assert 'href="/campaigns?page=2"' in html(first)
    second = await client.get("/campaigns?page=2")
    assert "Page 2 of 2" in html(second)
    assert "Kampagne 00" in html(second) and "Kampagne 26" not in html(second)


# --- creating and editing --------------------------------------------------------------------


async def test_creating_a_campaign_keeps_the_input_and_shows_errors_beside_fields(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    async with unit_of_work(db, None) as session:
        saved = await audiences.save_audience(
            session,
            name="Somaliske foreninger",
            spec=AudienceSpec(languages=["so"]),
            created_by=officer,
        )
    form = await client.get("/campaigns/new")
    assert form.status_code == 200
    assert "Somaliske foreninger" in html(form) and "No audience yet" in html(form)
    token = csrf_from(html(form))

    no_title = await client.post(
        "/campaigns/new",
        data={"csrf_token": token, "title": " ", "purpose": "Flere vaccinerede", "audience_id": ""},
    )
    assert no_title.status_code == 400
    assert field_error(html(no_title), "title")
    assert "Flere vaccinerede" in html(no_title)  # input kept

    backwards = await client.post(
        "/campaigns/new",
        data={
            "csrf_token": token,
            "title": "Vinter",
            "starts_on": "2030-03-01",
            "ends_on": "2030-02-01",
            "audience_id": str(saved.id),
        },
    )
    assert backwards.status_code == 400
    assert field_error(html(backwards), "ends_on") == "The campaign cannot end before it starts."
    assert 'value="2030-03-01"' in html(backwards)
    assert f'<option value="{saved.id}" selected>' in html(backwards)

    not_a_date = await client.post(
        "/campaigns/new",
        data={"csrf_token": token, "title": "Vinter", "starts_on": "1. marts", "audience_id": "x"},
    )
    assert not_a_date.status_code == 400
    assert field_error(html(not_a_date), "starts_on") and field_error(
        html(not_a_date), "audience_id"
    )
    assert await rows(db, Campaign) == []

    created = await client.post(
        "/campaigns/new",
        data={
            "csrf_token": token,
            "title": "Vinter",
            "purpose": "Flere vaccinerede",
            "starts_on": "2030-02-01",
            "ends_on": "2030-03-01",
            "audience_id": str(saved.id),
        },
    )
    assert created.status_code == 303
    (campaign,) = await rows(db, Campaign)
    assert created.headers["location"] == f"/campaigns/{campaign.id}?done=campaign-created"
    assert campaign.audience_id == saved.id and campaign.owner_id == officer.id
    composer = await client.get(f"/campaigns/{campaign.id}")
    assert composer.status_code == 200
    assert "Vinter" in html(composer) and "Somaliske foreninger" in html(composer)
    assert "Preview as a partner sees it" in html(composer)
    assert f'href="/campaigns/{campaign.id}/preview"' in html(composer)


async def test_editing_the_details_and_a_published_campaigns_fixed_audience(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    await make_partner(db, languages=["so"])
    campaign_id, _items = await make_campaign(
        db, officer, audience_languages=["so"], items=[(ItemKind.message, "Budskab")]
    )
    edit = await client.get(f"/campaigns/{campaign_id}/edit")
    assert 'value="Vaccination før vinteren"' in html(edit)
    assert 'id="audience_id"' in html(edit)
    saved = await client.post(
        f"/campaigns/{campaign_id}/edit",
        data={
            "csrf_token": csrf_from(html(edit)),
            "title": "Vaccination i vinter",
            "purpose": "Nyt formål",
            "audience_id": "",
        },
    )
    assert saved.status_code == 303
    campaign = await load(db, Campaign, campaign_id)
    assert (campaign.title, campaign.purpose, campaign.audience_id) == (
        "Vaccination i vinter",
        "Nyt formål",
        None,
    )

    published_id, _items = await make_campaign(
        db,
        officer,
        title="Udgivet",
        audience_languages=["so"],
        items=[(ItemKind.message, "Budskab")],
        status=CampaignStatus.published,
    )
    edit = await client.get(f"/campaigns/{published_id}/edit")
    assert 'id="audience_id"' not in html(edit)
    assert "The audience is fixed once the campaign is published." in html(edit)
    renamed = await client.post(
        f"/campaigns/{published_id}/edit",
        data={"csrf_token": csrf_from(html(edit)), "title": "Udgivet igen", "purpose": ""},
    )
    assert renamed.status_code == 303
    assert (await load(db, Campaign, published_id)).title == "Udgivet igen"


# --- the composer ----------------------------------------------------------------------------


async def test_the_composer_shows_the_coverage_matrix_and_the_languages_nobody_covers(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    await make_partner(db, languages=["so", "da"])
    await make_partner(db, languages=["ar"])
    campaign_id, (message, _film) = await make_campaign(
        db,
        officer,
        audience_languages=[],  # every active partner: Arabic, Danish, Somali
        items=[(ItemKind.message, "Budskab"), (ItemKind.film, "Filmen")],
    )
    async with unit_of_work(db, None) as session:
        campaign = await session.get(Campaign, campaign_id)
        item = await session.get(CampaignItem, message)
        assert campaign and item
        await campaigns.set_variant(session, campaign, item, language="da", text="Bliv vaccineret")
        await campaigns.set_variant(session, campaign, item, language="ar", text="احصل على اللقاح")

    page = await client.get(f"/campaigns/{campaign_id}")
    text = html(page)
    assert page.status_code == 200
    table = text[text.index('<table class="coverage">') : text.index("</table>")]
    for name, code in (("Arabic", "ar"), ("Danish", "da"), ("Somali", "so")):
        assert re.search(rf'<th scope="col" class="cov-language">{name}', table), name
        assert f'lang="{code}"' in table
    assert '<th scope="row"><a href="#item-' in table
    # Cells say what is there in words (the symbol is hidden from screen readers).
    assert table.count("Text<") + table.count("Text</td>") >= 2
    assert "Missing" in table and "(needed by the audience)" in table
    assert 'class="cov cov-missing cov-gap"' in table
    # The warning names the languages and the items, in words.
    warning = text[text.index('id="coverage-warning"') :]
    warning = warning[: warning.index("</div>")]
    assert "Somali: no version of Budskab, Filmen." in warning
    assert "Arabic: no version of Filmen." in warning
    assert "Danish: no version of Filmen." in warning
    # Texts carry their language and direction.
    assert '<div class="composer-text" lang="ar" dir="rtl">' in text
    assert '<div class="composer-text" lang="da" dir="ltr">' in text
    assert 'src="/static/js/upload.js"' in text
    danish = {"Accept-Language": "da"}
    assert (await client.get(f"/campaigns/{campaign_id}", headers=danish)).status_code == 200
    assert (await client.get("/campaigns", headers=danish)).status_code == 200


async def test_a_campaign_without_audience_or_items_says_what_to_do(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    campaign_id, _items = await make_campaign(db, officer)
    page = await client.get(f"/campaigns/{campaign_id}")
    assert "No items yet." in html(page)
    assert "Choose the campaign's audience to see which languages it needs." in html(page)
    assert "Only for events" in html(page)  # the add-item form's event fieldset


async def test_items_are_added_edited_and_deleted_through_the_forms(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    campaign_id, _items = await make_campaign(db, officer)
    page = await client.get(f"/campaigns/{campaign_id}")
    token = csrf_from(html(page))

    no_kind = await client.post(
        f"/campaigns/{campaign_id}/items",
        data={"csrf_token": token, "kind": "", "title": "Noget", "base_language": "da"},
    )
    assert no_kind.status_code == 400
    assert field_error(html(no_kind), "new-item-kind") == "Choose what kind of item this is."
    assert 'value="Noget"' in html(no_kind)
    place_on_message = await client.post(
        f"/campaigns/{campaign_id}/items",
        data={"csrf_token": token, "kind": "message", "title": "Budskab", "place": "Hallen"},
    )
    assert place_on_message.status_code == 400
    assert "belong to events only" in field_error(html(place_on_message), "new-item-kind")
    assert await rows(db, CampaignItem) == []

    event = await client.post(
        f"/campaigns/{campaign_id}/items",
        data={
            "csrf_token": token,
            "kind": "event",
            "title": "Informationsmøde",
            "base_language": "da",
            "fallback_language": "en",
            "starts_at": "2030-03-01T17:00",
            "ends_at": "2030-03-01T19:00",
            "place": "Beboerhuset",
            "address": "Gellerupvej 1, Aarhus",
            "map_url": "https://example.org/map",
            "booking_help": "Ring til os",
        },
    )
    assert event.status_code == 303
    (item,) = await rows(db, CampaignItem)
    assert event.headers["location"] == f"/campaigns/{campaign_id}?done=item-added#item-{item.id}"
    # Typed in Copenhagen time (winter: UTC+1), kept in UTC.
    assert item.starts_at == datetime(2030, 3, 1, 16, 0, tzinfo=UTC)
    assert (item.place, item.fallback_language) == ("Beboerhuset", "en")
    composer = await client.get(f"/campaigns/{campaign_id}")
    assert "Beboerhuset" in html(composer) and "Ring til os" in html(composer)

    edit = await client.get(f"/campaigns/{campaign_id}/items/{item.id}/edit")
    assert 'value="2030-03-01T17:00"' in html(edit) and 'value="Beboerhuset"' in html(edit)
    backwards = await client.post(
        f"/campaigns/{campaign_id}/items/{item.id}/edit",
        data={
            "csrf_token": token,
            "title": "Informationsmøde",
            "base_language": "da",
            "starts_at": "2030-03-01T17:00",
            "ends_at": "2030-03-01T16:00",
        },
    )
    assert backwards.status_code == 400
    assert field_error(html(backwards), "ends_at") == "The event cannot end before it starts."
    saved = await client.post(
        f"/campaigns/{campaign_id}/items/{item.id}/edit",
        data={
            "csrf_token": token,
            "title": "Møde med lægen",
            "base_language": "ar",
            "fallback_language": "",
            "starts_at": "2030-07-01T17:00",
            "ends_at": "",
            "place": "Moskéen",
        },
    )
    assert saved.status_code == 303
    item = await load(db, CampaignItem, item.id)
    assert (item.title, item.base_language, item.fallback_language) == (
        "Møde med lægen",
        "ar",
        None,
    )
    assert item.starts_at == datetime(2030, 7, 1, 15, 0, tzinfo=UTC)  # summer: UTC+2
    assert item.ends_at is None and item.address is None

    confirm = await client.get(f"/campaigns/{campaign_id}/items/{item.id}/delete")
    assert confirm.status_code == 200 and "Møde med lægen" in html(confirm)
    deleted = await client.post(
        f"/campaigns/{campaign_id}/items/{item.id}/delete",
        data={"csrf_token": csrf_from(html(confirm))},
    )
    assert deleted.status_code == 303
    assert await rows(db, CampaignItem) == []


async def test_deleting_an_item_of_a_published_campaign_is_refused_on_the_page(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    await make_partner(db, languages=["so"])
    campaign_id, (item_id,) = await make_campaign(
        db,
        officer,
        audience_languages=["so"],
        items=[(ItemKind.message, "Budskab")],
        status=CampaignStatus.published,
    )
    composer = await client.get(f"/campaigns/{campaign_id}")
    assert f"/items/{item_id}/delete" not in html(composer)  # not offered
    refused = await client.post(
        f"/campaigns/{campaign_id}/items/{item_id}/delete",
        data={"csrf_token": csrf_from(html(composer))},
    )
    assert refused.status_code == 409
    assert "Items of a published campaign cannot be deleted" in html(refused)
    assert len(await rows(db, CampaignItem)) == 1

    # Its texts can still be corrected, but a language version cannot be deleted.
    token = csrf_from(html(composer))
    corrected = await client.post(
        f"/campaigns/{campaign_id}/items/{item_id}/variants",
        data={"csrf_token": token, "language": "so", "text": "Talaal"},
    )
    assert corrected.status_code == 303
    composer = await client.get(f"/campaigns/{campaign_id}")
    assert f"/items/{item_id}/variants/so/delete" not in html(composer)
    kept = await client.post(
        f"/campaigns/{campaign_id}/items/{item_id}/variants/so/delete", data={"csrf_token": token}
    )
    assert kept.status_code == 409
    assert "Variants of a published campaign cannot be deleted" in html(kept)
    assert len(await rows(db, ItemVariant)) == 1


async def test_text_variants_are_set_edited_and_deleted(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    campaign_id, (script,) = await make_campaign(
        db, officer, items=[(ItemKind.script, "Manuskript")]
    )
    page = await client.get(f"/campaigns/{campaign_id}")
    token = csrf_from(html(page))
    assert "Markdown is allowed" in html(page)

    empty = await client.post(
        f"/campaigns/{campaign_id}/items/{script}/variants",
        data={"csrf_token": token, "language": "so", "text": "  "},
    )
    assert empty.status_code == 400
    assert (
        field_error(html(empty), f"text-{script}-text") == "A variant needs a text, a file or both."
    )
    bad_language = await client.post(
        f"/campaigns/{campaign_id}/items/{script}/variants",
        data={"csrf_token": token, "language": "xx", "text": "Hej"},
    )
    assert bad_language.status_code == 400
    assert field_error(html(bad_language), f"text-{script}-language")
    assert ">Hej</textarea>" in html(bad_language)

    saved = await client.post(
        f"/campaigns/{campaign_id}/items/{script}/variants",
        data={"csrf_token": token, "language": "so", "text": "# Tallaabo\n\n- **Hal** tallaabo"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"].endswith(f"?done=variant-saved#item-{script}")
    composer = await client.get(f"/campaigns/{campaign_id}")
    assert '<div class="composer-text" lang="so" dir="ltr">' in html(composer)
    assert "<strong>Hal</strong>" in html(composer)  # Markdown of a script is rendered

    edit = await client.get(f"/campaigns/{campaign_id}/items/{script}/variants/so")
    assert edit.status_code == 200
    assert "# Tallaabo\n\n- **Hal** tallaabo</textarea>" in html(edit)
    changed = await client.post(
        f"/campaigns/{campaign_id}/items/{script}/variants",
        data={"csrf_token": token, "language": "so", "text": "Qoraal cusub", "page": "variant"},
    )
    assert changed.status_code == 303
    (variant,) = await rows(db, ItemVariant)
    assert html(variant) == "Qoraal cusub" and variant.version == 1
    assert (
        await client.get(f"/campaigns/{campaign_id}/items/{script}/variants/ar")
    ).status_code == 404

    confirm = await client.get(f"/campaigns/{campaign_id}/items/{script}/variants/so/delete")
    assert confirm.status_code == 200 and "Delete the Somali version" in html(confirm)
    deleted = await client.post(
        f"/campaigns/{campaign_id}/items/{script}/variants/so/delete",
        data={"csrf_token": csrf_from(html(confirm))},
    )
    assert deleted.status_code == 303
    assert await rows(db, ItemVariant) == []


# --- uploads ---------------------------------------------------------------------------------


async def test_a_file_is_uploaded_without_and_with_javascript_and_replacing_it_makes_version_2(
    client: httpx.AsyncClient, db: Database, officer: User, settings: Settings
) -> None:
    campaign_id, (film,) = await make_campaign(db, officer, items=[(ItemKind.film, "Filmen")])
    page = await client.get(f"/campaigns/{campaign_id}")
    form_start = html(page).index(f'action="/campaigns/{campaign_id}/items/{film}/files"')
    assert 'enctype="multipart/form-data"' in html(page)[form_start : form_start + 200]
    token = csrf_from(html(page))
    url = f"/campaigns/{campaign_id}/items/{film}/files"

    # Without JavaScript: an ordinary form post and a redirect.
    first = await client.post(url, **upload_body(token, "so", "film.mp4", samples.mp4()))
    assert first.status_code == 303, html(first)
    assert first.headers["location"] == f"/campaigns/{campaign_id}?done=file-uploaded#item-{film}"
    (material,) = await rows(db, Material)
    (variant,) = await rows(db, ItemVariant)
    assert (variant.language, variant.material_id, variant.version) == ("so", material.id, 1)
    assert material.original_filename == "film.mp4" and material.uploaded_by_id == officer.id
    composer = await client.get(f"/campaigns/{campaign_id}")
    assert "Download film.mp4" in html(composer)
    assert "Processing: waiting to start." in html(composer)
    assert f'href="/api/v1/materials/{material.id}/download"' in html(composer)
    # processing.js follows the film from the material's JSON, which the officer may read.
    poll = f'data-processing-url="/api/v1/materials/{material.id}"'
    assert poll in html(composer) and "js/processing.js" in html(composer)
    described = await client.get(f"/api/v1/materials/{material.id}")
    assert described.json()["processing_status"] == "pending"

    # With JavaScript (upload.js): JSON that says where to go.
    second = await client.post(
        url,
        headers=XHR,
        **upload_body(token, "so", "film rettet.mp4", samples.mp4(payload=b"\x01" * 64)),
    )
    assert second.status_code == 200, html(second)
    assert second.json() == {"redirect": f"/campaigns/{campaign_id}?done=file-uploaded#item-{film}"}
    variant = await load(db, ItemVariant, variant.id)
    assert variant.version == 2 and variant.material_id != material.id
    (old,) = await rows(db, VariantVersion)
    assert (old.version, old.material_id, old.replaced_by_id) == (1, material.id, officer.id)

    composer = await client.get(f"/campaigns/{campaign_id}")
    assert "version 2" in html(composer) and "Download film rettet.mp4" in html(composer)
    earlier = html(composer)[html(composer).index("Earlier versions") :]
    assert "Version 1" in earlier
    old_link = f'href="/api/v1/materials/{material.id}/download"'
    assert old_link in earlier
    download = await client.get(f"/api/v1/materials/{material.id}/download")
    assert download.status_code == 200 and download.content == samples.mp4()
    # The coverage matrix counts the file.
    table = html(composer)[html(composer).index('<table class="coverage">') :]
    assert 'class="cov cov-file"' in table[: table.index("</table>")]


async def test_a_finished_film_shows_its_poster_frame_and_a_failed_one_its_error(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    campaign_id, (film,) = await make_campaign(db, officer, items=[(ItemKind.film, "Filmen")])
    page = await client.get(f"/campaigns/{campaign_id}")
    url = f"/campaigns/{campaign_id}/items/{film}/files"
    token = csrf_from(html(page))
    await client.post(url, **upload_body(token, "da", "a.mp4", samples.mp4()))
    await client.post(url, **upload_body(token, "ar", "b.mp4", samples.mp4(payload=b"\x02" * 64)))
    done, failed = sorted(await rows(db, Material), key=lambda m: m.id)
    async with unit_of_work(db, None) as session:
        for material in (done, failed):
            session.add(material)
        done.processing_status, done.duration_seconds = "done", 92.4
        done.width, done.height, done.poster_key = 1920, 1080, "poster-key.jpg"
        failed.processing_status, failed.processing_error = "failed", "No video stream"
    composer = await client.get(f"/campaigns/{campaign_id}")
    assert "Processed: 1:32 min, 1920 × 1080" in html(composer)
    assert f'src="/api/v1/materials/{done.id}/download?rendition=poster"' in html(composer)
    assert 'alt="Poster frame of Filmen (Danish)"' in html(composer)
    assert "Processing failed: No video stream" in html(composer)


async def test_a_disguised_file_is_refused_beside_the_field_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, officer: User, settings: Settings
) -> None:
    campaign_id, (poster, other) = await make_campaign(
        db, officer, items=[(ItemKind.poster, "Plakat"), (ItemKind.flyer, "Folder")]
    )
    page = await client.get(f"/campaigns/{campaign_id}")
    token = csrf_from(html(page))
    disguised = b"<!doctype html><html><script>alert(1)</script></html>"
    url = f"/campaigns/{campaign_id}/items/{poster}/files"

    refused = await client.post(url, **upload_body(token, "ar", "plakat.png", disguised))
    assert refused.status_code == 422
    message = field_error(html(refused), f"file-{poster}-file")
    assert message, "no message beside the file field"
    assert field_error(html(refused), f"file-{other}-file") == ""  # only beside that item's
    assert re.search(rf'id="file-{poster}-file"[^>]*aria-invalid="true"', html(refused), re.S)
    # The form could not be read: the officer chooses the language again (none is assumed).
    select = html(refused)[html(refused).index(f'id="file-{poster}-language"') :]
    assert select[: select.index("</select>")].count("selected") == 0
    assert '<option value="">Choose the language</option>' in select

    as_json = await client.post(
        url, headers=XHR, **upload_body(token, "ar", "plakat.png", disguised)
    )
    assert as_json.status_code == 422
    assert as_json.json()["detail"] == message
    assert as_json.json()["errors"] == [{"field": "file", "message": message}]

    bad_language = await client.post(
        url, headers=XHR, **upload_body(token, "arabic", "plakat.png", samples.png())
    )
    assert bad_language.status_code == 422
    assert bad_language.json()["errors"][0]["field"] == "language"
    no_language = await client.post(url, **upload_body(token, "", "plakat.png", samples.png()))
    assert no_language.status_code == 422
    assert field_error(html(no_language), f"file-{poster}-language") == (
        "Choose the language of the file."
    )
    not_allowed = await client.post(url, **upload_body(token, "ar", "plakat.exe", b"MZ\x90\x00"))
    assert not_allowed.status_code == 422
    assert "cannot be uploaded" in field_error(html(not_allowed), f"file-{poster}-file")

    assert await rows(db, Material) == [] and await rows(db, ItemVariant) == []
    assert media_files(settings) == []


async def test_an_upload_without_a_valid_csrf_token_is_refused_and_leaves_nothing(
    client: httpx.AsyncClient, db: Database, officer: User, settings: Settings
) -> None:
    campaign_id, (poster,) = await make_campaign(db, officer, items=[(ItemKind.poster, "Plakat")])
    await client.get(f"/campaigns/{campaign_id}")  # the CSRF cookie
    url = f"/campaigns/{campaign_id}/items/{poster}/files"
    for token in (None, "", "0" * 64):
        refused = await client.post(url, **upload_body(token, "da", "plakat.png", samples.png()))
        assert refused.status_code == 403, token
        assert "The form has expired" in html(refused)
        as_json = await client.post(
            url, headers=XHR, **upload_body(token, "da", "plakat.png", samples.png())
        )
        assert as_json.status_code == 403 and "expired" in as_json.json()["detail"]
    assert LocalStorage(settings.media_root).temp_files() == []
    assert media_files(settings) == []
    assert await rows(db, Material) == [] and await rows(db, ItemVariant) == []


@pytest.fixture
async def small_cap_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"max_upload_mb": 1}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_a_file_over_the_cap_is_refused_beside_the_field(
    small_cap_client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    client = small_cap_client
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    campaign_id, (film,) = await make_campaign(db, officer, items=[(ItemKind.film, "Filmen")])
    page = await client.get(f"/campaigns/{campaign_id}", headers=EN)
    assert "at most 1 MiB" in html(page)
    token = csrf_from(html(page))
    too_large = samples.mp4(os.urandom(1024 * 1024 + 512 * 1024))
    url = f"/campaigns/{campaign_id}/items/{film}/files"

    refused = await client.post(url, headers=EN, **upload_body(token, "da", "film.mp4", too_large))
    assert refused.status_code == 413
    assert "larger than 1 MiB" in field_error(html(refused), f"file-{film}-file")
    as_json = await client.post(url, headers=XHR, **upload_body(token, "da", "f.mp4", too_large))
    assert as_json.status_code == 413 and "larger than 1 MiB" in as_json.json()["detail"]
    assert await rows(db, Material) == [] and media_files(settings) == []


async def test_an_upload_that_is_not_multipart_is_refused(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    campaign_id, (poster,) = await make_campaign(db, officer, items=[(ItemKind.poster, "Plakat")])
    page = await client.get(f"/campaigns/{campaign_id}")
    refused = await client.post(
        f"/campaigns/{campaign_id}/items/{poster}/files",
        data={"csrf_token": csrf_from(html(page)), "language": "da"},
    )
    assert refused.status_code == 400
    assert field_error(html(refused), f"file-{poster}-file")


# --- the life cycle --------------------------------------------------------------------------


async def test_every_life_cycle_action_through_the_forms(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    partner = await make_partner(db, languages=["so"])
    campaign_id, _items = await make_campaign(
        db, officer, audience_languages=["so"], items=[(ItemKind.message, "Budskab")]
    )
    url = f"/campaigns/{campaign_id}/status"
    page = await client.get(f"/campaigns/{campaign_id}")
    token = csrf_from(html(page))
    assert 'name="publish_at" type="datetime-local"' in html(page)

    async def act(action: str, **fields: str) -> httpx.Response:
        return await client.post(url, data={"csrf_token": token, "action": action, **fields})

    async def status() -> str:
        return str((await load(db, Campaign, campaign_id)).status)

    past = await act("schedule", publish_at="2001-01-01T10:00")
    assert past.status_code == 400
    assert field_error(html(past), "publish_at") == "Choose a time in the future."
    assert 'value="2001-01-01T10:00"' in html(past)
    garbled = await act("schedule", publish_at="tomorrow")
    assert garbled.status_code == 400 and field_error(html(garbled), "publish_at")

    local = (datetime.now(COPENHAGEN) + timedelta(days=2)).replace(second=0, microsecond=0)
    scheduled = await act("schedule", publish_at=local.strftime("%Y-%m-%dT%H:%M"))
    assert scheduled.status_code == 303
    assert scheduled.headers["location"] == (
        f"/campaigns/{campaign_id}?done=campaign-scheduled#lifecycle"
    )
    campaign = await load(db, Campaign, campaign_id)
    assert campaign.status == "scheduled" and campaign.publish_at == local.astimezone(UTC)
    page = await client.get(f"/campaigns/{campaign_id}")
    assert "The campaign is published automatically on" in html(page)

    assert (await act("unschedule")).status_code == 303 and await status() == "draft"
    assert (await load(db, Campaign, campaign_id)).publish_at is None

    # A refused move: the service's 409 is shown on the composer.
    archive_draft = await act("archive", confirmed="yes")
    assert archive_draft.status_code == 409
    assert "A draft campaign cannot become archived" in html(archive_draft)
    assert 'role="alert"' in html(archive_draft) and await status() == "draft"

    published = await act("publish")
    assert published.status_code == 303 and await status() == "published"
    assert await campaigns_recipients(db, campaign_id) == [partner.id]

    # Closing asks first; the confirmation posts the same action, confirmed.
    unconfirmed = await act("close")
    assert unconfirmed.status_code == 200 and await status() == "published"
    assert 'name="confirmed" value="yes"' in html(unconfirmed)
    confirm = await client.get(f"/campaigns/{campaign_id}/status/close")
    assert confirm.status_code == 200 and "Close the campaign" in html(confirm)
    assert (await act("close", confirmed="yes")).status_code == 303
    assert await status() == "closed"

    assert (await act("reopen")).status_code == 303 and await status() == "published"
    assert (await act("close", confirmed="yes")).status_code == 303

    confirm = await client.get(f"/campaigns/{campaign_id}/status/archive")
    assert "Archive the campaign" in html(confirm)
    archived = await act("archive", confirmed="yes")
    assert archived.status_code == 303 and await status() == "archived"
    page = await client.get(f"/campaigns/{campaign_id}")
    assert "The campaign is archived" in html(page)
    assert (
        "Add an item" not in html(page)
        and 'action="/campaigns/'
        not in html(page).split("lifecycle-heading")[1].split("</section>")[0]
    )

    unknown = await act("explode")
    assert unknown.status_code == 400
    assert (await client.get(f"/campaigns/{campaign_id}/status/publish")).status_code == 404


async def campaigns_recipients(db: Database, campaign_id: int) -> list[int]:
    async with unit_of_work(db, None, write=False) as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        return await campaigns.recipient_ids(session, campaign)


async def test_publishing_without_an_audience_is_refused_with_the_reason(
    client: httpx.AsyncClient, db: Database, officer: User
) -> None:
    campaign_id, _items = await make_campaign(db, officer, items=[(ItemKind.message, "Budskab")])
    page = await client.get(f"/campaigns/{campaign_id}")
    refused = await client.post(
        f"/campaigns/{campaign_id}/status",
        data={"csrf_token": csrf_from(html(page)), "action": "publish"},
    )
    assert refused.status_code == 409
    assert "Choose the campaign&#39;s audience before publishing it." in html(refused)
    assert str((await load(db, Campaign, campaign_id)).status) == "draft"


# --- who may open the pages ------------------------------------------------------------------


def _page_urls(campaign_id: int, item_id: int) -> tuple[list[str], list[str]]:
    base = f"/campaigns/{campaign_id}"
    item = f"{base}/items/{item_id}"
    gets = [
        "/campaigns",
        "/campaigns/new",
        base,
        f"{base}/edit",
        f"{base}/status/close",
        f"{item}/edit",
        f"{item}/delete",
        f"{item}/variants/da",
        f"{item}/variants/da/delete",
    ]
    posts = [
        "/campaigns/new",
        f"{base}/edit",
        f"{base}/status",
        f"{base}/items",
        f"{item}/edit",
        f"{item}/delete",
        f"{item}/variants",
        f"{item}/variants/da/delete",
        f"{item}/files",
    ]
    return gets, posts


async def test_partners_cannot_open_the_officer_pages(
    client: httpx.AsyncClient, db: Database
) -> None:
    owner = await make_user(db, role=Role.officer)
    organisation = await make_partner(db, languages=["da"])
    campaign_id, (item_id,) = await make_campaign(
        db,
        owner,
        audience_languages=["da"],
        items=[(ItemKind.message, "Budskab")],
        status=CampaignStatus.published,
    )
    async with unit_of_work(db, None) as session:
        campaign = await session.get(Campaign, campaign_id)
        item = await session.get(CampaignItem, item_id)
        assert campaign and item
        await campaigns.set_variant(session, campaign, item, language="da", text="Hej")
    contact = await make_contact(db, organisation)
    await login(client, contact.email)
    token = await csrf_token(client, "/")
    gets, posts = _page_urls(campaign_id, item_id)
    for url in gets:
        response = await client.get(url, headers=EN)
        assert response.status_code in (403, 404), url
    for url in posts:
        response = await client.post(
            url,
            data={"csrf_token": token, "action": "close", "confirmed": "yes", "title": "X"},
            files={"file": ("a.png", samples.png(), "image/png")}
            if url.endswith("/files")
            else None,
            headers=EN,
        )
        assert response.status_code in (403, 404), url
    campaign = await load(db, Campaign, campaign_id)
    assert (campaign.status, campaign.title) == ("published", "Vaccination før vinteren")
    assert await rows(db, Material) == []


async def test_anonymous_visitors_are_sent_to_sign_in(
    client: httpx.AsyncClient, db: Database
) -> None:
    owner = await make_user(db, role=Role.officer)
    campaign_id, (item_id,) = await make_campaign(db, owner, items=[(ItemKind.message, "Budskab")])
    gets, posts = _page_urls(campaign_id, item_id)
    for url in gets:
        response = await client.get(url)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next="), url
    upload = await client.post(
        f"/campaigns/{campaign_id}/items/{item_id}/files",
        files={"file": ("a.png", samples.png(), "image/png")},
    )
    assert upload.status_code == 303 and upload.headers["location"].startswith("/login")
    for url in posts:
        response = await client.post(url, data={"action": "publish", "title": "X"})
        assert response.status_code in (303, 403), url
    assert await rows(db, Material) == []
    assert str((await load(db, Campaign, campaign_id)).status) == "draft"
