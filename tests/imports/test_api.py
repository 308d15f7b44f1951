"""The import and export routes: dry run, commit, 422 with every bad row, staff only, and an
export that Excel opens and the import takes back unchanged."""

from __future__ import annotations

import codecs

import httpx

from hub.db import Database
from hub.models import Role
from tests.factories import api_token, bearer, make_organisation, make_user
from tests.imports.conftest import sample, snapshot


async def officer_headers(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    officer = await make_user(db, role=Role.officer)
    return bearer(await api_token(client, db, officer))


def upload(name: str, content: bytes | None = None) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, sample(name) if content is None else content, "text/csv")}


async def test_dry_run_then_commit(client: httpx.AsyncClient, db: Database) -> None:
    headers = await officer_headers(client, db)
    before = await snapshot(db)
    dry = await client.post(
        "/api/v1/imports/areas", files=upload("areas_uptake.csv"), headers=headers
    )
    assert dry.status_code == 200
    body = dry.json()
    assert body["committed"] is False and body["errors"] == []
    assert body["counts"] == {
        "area": {"create": 6, "update": 0, "skip": 0},
        "uptake": {"create": 11, "update": 0, "skip": 0},
    }
    assert body["changes"][0] == {
        "object": "area",
        "action": "create",
        "key": "MJ",
        "line": 2,
        "fields": [],
    }
    assert await snapshot(db) == before

    committed = await client.post(
        "/api/v1/imports/areas?commit=true", files=upload("areas_uptake.csv"), headers=headers
    )
    assert committed.status_code == 200
    assert committed.json()["committed"] is True
    assert committed.json()["counts"]["area"]["create"] == 6
    assert len((await snapshot(db))["area"]) == 6

    # The flag also works as a form field (an HTML form); the second time nothing changes.
    again = await client.post(
        "/api/v1/imports/partners",
        files=upload("partners_semicolon_cp1252.csv"),
        data={"commit": "true"},
        headers=headers,
    )
    assert again.status_code == 200 and again.json()["committed"] is True
    assert again.json()["counts"]["organisation"]["create"] == 5
    repeat = await client.post(
        "/api/v1/imports/partners?commit=true",
        files=upload("partners_semicolon_cp1252.csv"),
        headers=headers,
    )
    assert repeat.json()["counts"] == {
        "organisation": {"create": 0, "update": 0, "skip": 5},
        "contact": {"create": 0, "update": 0, "skip": 5},
    }


async def test_committing_a_file_with_errors_is_422_and_writes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    headers = await officer_headers(client, db)
    await client.post(
        "/api/v1/imports/areas?commit=true", files=upload("areas_uptake.csv"), headers=headers
    )
    before = await snapshot(db)
    dry = await client.post(
        "/api/v1/imports/partners", files=upload("partners_with_errors.csv"), headers=headers
    )
    assert dry.status_code == 200
    assert [(e["line"], e["column"]) for e in dry.json()["errors"]][:3] == [
        (3, "kind"),
        (5, "languages"),
        (5, "contact_email"),
    ]

    refused = await client.post(
        "/api/v1/imports/partners?commit=true",
        files=upload("partners_with_errors.csv"),
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["detail"] == "The file has 10 errors; nothing was imported."
    assert len(problem["errors"]) == 10
    assert problem["errors"][-1] == {
        "field": "contact_email",
        "message": "line 13, column contact_email: A contact needs an e-mail address.",
    }
    assert await snapshot(db) == before


async def test_a_file_that_is_not_csv(client: httpx.AsyncClient, db: Database) -> None:
    headers = await officer_headers(client, db)
    workbook = upload("partners.xlsx", b"PK\x03\x04\x14\x00\x06\x00 a workbook")
    dry = await client.post("/api/v1/imports/partners", files=workbook, headers=headers)
    assert dry.status_code == 200
    assert dry.json()["errors"][0]["reason"].startswith("This is an Excel workbook")
    refused = await client.post(
        "/api/v1/imports/partners?commit=1", files=workbook, headers=headers
    )
    assert refused.status_code == 422
    missing = await client.post("/api/v1/imports/partners", headers=headers)
    assert missing.status_code == 422


async def test_only_staff(client: httpx.AsyncClient, db: Database) -> None:
    organisation = await make_organisation(db)
    partner = await make_user(db, role=Role.partner, organisation_id=organisation.id)
    headers = bearer(await api_token(client, db, partner))
    for response in (
        await client.post(
            "/api/v1/imports/areas", files=upload("areas_uptake.csv"), headers=headers
        ),
        await client.get("/api/v1/exports/partners.csv", headers=headers),
        await client.get("/api/v1/exports/areas.csv", headers=headers),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = await client.post("/api/v1/imports/areas", files=upload("areas_uptake.csv"))
    assert anonymous.status_code == 401
    assert (await snapshot(db))["area"] == []


async def test_export_opens_in_excel_and_reimports_unchanged(
    client: httpx.AsyncClient, db: Database
) -> None:
    headers = await officer_headers(client, db)
    for path, name in (
        ("areas", "areas_uptake.csv"),
        ("partners", "partners_semicolon_cp1252.csv"),
        ("partners", "partners_comma_utf8_bom.csv"),
    ):
        response = await client.post(
            f"/api/v1/imports/{path}?commit=true", files=upload(name), headers=headers
        )
        assert response.status_code == 200, response.text

    exported = await client.get("/api/v1/exports/partners.csv", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"].startswith('attachment; filename="partners-')
    assert exported.content.startswith(codecs.BOM_UTF8)
    text = exported.content.decode("utf-8-sig")
    assert text.splitlines()[0] == (
        "external_id;name;kind;description;languages;areas;channels;status;notes;contact_name;"
        "contact_email;contact_phone;contact_language;contact_notify;contact_role"
    )
    assert "\r\n" in text
    # Danish letters intact; a phone number that Excel would take for a formula is guarded.
    assert "Ældre Sagen Brønshøj" in text
    assert "'+45 31 44 55 66" in text
    assert len(text.splitlines()) == 1 + 8 + 2  # 8 contacts, 2 organisations without any

    before = await snapshot(db)
    for delimiter in ("semicolon", "comma", "tab"):
        export = await client.get(
            f"/api/v1/exports/partners.csv?delimiter={delimiter}", headers=headers
        )
        back = await client.post(
            "/api/v1/imports/partners?commit=true",
            files=upload("export.csv", export.content),
            headers=headers,
        )
        assert back.status_code == 200, back.text
        assert back.json()["delimiter"] == delimiter
        assert back.json()["counts"] == {
            "organisation": {"create": 0, "update": 0, "skip": 7},
            "contact": {"create": 0, "update": 0, "skip": 8},
        }
    areas = await client.get("/api/v1/exports/areas.csv?delimiter=comma", headers=headers)
    assert areas.content.startswith(codecs.BOM_UTF8)
    back = await client.post(
        "/api/v1/imports/areas?commit=true",
        files=upload("areas.csv", areas.content),
        headers=headers,
    )
    assert back.json()["counts"] == {
        "area": {"create": 0, "update": 0, "skip": 6},
        "uptake": {"create": 0, "update": 0, "skip": 11},
    }
    assert await snapshot(db) == before

    bad = await client.get("/api/v1/exports/areas.csv?delimiter=pipe", headers=headers)
    assert bad.status_code == 422
