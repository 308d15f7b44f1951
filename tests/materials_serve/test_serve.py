"""Downloads: Range, ETag/If-None-Match, file names, headers, HEAD and X-Accel-Redirect.

A small app of its own calls `file_response` the way the hub's download routes do, with the
object in each media store: on local disk, and in a bucket of moto's S3 server.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response

from hub.errors import HubError
from hub.i18n import LanguageMiddleware
from hub.main import handle_hub_error
from hub.materials.serve import CHUNK_SIZE, ascii_fallback, content_disposition, file_response
from hub.materials.storage import LocalStorage, Storage

SIZE = 2 * CHUNK_SIZE + 12345  # more than one chunk, and not a multiple of it
ACCEL = "/_protected_media/"


@dataclass(frozen=True)
class Obj:
    """An object in a media store, as a download route names it."""

    storage: Storage
    key: str


@pytest.fixture
def storage(media_store: Storage) -> Storage:
    return media_store


def put(storage: Storage, key: str, content: bytes, tmp_path: Path) -> Obj:
    source = tmp_path / f"source-{key}"
    source.write_bytes(content)
    storage.put_file(source, key)
    return Obj(storage, key)


@pytest.fixture
def film(storage: Storage, tmp_path: Path) -> tuple[Obj, bytes, str]:
    content = os.urandom(SIZE)
    return put(storage, "abcdef", content, tmp_path), content, hashlib.sha256(content).hexdigest()


def make_app(obj: Obj, etag: str, **options: Any) -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(HubError, handle_hub_error)
    app.add_middleware(LanguageMiddleware)
    options.setdefault("content_type", "video/mp4")
    options.setdefault("download_name", "film.mp4")

    @app.api_route("/api/file", methods=["GET", "HEAD"])
    async def download(request: Request) -> Response:
        return await file_response(request, obj.storage, obj.key, etag=etag, **options)

    return app


@pytest.fixture
async def served(film: tuple[Obj, bytes, str]) -> AsyncIterator[httpx.AsyncClient]:
    obj, _content, sha = film
    async with client_for(make_app(obj, sha)) as c:
        yield c


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def filenames(header: str) -> tuple[str, str]:
    """(the exact name decoded from filename*, the plain filename); filename* must keep to
    RFC 5987's grammar: attr-chars and %XX only."""
    exact = re.search(r"; filename\*=UTF-8''((?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+)$", header)
    plain = re.search(r'; filename="([ -!#-\[\]-~]*)";', header)  # printable, no " or \\
    assert exact, header
    assert plain, header
    return unquote(exact.group(1), errors="strict"), plain.group(1)


# --- whole file ----------------------------------------------------------------------------


async def test_full_download_streams_the_exact_bytes_with_the_download_headers(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str]
) -> None:
    _obj, content, sha = film
    response = await served.get("/api/file")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["etag"] == f'"{sha}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith('attachment; filename="film.mp4"')
    assert "sandbox" in response.headers["content-security-policy"]  # an SVG runs nothing
    assert "last-modified" in response.headers


async def test_head_gives_the_headers_of_a_get_without_the_body(served: httpx.AsyncClient) -> None:
    response = await served.head("/api/file")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"

    ranged = await served.head("/api/file", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged.content == b""
    assert ranged.headers["content-range"] == f"bytes 0-99/{SIZE}"
    assert ranged.headers["content-length"] == "100"


# --- ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=1000-1999", 1000, 1999),  # the middle
        (f"bytes={CHUNK_SIZE - 10}-{2 * CHUNK_SIZE + 10}", CHUNK_SIZE - 10, 2 * CHUNK_SIZE + 10),
        ("bytes=-100", SIZE - 100, SIZE - 1),  # the last 100
        ("bytes=100-", 100, SIZE - 1),  # from 100 to the end
        (f"bytes=100-{SIZE * 10}", 100, SIZE - 1),  # a last byte past the end is the end
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),  # a suffix longer than the file is all of it
        ("bytes=0-0", 0, 0),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
        ("Bytes = 5 - 9", 5, 9),  # spaces and case are tolerated
    ],
)
async def test_a_range_is_answered_with_206_and_exactly_those_bytes(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str], header: str, first: int, last: int
) -> None:
    _obj, content, sha = film
    response = await served.get("/api/file", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.content == content[first : last + 1]
    assert response.headers["etag"] == f'"{sha}"'
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={SIZE}-",  # starts at the end
        f"bytes={SIZE + 500}-{SIZE + 600}",  # wholly past the end
        "bytes=-0",  # an empty suffix
        "bytes=abc",
        "bytes=5-2",  # last before first
        "bytes=-",
        "bytes=",
        "bytes=1-2,x",
        "items=0-1",  # a unit we do not have
        "0-1",
        "bytes=" + "1" * 300 + "-",  # absurdly long
    ],
)
async def test_an_unsatisfiable_or_malformed_range_is_416_with_the_size(
    served: httpx.AsyncClient, header: str
) -> None:
    response = await served.get("/api/file", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == b""


async def test_several_ranges_get_the_whole_file(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str]
) -> None:
    response = await served.get("/api/file", headers={"Range": "bytes=0-9,100-199,0-5"})
    assert response.status_code == 200
    assert response.content == film[1]
    assert "content-range" not in response.headers


async def test_if_range_serves_the_range_only_while_the_etag_still_matches(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str]
) -> None:
    _obj, content, sha = film
    same = await served.get("/api/file", headers={"Range": "bytes=0-9", "If-Range": f'"{sha}"'})
    assert same.status_code == 206
    assert same.content == content[:10]

    for stale in ('"0123"', f'W/"{sha}"'):  # another version; a weak tag never matches If-Range
        whole = await served.get("/api/file", headers={"Range": "bytes=0-9", "If-Range": stale})
        assert whole.status_code == 200
        assert whole.content == content

    by_date = await served.get(
        "/api/file", headers={"Range": "bytes=0-9", "If-Range": same.headers["last-modified"]}
    )
    assert by_date.status_code == 206


# --- If-None-Match -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        '"{sha}"',  # exact
        '"other", "{sha}"',  # in a list
        "*",
        'W/"{sha}"',  # a weak tag matches for If-None-Match
        'W/"x",W/"{sha}"',
    ],
)
async def test_a_matching_if_none_match_is_304_without_a_body(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str], header: str
) -> None:
    sha = film[2]
    for method in ("GET", "HEAD"):
        response = await served.request(
            method, "/api/file", headers={"If-None-Match": header.format(sha=sha)}
        )
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == f'"{sha}"'
        assert response.headers["cache-control"] == "private, no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_if_none_match_wins_over_range(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str]
) -> None:
    response = await served.get(
        "/api/file", headers={"If-None-Match": f'"{film[2]}"', "Range": "bytes=0-9"}
    )
    assert response.status_code == 304


@pytest.mark.parametrize("header", ['"other"', '"other", W/"another"', "", '"abc'])
async def test_an_if_none_match_for_another_version_gets_the_file(
    served: httpx.AsyncClient, film: tuple[Obj, bytes, str], header: str
) -> None:
    response = await served.get("/api/file", headers={"If-None-Match": header})
    assert response.status_code == 200
    assert response.content == film[1]


# --- names and types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("Vaccination før vinteren.mp4", "Vaccination foer vinteren.mp4"),
        ("لقاح.pdf", "download.pdf"),
        ("Ærø Ålborg plakat.PNG", "AEroe AAlborg plakat.PNG"),
        ("Café – spørgsmål & svar.pdf", "Cafe _ spoergsmaal _ svar.pdf"),
        ("Talaalka-Somali.docx", "Talaalka-Somali.docx"),
        ('a"b\r\n\\c.txt', "a_b_c.txt"),  # nothing that could break out of the header
        ("\u202efdp.exe", "fdp.exe"),  # a right-to-left override cannot disguise the type
        ("noextension", "noextension"),
    ],
)
async def test_the_file_name_survives_in_filename_star_with_an_ascii_fallback(
    film: tuple[Obj, bytes, str], name: str, fallback: str
) -> None:
    obj, _content, sha = film
    async with client_for(make_app(obj, sha, download_name=name)) as c:
        response = await c.get("/api/file", headers={"Range": "bytes=0-0"})
    header = response.headers["content-disposition"]
    assert header.isascii()
    assert header.startswith("attachment;")
    exact, plain = filenames(header)
    cleaned = name.replace("\r", "").replace("\n", "").replace("\\", "_").replace("\u202e", "")
    assert exact == cleaned
    assert plain == fallback
    assert ascii_fallback(name) == fallback


def test_inline_disposition_for_pictures_shown_in_pages() -> None:
    header = content_disposition("Plakat på arabisk – ملصق.png", inline=True)
    assert header.startswith("inline;")
    assert filenames(header)[0] == "Plakat på arabisk – ملصق.png"


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/csv; charset=utf-8", "text/csv; charset=utf-8"),
        ("application/pdf", "application/pdf"),
        ("video/mp4\r\nX-Evil: 1", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
async def test_content_type_is_explicit_and_text_gets_a_charset(
    film: tuple[Obj, bytes, str], given: str, sent: str
) -> None:
    obj, _content, sha = film
    async with client_for(make_app(obj, sha, content_type=given)) as c:
        response = await c.head("/api/file")
    assert response.headers["content-type"] == sent
    assert "x-evil" not in response.headers


# --- missing files and nginx ---------------------------------------------------------------


async def test_a_vanished_file_is_404(film: tuple[Obj, bytes, str]) -> None:
    obj, _content, sha = film
    missing = [Obj(obj.storage, "gone00")]
    if isinstance(obj.storage, LocalStorage):  # a directory where the file should be
        obj.storage.path("dir000").mkdir(parents=True)
        missing.append(Obj(obj.storage, "dir000"))
    for gone in missing:
        async with client_for(make_app(gone, sha)) as c:
            response = await c.get("/api/file", headers={"Accept-Language": "en"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "The file is no longer available."


async def test_accel_redirect_hands_the_file_to_nginx(tmp_path: Path) -> None:
    sha = "0" * 64
    app = make_app(
        Obj(LocalStorage(tmp_path), "abcdef"),  # nginx reads the file, not the app: none here
        sha,
        accel_prefix=ACCEL,
        download_name="Vaccination før vinteren.mp4",
    )
    async with client_for(app) as c:
        for method in ("GET", "HEAD"):
            response = await c.request(method, "/api/file", headers={"Range": "bytes=0-9"})
            assert response.status_code == 200  # nginx answers the Range
            assert response.content == b""
            assert response.headers["x-accel-redirect"] == "/_protected_media/ab/abcdef"
            assert response.headers["content-type"] == "video/mp4"
            assert response.headers["etag"] == f'"{sha}"'
            assert response.headers["x-content-type-options"] == "nosniff"
            assert filenames(response.headers["content-disposition"])[0] == (
                "Vaccination før vinteren.mp4"
            )
        cached = await c.get("/api/file", headers={"If-None-Match": f'"{sha}"'})
    assert cached.status_code == 304
    assert "x-accel-redirect" not in cached.headers


async def test_an_etag_that_would_break_the_header_is_refused(
    film: tuple[Obj, bytes, str],
) -> None:
    with pytest.raises(ValueError, match="ETag"):
        await file_response(
            Request({"type": "http", "method": "GET", "headers": []}),
            film[0].storage,
            film[0].key,
            content_type="video/mp4",
            download_name="x.mp4",
            etag='ab"c',
        )


async def test_a_file_that_vanishes_before_it_is_sent_is_still_a_404(
    film: tuple[Obj, bytes, str],
) -> None:
    obj, _content, sha = film
    app = FastAPI()
    app.add_exception_handler(HubError, handle_hub_error)

    @app.get("/api/file")
    async def download(request: Request) -> Response:
        response = await file_response(
            request, obj.storage, obj.key, content_type="video/mp4", download_name="x.mp4", etag=sha
        )
        obj.storage.delete(obj.key)  # e.g. deleted by an officer between the check and sending
        return response

    async with client_for(app) as c:
        response = await c.get("/api/file")
    assert response.status_code == 404


async def test_an_empty_file_downloads_as_empty_and_has_no_ranges(
    storage: Storage, tmp_path: Path
) -> None:
    empty = put(storage, "empty0", b"", tmp_path)
    async with client_for(make_app(empty, "e3b0c442", content_type="text/plain")) as c:
        whole = await c.get("/api/file")
        ranged = await c.get("/api/file", headers={"Range": "bytes=0-"})
    assert whole.status_code == 200
    assert whole.content == b""
    assert whole.headers["content-length"] == "0"
    assert ranged.status_code == 416
    assert ranged.headers["content-range"] == "bytes */0"


async def test_a_client_that_leaves_stops_the_reading(storage: Storage, tmp_path: Path) -> None:
    long = put(storage, "long00", os.urandom(8 * CHUNK_SIZE), tmp_path)
    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.3"}}
    response = await file_response(
        Request(scope),
        long.storage,
        long.key,
        content_type="video/mp4",
        download_name="x.mp4",
        etag="abc",
    )
    bodies: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message["body"])
        await anyio.sleep(0.01)  # the network takes its time

    await response(scope, receive, send)  # type: ignore[arg-type]
    assert 1 <= len(bodies) < 8
