"""Reading a forward report's form: one multipart body that may carry a photo as evidence.

The text fields are collected as the body streams in; once a chosen file shows up, the whole
body goes through the materials upload machinery from its first byte (which checks, hashes
and streams the file to disk). The CSRF token travels inside the body and is checked before
anything is stored, and the report is checked before the photo is stored, so a refused form
leaves no file behind.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import ClientDisconnect

from hub.errors import BadRequest, FieldError, HubError, InvalidInput, PayloadTooLarge
from hub.forms import field_errors, parse_id
from hub.forwards import service
from hub.i18n import _
from hub.materials.storage import Storage
from hub.materials.upload import (
    FILE_FIELD,
    MAX_FIELD_BYTES,
    ReceivedUpload,
    boundary_of,
    discard_upload,
    receive_upload,
    safe_filename,
)
from hub.models import Campaign, ReportKind

# The text fields of a report form come to a few KiB; a body that is larger before its file
# starts is not one of our forms.
MAX_FORM_BYTES = 1024 * 1024
MAX_FORM_FIELDS = 80


# --- reading the form -------------------------------------------------------------------------


def _malformed() -> BadRequest:
    return BadRequest(_("The upload is incomplete or malformed. Try again."))


class _FormFields:
    """The text fields of a multipart form (repeated names kept), skipping file data, and
    whether a file was chosen in the ``file`` field."""

    def __init__(self, boundary: bytes) -> None:
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
        self.fields: dict[str, list[str]] = {}
        self.file_chosen = False
        self.complete = False
        self.count = 0
        self._header_name = bytearray()
        self._header_value_bytes = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value = bytearray()

    def _part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._value = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value_bytes += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).strip().lower()] = bytes(self._header_value_bytes)
        self._header_name = bytearray()
        self._header_value_bytes = bytearray()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise _malformed()
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            # A browser sends an empty file field when no file was chosen.
            filename = safe_filename(options[b"filename"].decode("utf-8", "replace"))
            if name == FILE_FIELD and filename:
                self.file_chosen = True
            return
        self.count += 1
        if self.count > MAX_FORM_FIELDS:
            raise InvalidInput(_("The form has too many fields."))
        self._name = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name is None:
            return  # file data: the upload machinery reads it
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            message = _("This field is longer than %(size)d KiB.") % {
                "size": MAX_FIELD_BYTES // 1024
            }
            raise InvalidInput(message, errors=[FieldError(self._name, message)])

    def _part_end(self) -> None:
        if self._name is None:
            return
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            message = _("This field contains characters that cannot be stored.")
            raise InvalidInput(message, errors=[FieldError(self._name, message)]) from None
        self.fields.setdefault(self._name, []).append(value)
        self._name = None

    def _end(self) -> None:
        self.complete = True

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except FormParserError:
            raise _malformed() from None

    def finish(self) -> None:
        try:
            self.parser.finalize()
        except FormParserError:
            raise _malformed() from None
        if not self.complete:
            raise _malformed()


@dataclass
class ReceivedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    upload: ReceivedUpload | None = None
    # Why the body could not be taken (a refused or too large file, a broken form): the form
    # is shown again with the fields that came before it.
    error: HubError | None = None

    def first(self, name: str) -> str:
        values = self.fields.get(name) or [""]
        return values[0]


async def _replay(
    buffered: list[bytes], rest: AsyncIterator[bytes], reader: _FormFields
) -> AsyncIterator[bytes]:
    for chunk in buffered:
        yield chunk
    async for chunk in rest:
        reader.feed(chunk)  # the fields after the file, too
        yield chunk


async def receive_form(request: Request, session: AsyncSession, storage: Storage) -> ReceivedForm:
    """The report form's fields and its photo, if one was chosen (the caller discards it)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        return ReceivedForm(
            fields={k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
        )
    boundary = boundary_of(content_type)
    # As for every upload: no transaction (on SQLite no write lock) while the body streams in.
    await session.commit()
    reader = _FormFields(boundary)
    try:
        return await _stream_form(request, content_type, reader, storage)
    except ClientDisconnect:
        return ReceivedForm(fields=reader.fields, error=_malformed())
    except HubError as exc:
        return ReceivedForm(fields=reader.fields, error=exc)


async def _stream_form(
    request: Request, content_type: str, reader: _FormFields, storage: Storage
) -> ReceivedForm:
    stream = request.stream()
    buffered: list[bytes] = []
    size = 0
    async for chunk in stream:
        buffered.append(chunk)
        size += len(chunk)
        reader.feed(chunk)
        if reader.file_chosen:
            break
        if size > MAX_FORM_BYTES:
            raise PayloadTooLarge(_("The form is too large."))
    else:
        reader.finish()
        return ReceivedForm(fields=reader.fields)
    # A file was chosen: the whole body, from its first byte, goes through the upload
    # machinery (the reader keeps collecting the fields that come after the file).
    upload = await receive_upload(
        content_type,
        _replay(buffered, stream, reader),
        storage=storage,
        max_bytes=request.state.hub.settings.max_upload_bytes,
    )
    try:
        reader.finish()
    except BaseException:
        await discard_upload(storage, upload)
        raise
    return ReceivedForm(fields=reader.fields, upload=upload)


# --- from form fields to report values ----------------------------------------------------------

_DAY_FIRST = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})$")


def _parse_day(text: str) -> date | None:
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = _DAY_FIRST.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


# Whole numbers, with thousands grouped by dots, commas or spaces ("1.200", "1,200", "1 200");
# "12.5" is refused rather than read as 125.
_COUNT = re.compile(r"^(?:[0-9]{1,12}|[0-9]{1,3}(?:([.,\u00a0 ])[0-9]{3})(?:\1[0-9]{3}){0,3})$")


def _parse_count(text: str) -> int | None:
    text = text.strip()
    if not _COUNT.match(text):
        return None
    return int(re.sub(r"[^0-9]", "", text))


# Which form field shows an error about a report field.
_FORM_FIELD = {"item_id": "variant", "language": "variant"}


def form_values(kind: ReportKind, received: ReceivedForm) -> dict[str, Any]:
    """What the partner typed, to show again."""
    values: dict[str, Any] = {"kind": kind.value, "variant": received.first("variant")}
    for name in service.fields_of(kind):
        if name == "languages":
            values[name] = received.fields.get(name, [])
        elif name not in ("item_id", "language"):
            values[name] = received.first(name)
    values["remove_evidence"] = received.first("remove_evidence")
    return values


def report_values(
    kind: ReportKind, form: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The typed values of a report from the form, and the fields that could not be read."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    variant = str(form.get("variant", "")).strip()
    values["item_id"] = values["language"] = None
    if variant:
        item_text, colon, language = variant.partition(":")
        item_id = parse_id(item_text)
        if not colon or item_id is None or not language:
            errors.append(FieldError("variant", _("Choose one of the versions offered.")))
        else:
            values["item_id"], values["language"] = item_id, language
    for name in service.fields_of(kind):
        if name in ("item_id", "language"):
            continue
        raw = form.get(name)
        if name == "languages":
            values[name] = list(raw or [])
        elif name == "occurred_on":
            text = str(raw or "").strip()
            values[name] = _parse_day(text) if text else None
            if text and values[name] is None:
                errors.append(FieldError(name, _("Enter a date, e.g. 2026-11-24.")))
        elif name in service.COUNT_FIELDS:
            text = str(raw or "").strip()
            values[name] = _parse_count(text) if text else None
            if text and values[name] is None:
                errors.append(FieldError(name, _("Enter a whole number, e.g. 120.")))
        else:
            values[name] = str(raw or "")
    return values, errors


def page_errors(exc: HubError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, message in field_errors(exc).items():
        errors.setdefault(_FORM_FIELD.get(name, name), message)
    return errors


async def checked_values(
    session: AsyncSession,
    campaign: Campaign,
    kind: ReportKind,
    values: dict[str, Any],
    unreadable: list[FieldError],
    upload: ReceivedUpload | None,
) -> None:
    """With fields that could not be read, the report is only checked (so every error shows
    at once) and refused; nothing is stored."""
    if not unreadable:
        return
    errors = list(unreadable)
    taken = {e.field for e in errors}
    try:
        await service.check_report(session, campaign=campaign, kind=kind, values=values)
    except InvalidInput as exc:
        errors += [e for e in exc.errors if _FORM_FIELD.get(e.field, e.field) not in taken]
    if upload is not None:
        try:
            service.check_evidence(upload)
        except InvalidInput as exc:
            errors += exc.errors
    raise InvalidInput(_("Some fields need a correction; see errors."), errors=errors)
