"""Uploading materials through the API: every allowed kind, types that must be refused, one
copy per content, the size cap enforced while the body streams, and nothing left behind."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.main import create_app
from hub.models import Material, Role
from tests.factories import api_token, bearer, make_contact, make_partner, make_user
from tests.materials import samples
from tests.materials.conftest import CONTENT_TYPE, UPLOAD_URL, CountedBody, files_in, multipart

MiB = 1024 * 1024


async def materials(db: Database) -> list[Material]:
    async with unit_of_work(db, None, write=False) as session:
        return list((await session.exec(select(Material))).all())


def upload_files(name: str, content: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, content, "application/octet-stream")}


def assert_refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    for word in words:
        assert word in problem["detail"], problem["detail"]
    return problem


async def test_every_allowed_kind_is_stored_under_its_hash(
    client: httpx.AsyncClient,
    db: Database,
    media: Path,
    settings: Settings,
    staff_headers: dict[str, str],
) -> None:
    redis = aioredis.Redis.from_url(settings.redis_url)
    stored_files = []
    try:
        for name, content, kind, content_type in samples.ALLOWED:
            response = await client.post(
                UPLOAD_URL, files=upload_files(name, content), headers=staff_headers
            )

            assert response.status_code == 201, (name, response.text)
            body = response.json()
            sha256 = hashlib.sha256(content).hexdigest()
            extension = name.rsplit(".", 1)[1].lower()
            assert body["created"] is True
            assert body["sha256"] == sha256
            assert body["size"] == len(content)
            assert (body["kind"], body["content_type"]) == (kind, content_type), name
            assert body["original_filename"] == name
            assert body["processing_status"] == ("pending" if kind == "film" else "none")
            # Stored under a server-made name, byte for byte, readable by the hub only.
            stored = media / "objects" / sha256[:2] / f"{sha256}.{extension}"
            assert stored.read_bytes() == content, name
            assert stored.stat().st_mode & 0o777 == 0o600
            stored_files.append(stored)

            read = await client.get(f"{UPLOAD_URL}/{body['id']}", headers=staff_headers)
            assert read.status_code == 200
            assert read.json()["sha256"] == sha256 and "created" not in read.json()

            # A film is handed to processing once the upload is committed.
            job = f"arq:job:{settings.redis_prefix}materials.process_film:{body['id']}"
            assert await redis.exists(job) == (1 if kind == "film" else 0), name
    finally:
        await redis.aclose()
    assert files_in(media) == sorted(stored_files)  # and no temp file


async def test_the_same_file_twice_is_stored_once(
    client: httpx.AsyncClient, db: Database, media: Path, staff_headers: dict[str, str]
) -> None:
    content = samples.png(seed=7)
    first = await client.post(
        UPLOAD_URL, files=upload_files("plakat.png", content), headers=staff_headers
    )
    second = await client.post(
        UPLOAD_URL, files=upload_files("en anden plakat.png", content), headers=staff_headers
    )

    assert first.status_code == 201 and first.json()["created"] is True
    assert second.status_code == 200 and second.json()["created"] is False
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["original_filename"] == "plakat.png"
    assert len(await materials(db)) == 1
    assert len(files_in(media)) == 1  # one object, no temp file


async def test_a_missing_object_is_restored_by_uploading_it_again(
    client: httpx.AsyncClient, db: Database, media: Path, staff_headers: dict[str, str]
) -> None:
    content = samples.pdf()
    first = await client.post(
        UPLOAD_URL, files=upload_files("a.pdf", content), headers=staff_headers
    )
    (stored,) = files_in(media)
    stored.unlink()

    again = await client.post(
        UPLOAD_URL, files=upload_files("a.pdf", content), headers=staff_headers
    )

    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert stored.read_bytes() == content


MISMATCHED = [
    ("plakat.pdf", samples.png(), ["PNG", ".pdf"]),
    ("film.mp4", samples.mov(), ["MOV", ".mp4"]),
    ("film.mov", samples.mp4(), ["MP4", ".mov"]),
    ("film.webm", samples.webm(b"matroska"), ["MKV"]),
    ("lyd.mp3", samples.pdf(), ["PDF", ".mp3"]),
    ("billede.jpg", b"just some words", [".jpg"]),
    ("manuskript.odt", samples.docx(), ["DOCX", ".odt"]),
    ("manuskript.docx", samples.odt(), ["ODT", ".docx"]),
    ("noter.txt", samples.pdf(), ["PDF"]),
    ("noter.txt", samples.png(), ["PNG"]),
]


async def test_content_that_does_not_match_its_extension_is_refused(
    client: httpx.AsyncClient, db: Database, media: Path, staff_headers: dict[str, str]
) -> None:
    for name, content, words in MISMATCHED:
        response = await client.post(
            UPLOAD_URL, files=upload_files(name, content), headers=staff_headers
        )

        problem = assert_refused(response, 422, *words)
        assert problem["errors"][0]["field"] == "file"
    assert await materials(db) == []
    assert files_in(media) == []


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


REFUSED = [
    ("logo.svg", SVG, ["SVG", "HTML", "films (MP4"]),
    ("side.html", HTML, ["SVG, HTML"]),
    ("side.HTM", HTML, ["SVG, HTML"]),
    ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00", ["cannot be uploaded", "images (PNG"]),
    ("arkiv.zip", samples.docx(), ["cannot be uploaded"]),
    ("uden-endelse", samples.pdf(), ["cannot be uploaded"]),
    ("side.txt", HTML, ["HTML markup"]),
    ("logo.md", b"\xef\xbb\xbf\n  " + SVG, ["SVG markup"]),
    ("data.txt", b'<?xml version="1.0"?><svg/>', ["XML markup"]),
    ("billede.png", HTML, ["HTML markup"]),
    ("tom.pdf", b"", ["empty"]),
    ("latin1.txt", "Blåbærgrød".encode("latin-1"), ["UTF-8"]),
    ("utf16.txt", "Hej verden".encode("utf-16"), ["UTF-8"]),
]


async def test_scripts_markup_and_unknown_types_are_refused(
    client: httpx.AsyncClient, db: Database, media: Path, staff_headers: dict[str, str]
) -> None:
    for name, content, words in REFUSED:
        response = await client.post(
            UPLOAD_URL, files=upload_files(name, content), headers=staff_headers
        )

        problem = assert_refused(response, 422, *words)
        assert problem["errors"][0]["field"] == "file"
    assert await materials(db) == []
    assert files_in(media) == []


async def test_text_is_checked_to_the_end_not_just_its_start(
    client: httpx.AsyncClient, media: Path, staff_headers: dict[str, str]
) -> None:
    start = samples.txt() * 200  # well past the first 4 KiB that are sniffed
    for tail in (b"\xff\xfe broken", b"a NUL \x00 in the middle"):
        response = await client.post(
            UPLOAD_URL, files=upload_files("lang.txt", start + tail), headers=staff_headers
        )
        assert_refused(response, 422, "UTF-8")
    assert files_in(media) == []

    # A character cut in half at the sniffing boundary is fine.
    shifted = b"x" * 4095 + "ø".encode() + samples.txt()
    response = await client.post(
        UPLOAD_URL, files=upload_files("lang.txt", shifted), headers=staff_headers
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (samples.docx(content_types=False), [".docx"]),  # a ZIP that only looks like one
        (samples.docx({"word/vbaProject.bin": b"\x00" * 64}), ["macros"]),
    ],
)
async def test_a_docx_is_checked_against_its_zip_directory(
    client: httpx.AsyncClient,
    media: Path,
    staff_headers: dict[str, str],
    content: bytes,
    words: list[str],
) -> None:
    response = await client.post(
        UPLOAD_URL, files=upload_files("brev.docx", content), headers=staff_headers
    )
    assert_refused(response, 422, *words)
    assert files_in(media) == []


async def test_the_uploaded_name_is_only_metadata(
    client: httpx.AsyncClient, db: Database, media: Path, staff_headers: dict[str, str]
) -> None:
    names = {
        "../../x.pdf": "x.pdf",
        "..\\..\\windows\\system32\\plakat.pdf": "plakat.pdf",
        "Plakat – Gellerup æøå ملصق.pdf": "Plakat – Gellerup æøå ملصق.pdf",
        "faktura\u202egnp.pdf": "fakturagnp.pdf",  # a bidi override that disguises the end
        "..pdf": "pdf",
    }
    for seed, (sent, kept) in enumerate(names.items()):
        content = samples.pdf() + b"%" + bytes([seed])
        response = await client.post(
            UPLOAD_URL,
            content=multipart(sent, content),
            headers={**staff_headers, **CONTENT_TYPE},
        )
        if kept == "pdf":  # nothing but an extension left: no name, so not a known type
            assert_refused(response, 422, "cannot be uploaded")
            continue
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["original_filename"] == kept
        assert (media / "objects" / body["sha256"][:2] / f"{body['sha256']}.pdf").is_file()

    stored = files_in(media)
    assert len(stored) == 4
    hashes = {m.sha256 for m in await materials(db)}
    assert {p.name.removesuffix(".pdf") for p in stored} == hashes
    assert not (media.parent / "x.pdf").exists() and not (media / "x.pdf").exists()


async def test_text_fields_beside_the_file_are_accepted_within_limits(
    client: httpx.AsyncClient, media: Path, staff_headers: dict[str, str]
) -> None:
    headers = {**staff_headers, **CONTENT_TYPE}
    ok = await client.post(
        UPLOAD_URL,
        content=multipart("a.png", samples.png(), fields={"language": "ar", "note": "مرحبا"}),
        headers=headers,
    )
    assert ok.status_code == 201, ok.text

    long = await client.post(
        UPLOAD_URL,
        content=multipart("b.png", samples.png(seed=2), fields={"note": "x" * (65 * 1024)}),
        headers=headers,
    )
    problem = assert_refused(long, 422, "64 KiB")
    assert problem["errors"][0]["field"] == "note"
    assert len(files_in(media)) == 1


MALFORMED = [
    (multipart(None, b"no file here", name="note"), 422, ["Choose a file"]),
    (multipart("", b"", name="file"), 422, ["Choose a file"]),
    (multipart(None, b"text where the file belongs", name="file"), 422, ["exactly one"]),
    (multipart("a.png", samples.png(), name="picture"), 422, ["exactly one"]),
    (
        multipart("a.png", samples.png(), closed=False) + multipart("b.png", samples.png(seed=3)),
        422,
        ["exactly one"],
    ),
    (multipart("a.png", samples.png(), closed=False), 400, ["incomplete"]),
    (multipart("a.png", samples.png())[:200], 400, ["incomplete"]),
    (b"--" + b"x" * 100, 400, ["incomplete"]),
]


async def test_malformed_forms_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, db: Database, media: Path, staff_headers: dict[str, str]
) -> None:
    for body, status, words in MALFORMED:
        response = await client.post(
            UPLOAD_URL, content=body, headers={**staff_headers, **CONTENT_TYPE}
        )
        assert_refused(response, status, *words)
    assert files_in(media) == []
    assert await materials(db) == []


async def test_a_body_that_is_not_multipart_is_refused(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    response = await client.post(UPLOAD_URL, json={"file": "x"}, headers=staff_headers)
    assert_refused(response, 400, "multipart/form-data")


# --- who may upload, and when the body is read ---------------------------------------------


async def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(
    client: httpx.AsyncClient, media: Path
) -> None:
    for headers in ({}, bearer("not-a-token")):
        body = CountedBody(multipart("film.mp4", samples.mp4(b"\x00" * 4 * MiB)))
        response = await client.post(
            UPLOAD_URL, content=body.stream(), headers={**headers, **CONTENT_TYPE}
        )
        assert_refused(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert body.chunks_pulled == 0
    assert files_in(media) == []


async def test_a_partner_may_not_upload(
    client: httpx.AsyncClient, db: Database, media: Path
) -> None:
    contact = await make_contact(db, await make_partner(db), password=None)
    body = CountedBody(multipart("a.png", samples.png()))
    response = await client.post(
        UPLOAD_URL,
        content=body.stream(),
        headers={**bearer(await api_token(client, db, contact)), **CONTENT_TYPE},
    )
    assert_refused(response, 403)
    assert body.chunks_pulled == 0
    assert files_in(media) == []


async def test_an_admin_may_upload_and_reading_needs_staff(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_user(db, role=Role.admin, password=None)
    response = await client.post(
        UPLOAD_URL,
        files=upload_files("a.webp", samples.webp()),
        headers=bearer(await api_token(client, db, admin)),
    )
    assert response.status_code == 201
    contact = await make_contact(db, await make_partner(db), password=None)
    partner_headers = bearer(await api_token(client, db, contact))
    denied = await client.get(f"{UPLOAD_URL}/{response.json()['id']}", headers=partner_headers)
    assert denied.status_code == 403
    missing = await client.get(
        f"{UPLOAD_URL}/999999", headers=bearer(await api_token(client, db, admin))
    )
    assert_refused(missing, 404, "does not exist")


# --- the size cap --------------------------------------------------------------------------


@pytest.fixture
async def small_cap_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"max_upload_mb": 1}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_a_file_over_the_cap_is_refused_while_it_streams(
    small_cap_client: httpx.AsyncClient, db: Database, media: Path
) -> None:
    officer = await make_user(db, role=Role.officer, password=None)
    headers = {**bearer(await api_token(small_cap_client, db, officer)), **CONTENT_TYPE}
    body = CountedBody(multipart("film.mp4", samples.mp4(os.urandom(3 * MiB))))

    response = await small_cap_client.post(UPLOAD_URL, content=body.stream(), headers=headers)

    assert_refused(response, 413, "1 MiB")
    assert body.bytes_pulled <= 2 * MiB  # the cap + 1 MiB at most
    assert body.bytes_pulled < len(body.body)
    assert files_in(media) == []
    assert await materials(db) == []

    # A declared length over the limit is refused before a byte of the body is read.
    declared = CountedBody(multipart("film.mp4", samples.mp4(os.urandom(3 * MiB))))
    response = await small_cap_client.post(
        UPLOAD_URL,
        content=declared.stream(),
        headers={**headers, "Content-Length": str(len(declared.body))},
    )
    assert_refused(response, 413)
    assert declared.chunks_pulled == 0

    # Just under the cap is fine.
    fits = multipart("film.mp4", samples.mp4(os.urandom(MiB - 100)))
    response = await small_cap_client.post(UPLOAD_URL, content=fits, headers=headers)
    assert response.status_code == 201, response.text


# --- clients that go away ------------------------------------------------------------------


def http_scope(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": UPLOAD_URL,
        "raw_path": UPLOAD_URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def test_a_client_that_disconnects_mid_upload_leaves_no_temp_file(
    app: FastAPI, client: httpx.AsyncClient, db: Database, media: Path
) -> None:
    officer = await make_user(db, role=Role.officer, password=None)
    headers = {**bearer(await api_token(client, db, officer)), **CONTENT_TYPE}
    body = multipart("film.mp4", samples.mp4(os.urandom(12 * MiB)))
    chunks = [body[i : i + MiB] for i in range(0, 9 * MiB, MiB)]  # then the client is gone
    seen_temp = []

    async def receive() -> dict[str, Any]:
        seen_temp.append(bool(list((media / "tmp").glob("*.part"))))
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(http_scope(headers), receive, send)  # type: ignore[arg-type]

    assert any(seen_temp), "the upload never reached the disk"
    assert files_in(media) == []
    assert await materials(db) == []
    assert sent[0]["status"] == 400  # written to nobody, but not a 500


async def test_a_cancelled_upload_leaves_no_temp_file(
    app: FastAPI, client: httpx.AsyncClient, db: Database, media: Path
) -> None:
    officer = await make_user(db, role=Role.officer, password=None)
    headers = {**bearer(await api_token(client, db, officer)), **CONTENT_TYPE}
    body = multipart("film.mp4", samples.mp4(os.urandom(12 * MiB)))
    chunks = [body[i : i + MiB] for i in range(0, 9 * MiB, MiB)]
    stalled = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        stalled.set()
        await asyncio.Event().wait()  # the client stalls; the server gives up on it
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        pass

    task = asyncio.create_task(app(http_scope(headers), receive, send))  # type: ignore[arg-type]
    await asyncio.wait_for(stalled.wait(), 10)
    assert list((media / "tmp").glob("*.part"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    for _ in range(100):  # the writer thread removes it once its last write is done
        if not files_in(media):
            break
        await asyncio.sleep(0.02)
    assert files_in(media) == []
    assert await materials(db) == []


async def test_a_client_that_goes_away_over_a_real_connection_leaves_nothing(
    settings: Settings, db: Database, media: Path
) -> None:
    import socket

    import uvicorn

    officer = await make_user(db, role=Role.officer, password=None)
    async with unit_of_work(db, None) as session:
        from hub.auth import service as auth

        _token, raw = await auth.create_api_token(session, user=officer, name="test")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="error", ws="none"
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        body = multipart("film.mp4", samples.mp4(os.urandom(16 * MiB)))
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"POST {UPLOAD_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {raw}\r\nContent-Type: {CONTENT_TYPE['Content-Type']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body[: 10 * MiB]
        )
        await writer.drain()
        for _ in range(250):
            if list((media / "tmp").glob("*.part")):
                break
            await asyncio.sleep(0.02)
        assert list((media / "tmp").glob("*.part")), "the upload never reached the disk"
        writer.transport.abort()  # the browser tab is closed

        for _ in range(250):
            if not files_in(media):
                break
            await asyncio.sleep(0.02)
        assert files_in(media) == []
        assert await materials(db) == []
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


async def test_the_openapi_schema_describes_the_multipart_body(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"][UPLOAD_URL]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file"]
    assert body["properties"]["file"]["format"] == "binary"
    assert {"200", "201", "413", "422"} <= set(operation["responses"])
