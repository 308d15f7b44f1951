"""Serve a stored file as a download: Range, ETag, explicit type and an RFC 5987 file name.

The routes decide who may download and record the download; this module only answers the
HTTP side for a file they have already allowed.

Starlette's ``FileResponse`` (1.10 here) streams, answers HEAD and serves single and multiple
ranges with ``If-Range``, but it does not fit as it is:

* it never compares ``If-None-Match`` (it only sends an ETag), so no 304;
* a malformed ``Range`` gets 400, not 416 with ``Content-Range: bytes */size``, and its 416 is
  a bare text reply without ``nosniff``, the ETag or the cache policy;
* each request costs four thread hops (open, seek, read, close) and a disconnect-watching task:
  1 MiB Range requests ran at about half the rate of one ``pread`` per chunk
  (``bench/download.py``), and with its default 64 KiB chunks a full film at a quarter.

So the conditions and the Range header are judged here, and :class:`_FileStream` sends the
bytes from the media store's range reader: on local disk one ``pread`` of up to 1 MiB per chunk
in a worker thread (the first one also opens the file), from a bucket the ranged GET's body
read a chunk at a time; a disconnect watcher runs only when there is more than one chunk.
Several ranges get the whole file, which RFC 9110 allows: players never ask for them, and it
rules out amplification by many overlapping ranges.
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import formatdate
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hub.errors import NotFound
from hub.i18n import _
from hub.materials.storage import ObjectMissing, ObjectReader, Storage, StoredObject

CHUNK_SIZE = 1024 * 1024
# Browsers must revalidate every time (the ETag makes that cheap) and shared caches must
# not keep a partner's file at all.
CACHE_CONTROL = "private, no-cache"
# A stored file opened on its own (an SVG poster, say) runs nothing and loads nothing.
SANDBOX_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
FALLBACK_STEM = "download"
# A Range header longer than this is not a real client's.
MAX_RANGE_HEADER = 200

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "AE", "Ø": "OE", "Å": "AA"})
_UNSAFE_IN_FALLBACK = re.compile(r"[^A-Za-z0-9 ._()+-]+")
_ETAG_IN_LIST = re.compile(r'(?:W/)?"([^"]*)"')
_BYTE_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


# --- file names ------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    """The name without control characters, bidi overrides (which can disguise an
    extension) or path separators: it is never a path. Zero-width joiners stay, Urdu and
    Persian spelling needs them."""
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn") and ch not in _BIDI_CONTROLS
    )
    return name.replace("/", "_").replace("\\", "_").strip() or FALLBACK_STEM


def _to_ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_DANISH))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))  # é → e, ü → u
    text = _UNSAFE_IN_FALLBACK.sub("_", text)
    return re.sub(r"_+", "_", text)


def ascii_fallback(name: str) -> str:
    """An ASCII file name for old clients: æ→ae, ø→oe, å→aa, accents dropped, anything
    else becomes ``_``; the extension is kept."""
    stem, dot, extension = _clean_name(name).rpartition(".")
    if not dot or not stem:  # no extension, or a name like ".bashrc"
        stem, extension = _clean_name(name), ""
    stem = _to_ascii(stem).strip(" ._")
    extension = _to_ascii(extension).strip(" ._")
    if not any(ch.isalnum() for ch in stem):
        stem = FALLBACK_STEM  # e.g. an Arabic name: "____.pdf" would help nobody
    return f"{stem}.{extension}" if extension else stem


def content_disposition(name: str, inline: bool = False) -> str:
    """``attachment`` (or ``inline``) with an ASCII ``filename`` and the exact name as an
    RFC 5987 ``filename*``, which every current browser prefers."""
    disposition = "inline" if inline else "attachment"
    exact = quote(_clean_name(name), safe="")
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{exact}"


# --- conditional requests and ranges -----------------------------------------------------


def _strong_etag(value: str) -> str:
    tag = value.strip()
    if tag.startswith('"') and tag.endswith('"') and len(tag) >= 2:
        tag = tag[1:-1]
    if not tag or any(ch == '"' or not (0x21 <= ord(ch) <= 0x7E) for ch in tag):
        raise ValueError(f"not usable as an ETag: {value!r}")
    return f'"{tag}"'


def _none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match matches (weak comparison, RFC 9110 13.1.2)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return etag[1:-1] in _ETAG_IN_LIST.findall(header)


def _parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Inclusive (first, last) byte pairs, or None when the header is malformed or no part of
    it can be satisfied; both answer 416."""
    if len(header) > MAX_RANGE_HEADER:
        return None
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    for spec in specs.split(","):
        match = _BYTE_RANGE.match(spec)
        if match is None:
            return None
        first_text, last_text = match.groups()
        if first_text:
            first = int(first_text)
            last = int(last_text) if last_text else size - 1
            if last < first:
                return None
            if first >= size:
                continue  # this part cannot be satisfied; another may be
            ranges.append((first, min(last, size - 1)))
        elif last_text:
            suffix = int(last_text)
            if suffix > 0 and size > 0:
                ranges.append((max(size - suffix, 0), size - 1))
        else:
            return None  # a bare "-"
    return ranges or None


class _FileStream(Response):
    """Bytes ``first``..``last`` (inclusive) of a stored object, or only the headers for HEAD."""

    def __init__(
        self,
        storage: Storage,
        key: str,
        *,
        status_code: int,
        headers: dict[str, str],
        first: int,
        last: int,
    ) -> None:
        self.storage = storage
        self.key = key
        self.status_code = status_code
        self.background = None
        self.first = first
        self.last = last
        self.init_headers(headers)

    def _open_and_read(self) -> tuple[ObjectReader, bytes]:
        reader = self.storage.open_range(self.key, self.first, self.last)
        try:
            return reader, reader.read(min(CHUNK_SIZE, self.last - self.first + 1))
        except BaseException:
            reader.close()
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        if scope.get("method") == "HEAD" or self.last < self.first:
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        try:
            # Opened before the response starts, so an object that vanished is still a 404.
            reader, chunk = await anyio.to_thread.run_sync(self._open_and_read)
        except ObjectMissing:
            raise NotFound(_("The file is no longer available.")) from None
        try:
            await send(start)
            if self.first + len(chunk) > self.last:  # one chunk: nothing to watch for
                await send({"type": "http.response.body", "body": chunk})
                return
            async with anyio.create_task_group() as group:

                async def stop_on_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()  # the client left: stop reading the file

                group.start_soon(stop_on_disconnect)
                await self._stream(send, reader, chunk)
                group.cancel_scope.cancel()
        finally:
            if self.storage.local:
                reader.close()  # closing a file descriptor does not block
            else:
                await anyio.to_thread.run_sync(reader.close)

    async def _stream(self, send: Send, reader: ObjectReader, chunk: bytes) -> None:
        position = self.first
        while True:
            if not chunk:
                raise RuntimeError(f"{self.key} is shorter than its Content-Length")
            position += len(chunk)
            more = position <= self.last
            try:
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
            except OSError:
                return  # servers of ASGI spec 2.4 say so when the client has gone
            if not more:
                return
            size = min(CHUNK_SIZE, self.last - position + 1)
            chunk = await anyio.to_thread.run_sync(reader.read, size)


async def _stat_object(storage: Storage, key: str) -> StoredObject:
    try:
        if storage.local:  # a stat is a few microseconds on a local disk: not worth a thread
            return storage.stat(key)
        return await anyio.to_thread.run_sync(storage.stat, key)
    except ObjectMissing:
        raise NotFound(_("The file is no longer available.")) from None


def _safe_content_type(content_type: str) -> str:
    value = content_type.strip()
    if not value or not value.isascii() or any(ord(ch) < 0x20 for ch in value):
        return "application/octet-stream"
    if value.lower().startswith("text/") and "charset=" not in value.lower():
        value += "; charset=utf-8"
    return value


async def file_response(
    request: Request,
    storage: Storage,
    key: str,
    *,
    content_type: str,
    download_name: str,
    etag: str,
    accel_prefix: str = "",
    inline: bool = False,
) -> Response:
    """Answer a GET or HEAD for a stored object the caller has allowed: 200, 206, 304 or 416.

    ``etag`` is the content's hash (a strong validator: the stored bytes never change under
    it). With ``accel_prefix`` (local storage only) the answer is an empty 200 with
    ``X-Accel-Redirect: <accel_prefix><the object's path below objects/>`` and nginx sends the
    file (and does Range itself); the file is then not looked at here. Raises NotFound when the
    object is missing.
    """
    strong_etag = _strong_etag(etag)
    headers = {
        "ETag": strong_etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_CSP,
    }
    media_type = _safe_content_type(content_type)
    disposition = content_disposition(download_name, inline=inline)
    # If-None-Match goes before Range (RFC 9110 13.2.2); a GET and a HEAD get a 304.
    not_modified = _none_match(request.headers.get("if-none-match"), strong_etag)

    if accel_prefix:
        if not_modified:
            return Response(status_code=304, headers=headers)
        headers["X-Accel-Redirect"] = accel_prefix + quote(storage.relative(key), safe="/")
        headers["Content-Disposition"] = disposition
        return Response(b"", headers=headers, media_type=media_type)

    stored = await _stat_object(storage, key)
    size = stored.size
    headers["Accept-Ranges"] = "bytes"
    headers["Last-Modified"] = formatdate(stored.modified, usegmt=True)
    if not_modified:
        return Response(status_code=304, headers=headers)

    first, last, status = 0, size - 1, 200
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    # A Range whose If-Range no longer matches asks for the whole, current file.
    if range_header is not None and (
        if_range is None or if_range.strip() in (strong_etag, headers["Last-Modified"])
    ):
        ranges = _parse_range(range_header, size)
        if ranges is None:
            return Response(
                status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
            )
        if len(ranges) == 1:  # several: the whole file (see the module docstring)
            (first, last), status = ranges[0], 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"

    headers["Content-Type"] = media_type
    headers["Content-Disposition"] = disposition
    headers["Content-Length"] = str(last - first + 1)
    return _FileStream(storage, key, status_code=status, headers=headers, first=first, last=last)
