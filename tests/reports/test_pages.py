"""The officers' reach and equity pages, and their CSV and XLSX downloads read back."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl

from tests.factories import login, make_contact, make_partner
from tests.reports.conftest import Fixture


async def signed_in(client: httpx.AsyncClient, fixture: Fixture) -> httpx.AsyncClient:
    client.headers["Accept-Language"] = "en"
    await login(client, fixture.officer_email)
    return client


async def test_reach_page_shows_the_measures_charts_and_funnel(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    await signed_in(client, fixture)
    page = await client.get(
        "/reports", params={"campaign_id": fixture.campaign_id, "by": "partner"}
    )
    assert page.status_code == 200, page.text
    html = page.text
    assert "Forening A" in html and "Moské B" in html
    # Measured reach, clicks on own and shared-on links (stacked), reported reach.
    assert html.count('role="img"') == 3
    assert "From addressed to reached" in html and "Partners addressed" in html
    over_time = await client.get(
        "/reports", params={"campaign_id": fixture.campaign_id, "by": "day"}
    )
    assert "<polyline" in over_time.text or "<path" in over_time.text
    refused = await client.get("/reports", params={"start": "tomorrow", "by": "colour"})
    assert refused.status_code == 400
    assert 'id="start-error"' in refused.text and 'id="by-error"' in refused.text


async def test_downloads_open_in_the_csv_module_and_openpyxl(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    await signed_in(client, fixture)
    params = {"campaign_id": fixture.campaign_id, "by": "partner"}
    comma = await client.get("/reports", params={**params, "format": "csv"})
    assert comma.headers["content-type"].startswith("text/csv")
    assert comma.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(comma.content.decode("utf-8-sig"))))
    # Two tables (the reach and the funnel), each under its title.
    assert rows[0] == ["Reach by partner"]
    header = rows[1]
    a_row = next(r for r in rows if r and r[0] == "Forening A")
    assert a_row[header.index("Link clicks")] == "14"
    assert a_row[header.index("Reported reach")] == "65"
    assert a_row[header.index("Partner visits")] == "<5"
    semicolon = await client.get("/reports", params={**params, "format": "csv", "delimiter": ";"})
    header_line = semicolon.content.decode("utf-8-sig").splitlines()[1]
    assert header_line.split(";")[:2] == ["Partner", "Notifications sent"]

    xlsx = await client.get("/reports", params={**params, "format": "xlsx"})
    assert xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    sheet = book.worksheets[0]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    titles = values[0]
    b_row = next(r for r in values if r and r[0] == "Moské B")
    # Downloads leave the hub: B's one visit shows as "<5", its 5 clicks as 5; the page
    # itself shows officers the exact 1.
    assert b_row[titles.index("Partner visits")] == "<5"
    assert b_row[titles.index("Link clicks")] == 5
    assert len(book.worksheets) == 2  # the reach and the funnel


async def test_equity_page_turns_the_next_wave_into_an_audience(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    await signed_in(client, fixture)
    page = await client.get("/reports/equity", params={"campaign_id": fixture.campaign_id})
    assert page.status_code == 200, page.text
    assert "Make these areas an audience" in page.text
    assert f"area_ids={fixture.top_area}&amp;area_ids={fixture.nordvest}" in page.text
    audience = await client.get(
        f"/audiences?area_ids={fixture.top_area}&area_ids={fixture.nordvest}&uptake_below=80"
    )
    assert audience.status_code == 200
    xlsx = await client.get(
        "/reports/equity", params={"campaign_id": fixture.campaign_id, "format": "xlsx"}
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert [s.title for s in book.worksheets] == ["Areas", "Languages"]


async def test_partners_do_not_see_the_reports(
    client: httpx.AsyncClient, db: object, fixture: Fixture
) -> None:
    partner = await make_partner(db, name="P")  # type: ignore[arg-type]
    contact = await make_contact(db, partner)  # type: ignore[arg-type]
    client.headers["Accept-Language"] = "en"
    await login(client, contact.email)
    for path in ("/reports", "/reports/equity"):
        assert (await client.get(path)).status_code in (403, 404)


async def test_the_campaign_summary_prints_the_funnel_and_reach(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    await signed_in(client, fixture)
    page = await client.get(f"/campaigns/{fixture.campaign_id}/summary")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Summary: Efterår" in html and "Partners addressed" in html
    for caption in ("Reach by channel", "Reach by language", "Reach by partner", "Reach by week"):
        assert caption in html
    assert html.count("<figcaption>") == 4 and "Forening A" in html
    composer = await client.get(f"/campaigns/{fixture.campaign_id}")
    assert f"/campaigns/{fixture.campaign_id}/summary" in composer.text


async def test_the_summary_downloads_its_tables(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    await signed_in(client, fixture)
    xlsx = await client.get(f"/campaigns/{fixture.campaign_id}/summary", params={"format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(book.worksheets) == 5  # the funnel and reach by channel, language, partner, week
    funnel = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert funnel[1][:2] == ["Partners addressed", 3]


async def test_download_links_carry_the_pages_filters(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    """The links under the filters download what the page shows: same campaign, same view."""
    await signed_in(client, fixture)
    for path, params in (
        ("/reports", {"campaign_id": str(fixture.campaign_id), "by": "partner"}),
        ("/reports/equity", {"campaign_id": str(fixture.campaign_id)}),
    ):
        page = await client.get(path, params=params)
        links = re.findall(r'href="([^"]*format=csv[^"]*)"', page.text)
        assert len(links) == 2, links  # comma and semicolon
        for link in links:
            href = html.unescape(link)
            query = parse_qs(urlsplit(href).query)
            assert query["format"] == ["csv"], href
            for key, value in params.items():
                assert query[key] == [value], href
        download = await client.get(html.unescape(links[0]))
        assert download.headers["content-type"].startswith("text/csv"), path
        assert "attachment" in download.headers["content-disposition"]
