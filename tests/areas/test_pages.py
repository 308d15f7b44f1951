"""The area pages: a tree with uptake sparklines, one area's uptake over time, and the forms."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import col, func, select

from hub.db import Database, unit_of_work
from hub.models import Area, AreaUptake, Role
from tests.factories import (
    csrf_from,
    login,
    make_area,
    make_contact,
    make_partner,
    make_user,
)

EN = {"Accept-Language": "en"}
DA = {"Accept-Language": "da"}
NBSP = "\u00a0"


@pytest.fixture
async def town(db: Database) -> dict[str, int]:
    kommune = await make_area(
        db,
        code="K",
        name="Kommunen",
        kind="municipality",
        population=52_000,
        uptake=[
            ("2026-07-01", 61.0),
            ("2026-08-01", 63.0),
            ("2026-09-01", 64.2),
            ("2026-10-01", 66.5),
        ],
    )
    nord = await make_area(
        db, code="N", name="Nordbyen", parent_id=kommune, uptake=[("2026-10-01", 74.5)]
    )
    syd = await make_area(
        db,
        code="S",
        name="Sønderbro",
        parent_id=kommune,
        population=12_500,
        uptake=[("2026-09-01", 72.0), ("2026-10-01", 66.0)],
    )
    vest = await make_area(db, code="S-VP", name="Vestparken", kind="housing_area", parent_id=syd)
    return {"kommune": kommune, "nord": nord, "syd": syd, "vest": vest}


def _marked_invalid(html: str, field: str) -> bool:
    """The input named ``field`` says it is invalid and points at its error message."""
    match = re.search(rf'<input[^>]*name="{field}"[^>]*>', html)
    assert match, f"no input named {field}"
    tag = match.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', tag)
    return (
        'aria-invalid="true"' in tag
        and bool(described)
        and (
            f"{field}-error" in described.group(1).split()  # type: ignore[union-attr]
        )
    )


async def _officer(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)


async def _count(db: Database, model: type[Area] | type[AreaUptake]) -> int:
    async with unit_of_work(db, None) as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_the_list_is_a_tree_with_uptake_and_sparklines(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get("/areas", headers=EN)
    assert page.status_code == 200
    text = page.text
    # Parents before children: the municipality, its districts by code, then the housing area
    # right after the district it lies in.
    names = [text.index(name) for name in ("Kommunen", "Nordbyen", "Sønderbro", "Vestparken")]
    assert names == sorted(names)
    vest_row = text[text.index("Vestparken") - 300 : text.index("Vestparken")]
    assert "depth-2" in vest_row
    assert f"66.5{NBSP}%" in text and "52,000" in text
    label = f"Uptake from 61.0{NBSP}% to 66.5{NBSP}% over 4 measurements"
    assert f'role="img" aria-label="{label}"' in text
    assert f"<title>{label}</title>" in text
    assert "<polyline points=" in text
    assert "No data" in text  # Vestparken has no figures yet
    assert 'style="' not in text
    danish = await client.get("/areas", headers=DA)
    assert f"66,5{NBSP}%" in danish.text and "52.000" in danish.text
    assert f"72,0{NBSP}%" in danish.text  # Sønderbro's sparkline label starts at 72,0 %


def _table(html: str) -> str:
    """The list's table only (the form below it names every area in its parent select)."""
    return html[html.index("<table") : html.index("</table>")]


async def test_search_and_kind_filter(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    found = await client.get("/areas", params={"q": "vest"}, headers=EN)
    assert "Vestparken" in _table(found.text) and "Nordbyen" not in _table(found.text)
    assert "in Sønderbro" in found.text  # the parent is named when it is not listed
    by_code = await client.get("/areas", params={"q": "s-vp"}, headers=EN)
    assert "Vestparken" in _table(by_code.text) and "Kommunen" not in _table(by_code.text)
    housing = await client.get("/areas", params={"kind": "housing_area"}, headers=EN)
    assert "Vestparken" in _table(housing.text) and "Sønderbro</a>" not in housing.text
    assert "1 area<" in housing.text
    nothing = await client.get("/areas", params={"q": "zzz"}, headers=EN)
    assert "No area matches your search." in nothing.text


async def test_empty_list_says_what_to_do_next(client: httpx.AsyncClient, db: Database) -> None:
    await _officer(client, db)
    page = await client.get("/areas", headers=EN)
    assert page.status_code == 200
    assert "No areas yet." in page.text
    assert 'href="/imports"' in page.text
    assert 'action="http://testserver/areas"' in page.text  # the form to add one is right there


async def test_add_an_area(client: httpx.AsyncClient, db: Database, town: dict[str, int]) -> None:
    await _officer(client, db)
    page = await client.get("/areas")
    response = await client.post(
        "/areas",
        data={
            "code": "S-RH",
            "name": "Rughaven",
            "kind": "housing_area",
            "parent_id": str(town["syd"]),
            "population": "3.400",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/areas/\d+\?done=area-created", location)
    async with unit_of_work(db, None) as session:
        area = (await session.exec(select(Area).where(Area.code == "S-RH"))).one()
    assert (area.name, area.kind, area.parent_id, area.population) == (
        "Rughaven",
        "housing_area",
        town["syd"],
        3400,
    )
    detail = await client.get(location, headers=EN)
    assert detail.status_code == 200 and "Rughaven" in detail.text


async def test_bad_area_input_is_shown_beside_the_fields_and_nothing_is_written(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get("/areas")
    before = await _count(db, Area)
    response = await client.post(
        "/areas",
        data={
            "code": "",
            "name": "Ny bydel",
            "kind": "galaxy",
            "population": "many",
            "csrf_token": csrf_from(page.text),
        },
        headers=EN,
    )
    assert response.status_code == 400
    text = response.text
    for field in ("code", "kind", "population"):
        assert f'id="{field}-error"' in text
    assert "Give the area a code." in text
    assert "Choose what kind of area it is." in text
    assert _marked_invalid(text, "population") and _marked_invalid(text, "code")
    assert 'value="Ny bydel"' in text and 'value="many"' in text
    duplicate = await client.post(
        "/areas",
        data={"code": "S", "name": "Again", "kind": "district", "csrf_token": csrf_from(text)},
        headers=EN,
    )
    assert duplicate.status_code == 400
    assert 'id="code-error"' in duplicate.text
    assert "An area with this code exists already." in duplicate.text
    unknown_parent = await client.post(
        "/areas",
        data={
            "code": "X",
            "name": "X",
            "kind": "district",
            "parent_id": "99999",
            "csrf_token": csrf_from(text),
        },
        headers=EN,
    )
    assert unknown_parent.status_code == 400 and 'id="parent_id-error"' in unknown_parent.text
    for parent in ("²", "99999999999", "-1"):
        odd = await client.post(
            "/areas",
            data={
                "code": "X",
                "name": "X",
                "kind": "district",
                "parent_id": parent,
                "csrf_token": csrf_from(text),
            },
        )
        assert odd.status_code == 400 and 'id="parent_id-error"' in odd.text, parent
    huge = await client.post(
        "/areas",
        data={
            "code": "X",
            "name": "X",
            "kind": "district",
            "population": "9" * 5000,
            "csrf_token": csrf_from(text),
        },
    )
    assert huge.status_code == 400 and 'id="population-error"' in huge.text
    assert await _count(db, Area) == before


async def test_the_area_page_shows_children_chart_and_table(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get(f"/areas/{town['syd']}", headers=EN)
    assert page.status_code == 200
    text = page.text
    assert "<h1>Sønderbro</h1>" in text
    assert "Vestparken" in text and "Kommunen" in text  # child and parent
    assert "12,500" in text
    assert 'aria-labelledby="chart-title chart-desc"' in text
    assert '<title id="chart-title">Vaccination uptake, all ages</title>' in text
    assert f"Uptake from 72.0{NBSP}% to 66.0{NBSP}% over 2 measurements" in text
    assert '<time datetime="2026-10-01">Oct 1, 2026</time>' in text
    assert 'style="' not in text
    empty = await client.get(f"/areas/{town['vest']}", headers=EN)
    assert "No uptake recorded yet." in empty.text and "<svg" not in empty.text
    assert (await client.get("/areas/99999")).status_code == 404
    assert (await client.get("/areas/99999999999")).status_code == 404  # beyond any id


async def test_record_uptake_with_a_decimal_comma(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get(f"/areas/{town['vest']}")
    response = await client.post(
        f"/areas/{town['vest']}/uptake",
        data={
            "measured_on": "2026-11-01",
            "share_percent": "58,5",
            "age_band": "",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/areas/{town['vest']}?done=uptake-recorded"
    band = await client.post(
        f"/areas/{town['vest']}/uptake",
        data={
            "measured_on": "1.11.2026",
            "share_percent": "41 %",
            "age_band": "18-29",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert band.status_code == 303
    detail = await client.get(f"/areas/{town['vest']}", headers=DA)
    assert f"58,5{NBSP}%" in detail.text and f"41,0{NBSP}%" in detail.text
    assert "18-29" in detail.text
    listing = await client.get("/areas", headers=EN)
    assert f"Uptake 58.5{NBSP}% on Nov 1, 2026" in listing.text  # one all-ages figure


async def test_bad_uptake_is_refused_beside_the_field(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get(f"/areas/{town['syd']}")
    before = await _count(db, AreaUptake)
    for share, date_text, band, field in (
        ("abc", "2026-11-01", "", "share_percent"),
        ("100,5", "2026-11-01", "", "share_percent"),
        ("-3", "2026-11-01", "", "share_percent"),
        ("70", "2026-13-01", "", "measured_on"),
        ("70", "2999-01-01", "", "measured_on"),
        ("70", "2026-11-01", "x" * 21, "age_band"),
    ):
        response = await client.post(
            f"/areas/{town['syd']}/uptake",
            data={
                "measured_on": date_text,
                "share_percent": share,
                "age_band": band,
                "csrf_token": csrf_from(page.text),
            },
            headers=EN,
        )
        assert response.status_code == 400, (share, date_text)
        assert f'id="{field}-error"' in response.text
        assert _marked_invalid(response.text, field)
        assert f'value="{share}"' in response.text  # the input is kept
    assert await _count(db, AreaUptake) == before


async def test_edit_an_area(client: httpx.AsyncClient, db: Database, town: dict[str, int]) -> None:
    await _officer(client, db)
    page = await client.get(f"/areas/{town['vest']}")
    response = await client.post(
        f"/areas/{town['vest']}",
        data={
            "name": "Vestparken Øst",
            "kind": "parish",
            "parent_id": str(town["nord"]),
            "population": "4 100",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/areas/{town['vest']}?done=area-updated"
    async with unit_of_work(db, None) as session:
        area = await session.get(Area, town["vest"])
        assert area is not None
        assert (area.name, area.kind, area.parent_id, area.population) == (
            "Vestparken Øst",
            "parish",
            town["nord"],
            4100,
        )


async def test_bad_edits_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    page = await client.get(f"/areas/{town['syd']}")
    # The parent select does not offer the area itself or the areas inside it...
    parent_select = page.text[page.text.index('id="edit-parent"') :]
    parent_select = parent_select[: parent_select.index("</select>")]
    assert f'value="{town["vest"]}"' not in parent_select
    assert f'value="{town["kommune"]}"' in parent_select
    # ...and a forged one is refused beside the field.
    inside = await client.post(
        f"/areas/{town['syd']}",
        data={
            "name": "Sønderbro",
            "kind": "district",
            "parent_id": str(town["vest"]),
            "csrf_token": csrf_from(page.text),
        },
        headers=EN,
    )
    assert inside.status_code == 400
    assert 'id="parent_id-error"' in inside.text
    assert "An area cannot lie inside itself." in inside.text
    blank = await client.post(
        f"/areas/{town['syd']}",
        data={
            "name": " ",
            "kind": "district",
            "population": "-5",
            "csrf_token": csrf_from(page.text),
        },
        headers=EN,
    )
    assert blank.status_code == 400
    assert 'id="name-error"' in blank.text and 'id="population-error"' in blank.text
    async with unit_of_work(db, None) as session:
        area = await session.get(Area, town["syd"])
        assert area is not None
        assert (area.name, area.parent_id, area.population) == (
            "Sønderbro",
            town["kommune"],
            12_500,
        )


async def test_area_pages_are_for_staff_only(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    anonymous = await client.get("/areas")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    organisation = await make_partner(db, name="Moskeen")
    contact = await make_contact(db, organisation)
    await login(client, contact.email)
    token = csrf_from((await client.get("/account/tokens")).text)
    assert (await client.get("/areas")).status_code == 403
    assert (await client.get(f"/areas/{town['syd']}")).status_code == 403
    assert (await client.get("/areas/99999")).status_code == 403  # no hint what exists
    for path, data in (
        ("/areas", {"code": "Z", "name": "Z", "kind": "district"}),
        (f"/areas/{town['syd']}", {"name": "Taken over", "kind": "district"}),
        (f"/areas/{town['syd']}/uptake", {"measured_on": "2026-11-01", "share_percent": "1"}),
    ):
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
    assert await _count(db, Area) == 4


async def test_area_forms_need_the_csrf_token(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    await _officer(client, db)
    before = (await _count(db, Area), await _count(db, AreaUptake))
    for path, data in (
        ("/areas", {"code": "Z", "name": "Z", "kind": "district"}),
        (f"/areas/{town['syd']}", {"name": "Renamed", "kind": "district"}),
        (f"/areas/{town['syd']}/uptake", {"measured_on": "2026-11-01", "share_percent": "1"}),
    ):
        assert (await client.post(path, data=data)).status_code == 403, path
        forged = await client.post(path, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, path
    assert (await _count(db, Area), await _count(db, AreaUptake)) == before
    async with unit_of_work(db, None) as session:
        names = (await session.exec(select(Area.name).order_by(col(Area.code)))).all()
    assert "Renamed" not in names
