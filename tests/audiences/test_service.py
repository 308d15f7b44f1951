"""Audience resolution with a known answer."""

from __future__ import annotations

import httpx
import pytest

from hub.audiences import service as audiences
from hub.audiences.service import AudienceSpec
from hub.db import Database, unit_of_work
from hub.models import OrganisationKind, Role
from tests.factories import api_token, bearer, make_area, make_contact, make_partner, make_user


@pytest.fixture
async def town(db: Database) -> dict[str, int]:
    """A municipality with two districts; low uptake in Sønderbro and its housing area."""
    kommune = await make_area(db, code="K", kind="municipality", uptake=[("2026-10-01", 78.0)])
    nord = await make_area(
        db,
        code="N",
        name="Nordbyen",
        parent_id=kommune,
        uptake=[("2026-09-01", 60.0), ("2026-10-01", 74.5)],
    )  # recovered
    syd = await make_area(
        db,
        code="S",
        name="Sønderbro",
        parent_id=kommune,
        uptake=[("2026-09-01", 72.0), ("2026-10-01", 66.0)],
    )  # fell below
    vest = await make_area(
        db,
        code="S-VP",
        name="Vestparken",
        kind="housing_area",
        parent_id=syd,
        uptake=[("2026-10-01", 58.5)],
    )
    parish = await make_area(db, code="P", kind="parish", parent_id=kommune)  # no uptake data
    return {"kommune": kommune, "nord": nord, "syd": syd, "vest": vest, "parish": parish}


async def test_somali_speaking_partners_in_areas_below_70_percent(
    db: Database, town: dict[str, int]
) -> None:
    # In: Somali partners serving a low-uptake area (directly or a housing area inside it).
    kultur = await make_partner(
        db, name="Somalisk Kulturforening", languages=["so", "da"], area_ids=[town["syd"]]
    )
    moske = await make_partner(
        db,
        name="Moské Vestparken",
        kind=OrganisationKind.faith_community,
        languages=["ar", "so"],
        area_ids=[town["vest"]],
    )
    # Out: Somali but only in Nordbyen (latest 74.5 %, the old 60 % does not count).
    await make_partner(db, name="Nordbyens Mødre", languages=["so"], area_ids=[town["nord"]])
    # Out: low-uptake area but no Somali.
    await make_partner(db, name="Tyrkisk Forening", languages=["tr"], area_ids=[town["syd"]])
    # Out: Somali and low uptake, but paused.
    await make_partner(
        db, name="Pauset Forening", languages=["so"], area_ids=[town["vest"]], status="paused"
    )
    # Out: Somali, serving the whole municipality only (78 % there).
    await make_partner(db, name="Kommunens Netværk", languages=["so"], area_ids=[town["kommune"]])
    await make_contact(db, kultur, coordinator=True)
    await make_contact(db, moske)
    await make_contact(db, moske)

    async with unit_of_work(db, None) as session:
        result = await audiences.resolve(session, AudienceSpec(languages=["so"], uptake_below=70))
    assert [o.name for o in result.organisations] == ["Moské Vestparken", "Somalisk Kulturforening"]
    assert len(result.contacts) == 3
    assert result.by_kind == {"association": 1, "faith_community": 1}
    assert result.by_area == {town["syd"]: 1, town["vest"]: 1}
    assert result.by_language == {"so": 2, "ar": 1, "da": 1}
    assert result.uncovered_languages == []
    assert set(result.target_area_ids) == {town["syd"], town["vest"]}


async def test_parent_area_includes_children_and_filters_combine(
    db: Database, town: dict[str, int]
) -> None:
    in_vest = await make_partner(
        db,
        name="A",
        kind=OrganisationKind.housing_organisation,
        languages=["ar"],
        area_ids=[town["vest"]],
    )
    await make_partner(
        db, name="B", kind=OrganisationKind.association, languages=["ar"], area_ids=[town["vest"]]
    )
    await make_partner(
        db,
        name="C",
        kind=OrganisationKind.housing_organisation,
        languages=["ar"],
        area_ids=[town["nord"]],
    )
    async with unit_of_work(db, None) as session:
        result = await audiences.resolve(
            session,
            AudienceSpec(
                kinds=[OrganisationKind.housing_organisation],
                area_ids=[town["syd"]],
                languages=["ar", "ur"],
            ),
        )
    assert [o.id for o in result.organisations] == [in_vest.id]
    assert result.uncovered_languages == ["ur"]


async def test_include_and_exclude_are_applied_last(db: Database, town: dict[str, int]) -> None:
    a = await make_partner(db, name="A", languages=["so"], area_ids=[town["syd"]])
    b = await make_partner(db, name="B", languages=["so"], area_ids=[town["syd"]])
    outsider = await make_partner(
        db, name="Z", languages=["pl"], area_ids=[town["nord"]], status="paused"
    )
    gone = await make_partner(db, name="Gone", languages=["so"], status="offboarded")
    async with unit_of_work(db, None) as session:
        result = await audiences.resolve(
            session,
            AudienceSpec(languages=["so"], include_ids=[outsider.id, gone.id], exclude_ids=[b.id]),
        )  # type: ignore[list-item]
    assert [o.id for o in result.organisations] == [a.id, outsider.id]  # offboarded never


async def test_audience_api_resolves_saves_and_refuses_partners(
    client: httpx.AsyncClient, db: Database, town: dict[str, int]
) -> None:
    officer = await make_user(db, role=Role.officer)
    partner_org = await make_partner(db, name="Somali", languages=["so"], area_ids=[town["vest"]])
    partner_user = await make_contact(db, partner_org)
    raw = await api_token(client, db, officer)
    spec = {"languages": ["so"], "uptake_below": 70}
    resolved = await client.post("/api/v1/audiences/resolve", json=spec, headers=bearer(raw))
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["partner_count"] == 1 and body["contact_count"] == 1
    assert body["partners"][0]["name"] == "Somali"
    saved = await client.post(
        "/api/v1/audiences", json={"name": "Somali, low uptake", "spec": spec}, headers=bearer(raw)
    )
    assert saved.status_code == 201
    again = await client.post(
        "/api/v1/audiences", json={"name": "Somali, low uptake", "spec": spec}, headers=bearer(raw)
    )
    assert again.status_code == 409
    bad = await client.post(
        "/api/v1/audiences/resolve", json={"languages": ["somali"]}, headers=bearer(raw)
    )
    assert bad.status_code == 422
    unknown_area = await client.post(
        "/api/v1/audiences/resolve", json={"area_ids": [99999]}, headers=bearer(raw)
    )
    assert unknown_area.status_code == 422
    partner_raw = await api_token(client, db, partner_user)
    refused = await client.post("/api/v1/audiences/resolve", json=spec, headers=bearer(partner_raw))
    assert refused.status_code == 403
    listed = await client.get("/api/v1/audiences", headers=bearer(raw))
    assert [a["name"] for a in listed.json()] == ["Somali, low uptake"]


async def test_a_child_is_judged_by_its_own_uptake_and_inherits_only_without_one(
    db: Database,
) -> None:
    district = await make_area(db, code="D", uptake=[("2026-10-01", 66.0)])
    doing_well = await make_area(
        db, code="D-1", parent_id=district, kind="housing_area", uptake=[("2026-10-01", 91.0)]
    )
    unmeasured = await make_area(db, code="D-2", parent_id=district, kind="housing_area")
    await make_partner(db, name="Well", languages=["so"], area_ids=[doing_well])
    await make_partner(db, name="Unmeasured", languages=["so"], area_ids=[unmeasured])
    async with unit_of_work(db, None) as session:
        result = await audiences.resolve(session, AudienceSpec(languages=["so"], uptake_below=70))
    assert [o.name for o in result.organisations] == ["Unmeasured"]
    assert set(result.target_area_ids) == {district, unmeasured}
