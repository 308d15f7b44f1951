"""The equity view and the funnel, against the fixture computed by hand."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.reports.conftest import Fixture


async def test_funnel_counts_partners_through_each_step(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    response = await client.get(
        "/api/v1/reach/funnel",
        params={"campaign_id": fixture.campaign_id},
        headers=fixture.officer,
    )
    assert response.status_code == 200, response.text
    steps = [(s["name"], s["partners"], s["alone"], s["drop"]) for s in response.json()]
    assert steps == [
        ("addressed", 3, 3, 0),
        ("notified", 2, 2, 1),  # C has nobody to notify
        ("opened_or_downloaded", 2, 2, 0),
        ("reported", 2, 2, 0),  # B's flagged report does not count, its door-to-door does
        ("clicked", 2, 2, 0),
    ]
    # Before any click: nobody reached the last step.
    early = await client.get(
        "/api/v1/reach/funnel",
        params={"campaign_id": fixture.campaign_id, "to": "2026-11-01"},
        headers=fixture.officer,
    )
    assert [s["partners"] for s in early.json()] == [3, 0, 0, 0, 0]


async def test_equity_ranks_the_areas_behind_and_unreached(
    client: httpx.AsyncClient, fixture: Fixture
) -> None:
    response = await client.get(
        "/api/v1/reach/equity",
        params={"campaign_id": fixture.campaign_id},
        headers=fixture.officer,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    areas = {a["name"]: a for a in body["areas"]}
    kbh, nordvest, amager = areas["København"], areas["Nordvest"], areas["Amager"]
    # København: 72 % (up 2 points), served through Nordvest by A: 12 visitors per 100,000.
    assert (kbh["uptake"], kbh["uptake_change"], kbh["partners"]) == (72.0, 2.0, 1)
    assert kbh["languages"] == ["ar", "da"]
    assert (kbh["uniques"], kbh["reported"], kbh["measured_per_1000"]) == (12, 65, 0.1)
    assert kbh["reported_per_1000"] == 0.7
    assert nordvest["measured_per_1000"] == 0.6 and nordvest["flagged"]
    assert not amager["flagged"]  # 90 % is above the threshold
    assert (amager["uniques"], amager["reported"]) == (5, 7)
    # The next wave: most people below 80 % first (8,000 in København, 4,000 in Nordvest).
    assert [a["name"] for a in body["next_wave"]] == ["København", "Nordvest"]
    audience = body["next_wave_audience"]
    assert audience["area_ids"] == [fixture.top_area, fixture.nordvest]
    assert audience["audience_spec"]["uptake_below"] == 80.0
    query = parse_qs(urlsplit(audience["audience_url"]).query)
    assert query["area_ids"] == [str(fixture.top_area), str(fixture.nordvest)]
    # Per language, the least reached first.
    languages = [
        (r["language"], r["partners"], r["variants"], r["uniques"]) for r in body["languages"]
    ]
    assert languages == [("so", 1, 0, 0), ("da", 1, 1, 5), ("ar", 1, 1, 12)]

    # A higher bar for "reached": Amager still passes on uptake; with a lower threshold,
    # nothing is flagged.
    lenient = await client.get(
        "/api/v1/reach/equity",
        params={"campaign_id": fixture.campaign_id, "threshold": 50},
        headers=fixture.officer,
    )
    assert lenient.json()["next_wave"] == []


async def test_an_area_nobody_serves_is_flagged_whatever_its_reach(
    client: httpx.AsyncClient, db: object, fixture: Fixture
) -> None:
    from tests.factories import make_area

    lonely = await make_area(
        db,  # type: ignore[arg-type]
        code="TI",
        name="Tingbjerg",
        population=6_000,
        uptake=[("2026-10-01", 55.0)],
    )
    body = (await client.get("/api/v1/reach/equity", headers=fixture.officer)).json()
    row = next(a for a in body["areas"] if a["area_id"] == lonely)
    assert (row["partners"], row["flagged"]) == (0, True)
    assert row["measured_per_1000"] == 0.0
