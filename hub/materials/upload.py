"""Receive an uploaded file: the multipart body is parsed as it streams in and the file goes
straight into a storage temp file, hashed and checked on the way.

Nothing is buffered beyond a few MiB and nothing is copied twice: Starlette's ``UploadFile``
would spool the file to a temporary file first and copy it again afterwards (about 0.17x the
speed of ``cp && sync`` on a large film; see ``bench/upload.py`` for this path). Hashing (with
the text check) and writing run side by side in worker threads, one batch at a time, while the
event loop receives the next batch; the storage starts writing back to disk as data arrives, so
little is left for the fsync at the end.

The size cap is enforced on the file part as it arrives (413 as soon as it is passed); a body
that is larger for other reasons is stopped by :class:`hub.limits.BodyLimitMiddleware`. On any
failure (bad type, too large, malformed body, a client that goes away, cancellation) the temp
file is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import threading
import unicodedata
from collections.abc import AsyncIterable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from hub.errors import BadRequest, FieldError, InvalidInput, PayloadTooLarge
from hub.i18n import _
from hub.materials import sniff
from hub.materials.storage import Storage, TempFile
from hub.models import MaterialKind

FILE_FIELD = sniff.FIELD
# Large enough that one system call moves a lot, small enough that memory stays flat
# (at most two batches are held: one being written, one being received).
WRITE_BATCH = 4 * 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16
MAX_FILENAME_LENGTH = 255
FALLBACK_STEM = "file"

# Shared by all uploads. Each upload has at most one hashing and one writing job in flight
# (they work on the same batch side by side), so its hash and its file keep their order.
_writers = ThreadPoolExecutor(max_workers=16, thread_name_prefix="hub-upload")

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass
class ReceivedUpload:
    """A file received into a storage temp file, checked and hashed, not yet stored."""

    sha256: str
    size: int
    kind: MaterialKind
    content_type: str
    extension: str
    original_filename: str
    temp: TempFile
    fields: dict[str, str] = field(default_factory=dict)


def safe_filename(raw: str) -> str:
    """The uploaded name as metadata: its last path segment, without control or bidi
    characters (which can disguise an extension), NFC, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw.replace("%22", '"'))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn") and ch not in _BIDI_CONTROLS
    )
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            name = f"{stem[: MAX_FILENAME_LENGTH - len(extension) - 1]}.{extension}"
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def _malformed() -> BadRequest:
    return BadRequest(_("The upload is incomplete or malformed. Try again."))


def _one_file() -> InvalidInput:
    return sniff.refuse(_("Send exactly one file, in the form field named file."))


def _no_file() -> InvalidInput:
    return sniff.refuse(_("Choose a file to upload."))


def _field_error(name: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError(name, message)])


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        _("The file is larger than %(size)d MiB. Split it into smaller files.")
        % {"size": max(1, max_bytes // (1024 * 1024))}
    )


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a request's Content-Type, or BadRequest."""
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary", b"")
    if media_type != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise BadRequest(_("Send the file as multipart/form-data, in a form field named file."))
    return boundary


class _Receiver:
    """The parser's callbacks (synchronous) and the writing they lead to (in a thread)."""

    def __init__(
        self,
        boundary: bytes,
        *,
        storage: Storage,
        max_bytes: int,
        before_file: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.before_file = before_file
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )
        # The part being parsed.
        self._name_buffer = bytearray()
        self._value_buffer = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._field_name: str | None = None
        self._field_value = bytearray()
        self._in_file = False
        # The file.
        self.temp: TempFile | None = None
        self.filename = ""
        self.extension = ""
        self.size = 0
        self.head = bytearray()
        self.file_done = False
        self.sniffed: tuple[MaterialKind, str] | None = None
        self.text_check: sniff.TextCheck | None = None
        self.hash = hashlib.sha256()
        self.pending: list[bytes | memoryview] = []
        self.pending_bytes = 0
        self.in_flight: list[Future[None]] = []
        # The rest of the form.
        self.fields: dict[str, str] = {}
        self.complete = False

    # --- parser callbacks (run inside parser.write, on the event loop) ---------------------

    def _part_begin(self) -> None:
        self._headers = {}
        self._field_name = None
        self._field_value = bytearray()
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name_buffer += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value_buffer += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._name_buffer).strip().lower()] = bytes(self._value_buffer)
        self._name_buffer = bytearray()
        self._value_buffer = bytearray()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise _malformed()
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" not in options and name != FILE_FIELD:
            if len(self.fields) >= MAX_FIELDS:
                raise _field_error(name, _("The form has too many fields."))
            self._field_name = name
            return
        self._check_fields()  # the file (or what stands in its place) begins
        if b"filename" not in options:
            raise _one_file()  # a text value where the file belongs
        if name != FILE_FIELD or self.temp is not None:
            raise _one_file()
        filename = safe_filename(options[b"filename"].decode("utf-8", "replace"))
        if not filename:
            raise _no_file()  # a browser's empty file input
        file_type = sniff.file_type(sniff.extension_of(filename))  # before a byte is written
        self.filename = filename
        self.extension = file_type.extension
        self.temp = self.storage.open_temp()
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            if self._field_name is None:
                return
            self._field_value += data[start:end]
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise _field_error(
                    self._field_name,
                    _("This field is longer than %(size)d KiB.")
                    % {"size": MAX_FIELD_BYTES // 1024},
                )
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if type(data) is bytes:
            view: bytes | memoryview = memoryview(data)[start:end]  # no copy
        else:  # a buffer the server may reuse: copy it
            view = bytes(data[start:end])
        if len(self.head) < sniff.HEAD_BYTES:
            self.head += view[: sniff.HEAD_BYTES - len(self.head)]
        self.pending.append(view)
        self.pending_bytes += end - start

    def _part_end(self) -> None:
        if self._in_file:
            self.file_done = True
            self._in_file = False
        elif self._field_name is not None:
            try:
                self.fields[self._field_name] = self._field_value.decode("utf-8")
            except UnicodeDecodeError:
                raise _field_error(
                    self._field_name, _("This field contains characters that cannot be stored.")
                ) from None
            self._field_name = None

    def _end(self) -> None:
        self.complete = True

    def _check_fields(self) -> None:
        """Run the caller's check of the fields sent before the file (a form's CSRF token),
        once, before a byte of the file is written or the form is judged otherwise."""
        check, self.before_file = self.before_file, None
        if check is not None:
            check(self.fields)

    # --- streaming -----------------------------------------------------------------------------

    async def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except FormParserError:
            raise _malformed() from None
        if self.temp is None:
            return
        if self.sniffed is None and (len(self.head) >= sniff.HEAD_BYTES or self.file_done):
            self.sniffed = sniff.sniff(bytes(self.head), self.extension)
            self.text_check = sniff.text_check(self.extension)
        if self.sniffed is not None and self.pending_bytes >= WRITE_BATCH:
            await self._flush()

    def _digest(self, buffers: list[bytes | memoryview]) -> None:
        """Hash (and check) one batch, in a worker thread."""
        for buffer in buffers:
            self.hash.update(buffer)
            if self.text_check is not None:
                self.text_check.feed(buffer)

    async def _flush(self) -> None:
        buffers, self.pending, self.pending_bytes = self.pending, [], 0
        await self._wait_for_writer()
        if buffers:
            assert self.temp is not None
            # Both release the GIL: hashing and writing a batch take the time of the slower.
            self.in_flight = [
                _writers.submit(self._digest, buffers),
                # In the request's context: a full disk is refused in the reader's language.
                _writers.submit(contextvars.copy_context().run, self.temp.write, buffers),
            ]

    async def _wait_for_writer(self) -> None:
        jobs = self.in_flight
        if not jobs:
            return
        await asyncio.wait([asyncio.wrap_future(job) for job in jobs])
        self.in_flight = []
        for job in jobs:
            job.result()  # its error, if it failed

    async def finish(self) -> ReceivedUpload:
        self.parser.finalize()
        self._check_fields()  # a body without a file part
        if not self.complete:
            raise _malformed()
        if self.temp is None:
            raise _no_file()
        if self.sniffed is None:  # a file smaller than the head
            self.sniffed = sniff.sniff(bytes(self.head), self.extension)
            self.text_check = sniff.text_check(self.extension)
        await self._flush()
        await self._wait_for_writer()
        temp = self.temp
        if self.text_check is not None:
            self.text_check.finish()
        # In the request's context, so that a refusal speaks the user's language.
        context = contextvars.copy_context()
        await asyncio.wrap_future(
            _writers.submit(context.run, sniff.check_stored, temp.path, self.extension)
        )
        # fsync: durable before stored (in the request's context, like the writes)
        await asyncio.wrap_future(_writers.submit(contextvars.copy_context().run, temp.close))
        kind, content_type = self.sniffed
        return ReceivedUpload(
            sha256=self.hash.hexdigest(),
            size=self.size,
            kind=kind,
            content_type=content_type,
            extension=self.extension,
            original_filename=self.filename,
            temp=temp,
            fields=self.fields,
        )

    async def abandon(self, *, cancelled: bool) -> None:
        """Remove the temp file once no write to it is in flight."""
        self.pending = []
        temp = self.temp
        if temp is None:
            return
        if cancelled:
            # Awaiting is not possible any more: the last job to finish removes it.
            _after_all(self.in_flight, lambda: self.storage.discard(temp))
            return
        # Their errors, if any, are not the one to report.
        with contextlib.suppress(Exception):
            await self._wait_for_writer()
        await asyncio.wrap_future(_writers.submit(self.storage.discard, temp))


def _after_all(jobs: list[Future[None]], then: Callable[[], None]) -> None:
    """Run ``then`` in a worker thread once every job is done (now, if none is running)."""
    remaining = [job for job in jobs if not job.done()]
    if not remaining:
        _writers.submit(then)
        return
    lock = threading.Lock()
    count = [len(remaining)]

    def one_done(_job: Future[None]) -> None:
        with lock:
            count[0] -= 1
            last = count[0] == 0
        if last:
            then()

    for job in remaining:
        job.add_done_callback(one_done)


async def receive_upload(
    content_type: str | None,
    chunks: AsyncIterable[bytes],
    *,
    storage: Storage,
    max_bytes: int,
    before_file: Callable[[dict[str, str]], None] | None = None,
) -> ReceivedUpload:
    """Parse a multipart/form-data body with one file (field ``file``) and small text fields.

    The file lands in a storage temp file; the caller commits or discards it. Raises
    InvalidInput (wrong or refused type, bad fields), PayloadTooLarge (over ``max_bytes``) or
    BadRequest (not multipart, malformed or cut short); then no temp file is left.
    ``before_file`` sees the fields sent before the file, when the file part begins (or at
    the end, without one), and may raise to refuse the upload before its file is read.
    """
    receiver = _Receiver(
        boundary_of(content_type), storage=storage, max_bytes=max_bytes, before_file=before_file
    )
    try:
        async for chunk in chunks:
            if chunk:
                await receiver.feed(chunk)
        return await receiver.finish()
    except BaseException as exc:
        # Cancellation (or an interpreter exit) allows no more awaiting.
        await receiver.abandon(cancelled=not isinstance(exc, Exception))
        raise


async def discard_upload(storage: Storage, upload: ReceivedUpload) -> None:
    """Remove an upload's temp file unless it was stored (idempotent)."""
    if not upload.temp.finished:
        await asyncio.wrap_future(_writers.submit(storage.discard, upload.temp))
