"""The import pages: upload, dry run, commit; and the streaming body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from hub.db import Database
from hub.imports.csvfile import MAX_BYTES
from hub.models import Role
from tests.factories import (
    api_token,
    bearer,
    csrf_from,
    login,
    make_contact,
    make_partner,
    make_user,
)

DATA = Path(__file__).resolve().parent.parent / "data"
EN = {"Accept-Language": "en"}


async def _upload(client: httpx.AsyncClient, fmt: str, name: str) -> httpx.Response:
    page = await client.get("/imports", headers=EN)
    return await client.post(
        f"/imports/{fmt}",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": (name, (DATA / name).read_bytes(), "text/csv")},
        headers=EN,
    )


async def test_upload_check_and_commit_areas_then_partners(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    preview = await _upload(client, "areas", "areas_uptake.csv")
    assert preview.status_code == 200
    assert "Check before importing" in preview.text
    assert "6 areas: 6 to create, 0 to update, 0 unchanged" in preview.text
    assert "Import now" in preview.text
    # Nothing written by the dry run.
    assert (await client.get("/api/v1/areas")).json()["total"] == 0
    token = preview.text.split('name="token" value="')[1].split('"')[0]
    done = await client.post(
        "/imports/areas/commit",
        data={"csrf_token": csrf_from(preview.text), "token": token},
        headers=EN,
    )
    assert done.status_code == 200 and "The import is done" in done.text
    assert "6 areas: 6 created" in done.text
    # The stored file is used once.
    again = await client.post(
        "/imports/areas/commit", data={"csrf_token": csrf_from(done.text), "token": token}
    )
    assert again.status_code == 404

    partners = await _upload(client, "partners", "partners_semicolon_cp1252.csv")
    assert partners.status_code == 200
    token = partners.text.split('name="token" value="')[1].split('"')[0]
    await client.post(
        "/imports/partners/commit", data={"csrf_token": csrf_from(partners.text), "token": token}
    )
    listing = await client.get("/partners", headers=EN)
    assert "5 partners" in listing.text
    # Re-importing the same file changes nothing.
    repeat = await _upload(client, "partners", "partners_semicolon_cp1252.csv")
    assert "5 organisations: 0 to create, 0 to update, 5 unchanged" in repeat.text


async def test_a_file_with_errors_lists_them_and_cannot_be_committed(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    response = await _upload(client, "partners", "partners_with_errors.csv")
    assert response.status_code == 400
    assert "The file has errors" in response.text
    assert "Nothing has been imported." in response.text
    assert "Import now" not in response.text and 'name="token"' not in response.text
    assert "<td>3</td><td>kind</td>" in response.text


async def test_missing_file_and_expired_token(client: httpx.AsyncClient, db: Database) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    page = await client.get("/imports")
    empty = await client.post(
        "/imports/partners", data={"csrf_token": csrf_from(page.text)}, headers=EN
    )
    assert empty.status_code == 400 and 'id="file_partners-error"' in empty.text
    expired = await client.post(
        "/imports/partners/commit", data={"csrf_token": csrf_from(page.text), "token": "nope"}
    )
    assert expired.status_code == 404
    wrong_format = await client.post("/imports/users", data={"csrf_token": csrf_from(page.text)})
    assert wrong_format.status_code in (400, 404)


async def test_partners_cannot_import(client: httpx.AsyncClient, db: Database) -> None:
    organisation = await make_partner(db)
    contact = await make_contact(db, organisation, coordinator=True)
    await login(client, contact.email)
    assert (await client.get("/imports")).status_code == 403


async def test_oversized_uploads_are_refused_while_streaming(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    page = await client.get("/imports")
    declared = await client.post(
        "/imports/partners",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("big.csv", b"x" * (MAX_BYTES + 512 * 1024), "text/csv")},
    )
    assert declared.status_code == 413

    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n"
        )
        for _ in range(64):  # 64 MiB offered, without a Content-Length
            sent += 1
            yield b"y" * (1024 * 1024)

    streamed = await client.post(
        "/api/v1/imports/partners",
        content=chunks(),
        headers={
            "Content-Type": "multipart/form-data; boundary=xyz",
            **bearer(await api_token(client, db, officer)),
        },
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"
    assert sent < 20  # refused long before the whole body was read
