"""The audience builder page: live result from GET parameters, errors beside fields, saving."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlmodel import func, select

from hub.audiences import service as audiences
from hub.db import Database, unit_of_work
from hub.models import Audience, OrganisationKind, Role
from tests.factories import csrf_from, login, make_area, make_contact, make_partner, make_user

EN = {"Accept-Language": "en"}
DA = {"Accept-Language": "da"}
SOMALI_BELOW_70 = {"built": "1", "languages": "so", "uptake_below": "70", "only_active": "1"}


@pytest.fixture
async def town(db: Database) -> dict[str, int]:
    """The known answer of tests/audiences/test_service.py, seen through the page."""
    kommune = await make_area(
        db, code="K", name="Kommunen", kind="municipality", uptake=[("2026-10-01", 78.0)]
    )
    nord = await make_area(
        db,
        code="N",
        name="Nordbyen",
        parent_id=kommune,
        uptake=[("2026-09-01", 60.0), ("2026-10-01", 74.5)],
    )
    syd = await make_area(
        db,
        code="S",
        name="Sønderbro",
        parent_id=kommune,
        uptake=[("2026-09-01", 72.0), ("2026-10-01", 66.0)],
    )
    vest = await make_area(
        db,
        code="S-VP",
        name="Vestparken",
        kind="housing_area",
        parent_id=syd,
        uptake=[("2026-10-01", 58.5)],
    )
    kultur = await make_partner(
        db, name="Somalisk Kulturforening", languages=["so", "da"], area_ids=[syd]
    )
    moske = await make_partner(
        db,
        name="Moské Vestparken",
        kind=OrganisationKind.faith_community,
        languages=["ar", "so"],
        area_ids=[vest],
    )
    await make_partner(db, name="Nordbyens Mødre", languages=["so"], area_ids=[nord])
    await make_partner(db, name="Tyrkisk Forening", languages=["tr"], area_ids=[syd])
    paused = await make_partner(
        db, name="Pauset Forening", languages=["so"], area_ids=[vest], status="paused"
    )
    await make_partner(db, name="Kommunens Netværk", languages=["so"], area_ids=[kommune])
    await make_contact(db, kultur, coordinator=True)
    await make_contact(db, moske)
    await make_contact(db, moske)
    partners = {"kultur": kultur.id, "moske": moske.id, "paused": paused.id}
    return {"kommune": kommune, "nord": nord, "syd": syd, "vest": vest, **partners}  # type: ignore[dict-item]


async def _officer(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def _partner_names(html: str) -> list[str]:
    return re.findall(r'<a href="/partners/\d+">([^<]+)</a>', html)


def _checked(html: str, element_id: str) -> bool:
    tag = re.search(rf'<input id="{element_id}"[^>]*>', html, re.DOTALL)
    assert tag, element_id
    return " checked" in tag.group(0)


def _marked_invalid(html: str, element_id: str, field: str) -> bool:
    tag = re.search(rf'<(?:input|select) id="{element_id}"[^>]*>', html, re.DOTALL)
    assert tag, element_id
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    return (
        'aria-invalid="true"' in tag.group(0)
        and described is not None
        and f"{field}-error" in described.group(1).split()
        and f'id="{field}-error"' in html
    )


async def _count_audiences(db: Database) -> int:
    async with unit_of_work(db, None) as session:
        return int((await session.exec(select(func.count()).select_from(Audience))).one())


async def test_the_builder_renders_with_every_choice(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get("/audiences", headers=EN)
    assert page.status_code == 200
    text = page.text
    assert 'method="get"' in text and 'id="audience-builder"' in text
    assert '<label class="checkbox" for="kind-faith_community">' in text
    assert "Faith community" in text
    assert '<label class="checkbox" for="language-so">' in text and "Somali" in text
    assert 'for="audience-other-languages"' in text and 'for="audience-uptake"' in text
    assert _checked(text, "audience-only-active")  # on by default
    # Areas tree-ordered, depth shown by a prefix.
    assert re.search(
        r">Kommunen \(K\)</option>.*>— Nordbyen \(N\)</option>.*"
        r">— Sønderbro \(S\)</option>.*>— — Vestparken \(S-VP\)</option>",
        text,
        re.DOTALL,
    )
    # With nothing chosen: every active partner (the paused one is left out).
    assert "5 partners" in text and "Pauset Forening" not in _partner_names(text)
    assert re.search(r'<script src="[^"]*/static/js/audience\.js" defer></script>', text)
    assert "<script>" not in text and 'style="' not in text
    danish = await client.get("/audiences", headers=DA)
    assert "somali" in danish.text.lower() and "Trossamfund" in danish.text
    script = await client.get("/static/js/audience.js")
    assert script.status_code == 200 and "audience-builder" in script.text


async def test_somali_speaking_partners_in_areas_below_70_percent(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get("/audiences", params=SOMALI_BELOW_70, headers=EN)
    assert page.status_code == 200
    result = _section(page.text, "audience-result")
    assert "<strong>2 partners</strong> · 3 contact persons" in result
    assert _partner_names(result) == ["Moské Vestparken", "Somalisk Kulturforening"]
    assert f'href="/partners/{town["moske"]}"' in result
    by_area = result[result.index("By area") : result.index("By language")]
    assert re.search(r"Sønderbro</th><td class=\"num\">1<", by_area)
    assert re.search(r"Vestparken</th><td class=\"num\">1<", by_area)
    assert "Nordbyen" not in by_area
    by_kind = result[result.index("By kind") : result.index("By area")]
    assert 'Faith community</th><td class="num">1<' in by_kind
    by_language = result[result.index("By language") :]
    assert 'Somali</th><td class="num">2<' in by_language
    assert "notice-warning" not in result  # Somali is covered
    # The form shows what was asked, and a decimal comma means the same.
    assert _checked(page.text, "language-so") and 'value="70"' in page.text
    comma = await client.get(
        "/audiences", params={**SOMALI_BELOW_70, "uptake_below": "69,5"}, headers=EN
    )
    assert _partner_names(_section(comma.text, "audience-result")) == _partner_names(result)
    # Unticking "only active" brings the paused partner in, with its status shown.
    everyone = await client.get(
        "/audiences", params={"built": "1", "languages": "so", "uptake_below": "70"}, headers=EN
    )
    names = _partner_names(_section(everyone.text, "audience-result"))
    assert "Pauset Forening" in names and "Paused" in everyone.text
    assert not _checked(everyone.text, "audience-only-active")


async def test_languages_nobody_covers_are_flagged(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get(
        "/audiences",
        params={
            "built": "1",
            "only_active": "1",
            "languages": "so",
            "other_languages": "UR, am",
            "area_ids": str(town["syd"]),
        },
        headers=EN,
    )
    assert page.status_code == 200
    warning = re.search(r'<p class="notice notice-warning">([^<]+)</p>', page.text)
    assert warning and "No partner in this audience serves Urdu, Amharic." in warning.group(1)
    assert 'value="UR, am"' in page.text  # as typed
    assert _partner_names(page.text) == ["Moské Vestparken", "Somalisk Kulturforening"]


async def test_invalid_choices_are_shown_beside_the_fields(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    for params, element_id, field, message in (
        (
            {"other_languages": "somali, xx"},
            "audience-other-languages",
            "other_languages",
            "somali, xx are not language codes.",
        ),
        (
            {"uptake_below": "150"},
            "audience-uptake",
            "uptake_below",
            "Enter a percentage above 0 and at most 100",
        ),
        ({"uptake_below": "0"}, "audience-uptake", "uptake_below", "above 0"),
        ({"uptake_below": "lots"}, "audience-uptake", "uptake_below", "above 0"),
        ({"area_ids": "99999"}, "audience-areas", "area_ids", "Unknown areas: 99999"),
        ({"area_ids": "nord"}, "audience-areas", "area_ids", "Choose areas from the list."),
        ({"kinds": "mosque"}, "kind-association", "kinds", "Choose kinds of partner"),
    ):
        page = await client.get("/audiences", params={"built": "1", **params}, headers=EN)
        assert page.status_code == 400, params
        assert _marked_invalid(page.text, element_id, field), params
        assert message in page.text, params
        assert "Correct the choices marked in the form" in page.text
        assert 'id="audience-save" aria-labelledby="save-heading" hidden' in page.text
        assert _partner_names(page.text) == []
    kept = await client.get(
        "/audiences", params={"built": "1", "uptake_below": "150", "languages": "so"}, headers=EN
    )
    assert 'value="150"' in kept.text and _checked(kept.text, "language-so")


async def test_save_open_update_and_delete_an_audience(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get("/audiences", params=SOMALI_BELOW_70, headers=EN)
    save_form = _section(page.text, "audience-save")
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', save_form))
    assert hidden["languages"] == "so" and hidden["uptake_below"] == "70"
    data = {**hidden, "name": "Somali, low uptake", "mode": "new"}
    saved = await client.post("/audiences", data=data)
    assert saved.status_code == 303
    location = urlsplit(saved.headers["location"])
    query = dict(parse_qsl(location.query))
    assert location.path == "/audiences" and query["done"] == "audience-saved"
    async with unit_of_work(db, None) as session:
        [audience] = await audiences.list_audiences(session)
        spec = audiences.spec_of(audience)
    assert (audience.name, spec.languages, spec.uptake_below, spec.only_active) == (
        "Somali, low uptake",
        ["so"],
        70.0,
        True,
    )
    assert query["saved"] == str(audience.id)

    # The list links to the builder, which opens pre-filled and resolves the same audience.
    listing = await client.get("/audiences", headers=EN)
    assert f'href="http://testserver/audiences?saved={audience.id}">Somali, low uptake</a>' in (
        listing.text
    )
    assert "Somali · uptake below 70.0\u00a0%" in listing.text
    opened = await client.get(f"/audiences?saved={audience.id}", headers=EN)
    assert _checked(opened.text, "language-so") and 'value="70"' in opened.text
    assert "<strong>2 partners</strong>" in opened.text
    assert 'value="Somali, low uptake"' in opened.text

    # The same name twice is refused beside the field; nothing is written.
    again = await client.post("/audiences", data=data, headers=EN)
    assert again.status_code == 400
    assert 'id="name-error"' in again.text
    assert "An audience with this name exists already." in again.text
    nameless = await client.post("/audiences", data={**data, "name": " "}, headers=EN)
    assert nameless.status_code == 400 and "Give the audience a name." in nameless.text
    assert await _count_audiences(db) == 1

    # Changing the saved audience from the builder keeps its id.
    changed = await client.post(
        "/audiences",
        data={
            **hidden,
            "uptake_below": "60",
            "name": "Somali, very low uptake",
            "audience_id": str(audience.id),
            "mode": "update",
            "csrf_token": csrf_from(opened.text),
        },
    )
    assert changed.status_code == 303 and "done=audience-updated" in changed.headers["location"]
    async with unit_of_work(db, None) as session:
        [updated] = await audiences.list_audiences(session)
        assert updated.id == audience.id and updated.name == "Somali, very low uptake"
        assert audiences.spec_of(updated).uptake_below == 60.0

    # Deleting asks first; the GET changes nothing.
    confirm = await client.get(f"/audiences/{audience.id}/delete", headers=EN)
    assert confirm.status_code == 200 and "Somali, very low uptake" in confirm.text
    assert await _count_audiences(db) == 1
    deleted = await client.post(
        f"/audiences/{audience.id}/delete", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/audiences?done=audience-deleted"
    assert await _count_audiences(db) == 0
    assert (await client.get(f"/audiences/{audience.id}/delete")).status_code == 404
    assert (await client.get(f"/audiences?saved={audience.id}")).status_code == 404
    assert (await client.get("/audiences?saved=abc")).status_code == 404
    # beyond any id: refused as bad input
    assert (await client.get("/audiences/99999999999/delete")).status_code == 400


async def test_saved_audiences_are_searched_and_paged(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    empty = await client.get("/audiences", headers=EN)
    assert "No saved audiences yet. Choose an audience above" in empty.text
    assert 'id="saved-search"' not in empty.text  # nothing to search yet
    async with unit_of_work(db, None) as session:
        for number in range(1, 28):
            name = f"Nordvest {number:02d}" if number % 3 == 0 else f"Amager {number:02d}"
            await audiences.save_audience(
                session, name=name, spec=audiences.AudienceSpec(), created_by=officer
            )

    first = await client.get("/audiences", headers=EN)
    listed = re.findall(r"\?saved=\d+\">([^<]+)</a>", first.text)
    assert len(listed) == 25 and listed[0] == "Amager 01" and listed == sorted(listed)
    assert "Page 1 of 2" in first.text and "/audiences?page=2" in first.text
    second = await client.get("/audiences?page=2", headers=EN)
    assert re.findall(r"\?saved=\d+\">([^<]+)</a>", second.text) == ["Nordvest 24", "Nordvest 27"]

    found = await client.get("/audiences", params={"q": "nordVEST"}, headers=EN)
    names = re.findall(r"\?saved=\d+\">([^<]+)</a>", found.text)
    assert names == [f"Nordvest {n:02d}" for n in range(3, 28, 3)]
    assert 'id="saved-search" name="q" type="search" maxlength="200" value="nordVEST"' in found.text
    nothing = await client.get("/audiences", params={"q": "Vesterbro"}, headers=EN)
    assert "No saved audience matches your search." in nothing.text
    assert 'id="saved-search"' in nothing.text  # to search again


async def test_a_saved_audience_opens_with_every_choice_in_place(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    officer = await make_user(db, role=Role.officer)
    spec = audiences.AudienceSpec(
        kinds=[OrganisationKind.faith_community],
        area_ids=[town["syd"]],
        languages=["so", "am"],
        uptake_below=72.5,
        only_active=False,
        exclude_ids=[town["kultur"]],
    )
    async with unit_of_work(db, None) as session:
        saved = await audiences.save_audience(
            session, name="Moskeer", spec=spec, created_by=officer
        )
    await login(client, officer.email)
    page = await client.get(f"/audiences?saved={saved.id}", headers=DA)
    assert page.status_code == 200
    text = page.text
    assert _checked(text, "kind-faith_community") and not _checked(text, "kind-association")
    assert re.search(rf'<option value="{town["syd"]}" selected>', text)
    assert _checked(text, "language-so")
    assert 'name="other_languages" maxlength="500" value="am"' in text  # not a checkbox
    assert 'value="72,5"' in text and not _checked(text, "audience-only-active")
    assert f'<input type="hidden" name="exclude_ids" value="{town["kultur"]}">' in text
    assert _partner_names(text) == ["Moské Vestparken"]
    # The list of saved audiences describes it in words.
    listing = await client.get("/audiences", headers=EN)
    assert (
        "<td>Faith community · Sønderbro · Somali, Amharic · uptake below 72.5\u00a0% · "
        "also partners who are not active · with partners added or left out by hand</td>"
    ) in listing.text


async def test_audience_pages_are_for_staff_only(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    officer = await make_user(db, role=Role.officer)
    async with unit_of_work(db, None) as session:
        saved = await audiences.save_audience(
            session, name="Alle", spec=audiences.AudienceSpec(), created_by=officer
        )
    anonymous = await client.get("/audiences")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    organisation = await make_partner(db, name="Moskeen")
    contact = await make_contact(db, organisation)
    await login(client, contact.email)
    token = csrf_from((await client.get("/account/tokens")).text)
    assert (await client.get("/audiences")).status_code == 403
    assert (await client.get("/audiences", params=SOMALI_BELOW_70)).status_code == 403
    assert (await client.get(f"/audiences/{saved.id}/delete")).status_code == 403
    refused = await client.post("/audiences", data={"name": "Mine", "csrf_token": token})
    assert refused.status_code == 403
    gone = await client.post(f"/audiences/{saved.id}/delete", data={"csrf_token": token})
    assert gone.status_code == 403
    assert await _count_audiences(db) == 1


async def test_audience_forms_need_the_csrf_token(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get("/audiences", params=SOMALI_BELOW_70)
    missing = await client.post("/audiences", data={"name": "X", **SOMALI_BELOW_70})
    assert missing.status_code == 403
    forged = await client.post(
        "/audiences", data={"name": "X", "csrf_token": "forged", **SOMALI_BELOW_70}
    )
    assert forged.status_code == 403
    assert await _count_audiences(db) == 0
    saved = await client.post(
        "/audiences", data={"name": "X", "csrf_token": csrf_from(page.text), **SOMALI_BELOW_70}
    )
    assert saved.status_code == 303
    audience_id = dict(parse_qsl(urlsplit(saved.headers["location"]).query))["saved"]
    refused = await client.post(f"/audiences/{audience_id}/delete", data={})
    assert refused.status_code == 403
    assert await _count_audiences(db) == 1
