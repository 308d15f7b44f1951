"""Every report as CSV and XLSX: one or more tables of typed columns, with small cells hidden.

CSV is UTF-8 with a byte-order mark (Excel then reads æ, ø, å and Arabic right), CRLF line
ends, ``,`` or ``;`` as the caller chooses (``;`` is what Danish Excel expects). Numbers are
written plainly (no thousands separators) with a decimal comma in ``;`` files and a point in
``,`` files, dates as ISO 8601. One table is a header and its rows, nothing else, so
``csv.DictReader`` reads it back; several tables each start with a title row and are
separated by a blank line. Notes go in the XLSX only: a trailing block would turn a
one-table CSV into something a program can no longer read.

XLSX has one sheet per table: a bold, frozen header, counts and numbers as numbers, dates as
dates, percents (given as 0-100, like ``AreaUptake.share_percent``) with a ``%`` format, and
the notes under the table.

Small cells: in a column marked ``small_cell`` a count ``0 < n < threshold`` is written as the
text ``"<5"`` (for a threshold of 5). Zero stays 0, it points at nobody, and "<5" for an empty
row would suggest activity that never happened. ``small_cell_threshold=None`` (officers' own
exports) writes exact counts. A total over suppressed cells can give them away by
subtraction: the caller decides whether a total is shown to the same audience.

Text that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or CR) gets a
leading apostrophe in CSV; in XLSX every text is written as a string cell, never a formula.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

import xlsxwriter
from starlette.responses import Response

from hub.materials.serve import content_disposition

Kind = Literal["text", "count", "number", "percent", "date"]
Delimiter = Literal[",", ";"]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_NUMERIC_KINDS = frozenset({"count", "number", "percent"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel's limits on sheet names: 31 UTF-16 units, none of []:*?/\, no apostrophe at either
# end, unique ignoring case, and "History" is its own.
_SHEET_NAME_MAX = 31
_SHEET_NAME_CHARS = str.maketrans(
    {"/": "-", "\\": "-", ":": "-", "[": "(", "]": ")", "*": None, "?": None}
)
_RESERVED_SHEET_NAMES = frozenset({"history"})
_FALLBACK_SHEET_NAME = "Sheet"
_MIN_WIDTH, _MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class Column:
    key: str  # key in each row mapping
    title: str  # header as shown, already translated
    kind: Kind = "text"
    small_cell: bool = False  # a count of people or visitors: hidden below the threshold

    def __post_init__(self) -> None:
        if self.small_cell and self.kind != "count":
            raise ValueError(f"only a count column can hide small cells: {self.key}")


@dataclass(frozen=True)
class Table:
    title: str  # sheet name (sanitised) and, among several tables in a CSV, the title row
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, object]]
    notes: Sequence[str] = field(default=())  # under the table, XLSX only


@dataclass(frozen=True)
class _Small:
    """A suppressed count such as "<5": text, right-aligned like the counts around it."""

    text: str


_Cell = None | str | int | float | Decimal | date | _Small


def suppress(value: int | None, threshold: int | None) -> int | str | None:
    """``"<5"`` for a count ``0 < value < threshold``; 0, larger counts, None and any value
    when ``threshold`` is None come back unchanged."""
    if value is None or threshold is None or not 0 < value < threshold:
        return value
    return f"<{threshold}"


def _prepare(column: Column, value: object, threshold: int | None) -> _Cell:
    """The value as it will be written: blank, text, a suppressed count, a number or a date."""
    if value is None:
        return None
    if (isinstance(value, float) and not math.isfinite(value)) or (
        isinstance(value, Decimal) and not value.is_finite()
    ):
        return None  # a share of nothing: no figure rather than "nan"
    if column.small_cell and isinstance(value, int) and not isinstance(value, bool):
        shown = suppress(value, threshold)
        if isinstance(shown, str):
            return _Small(shown)
    if (
        column.kind in _NUMERIC_KINDS
        and isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
    ):
        return value
    if column.kind == "date" and isinstance(value, date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            # Spreadsheets know no time zones: every time is written in UTC.
            return value.astimezone(UTC).replace(tzinfo=None)
        return value
    return str(value)


def _tables(tables: Table | Sequence[Table]) -> list[Table]:
    found = [tables] if isinstance(tables, Table) else list(tables)
    if not found:
        raise ValueError("an export needs at least one table")
    return found


# --- CSV ---------------------------------------------------------------------------------


def _guard(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _decimal(value: float | Decimal, delimiter: str) -> str:
    # Fixed point (never "1e-05"), without trailing zeros.
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    if text in ("", "-0"):
        text = "0"
    return text.replace(".", ",") if delimiter == ";" else text


def _csv_text(cell: _Cell, delimiter: str) -> str:
    if cell is None:
        return ""
    if isinstance(cell, _Small):
        return cell.text
    if isinstance(cell, str):
        return _guard(cell)
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float | Decimal):
        return _decimal(cell, delimiter)
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    return cell.isoformat()


def to_csv(
    tables: Table | Sequence[Table],
    *,
    delimiter: Delimiter = ",",
    small_cell_threshold: int | None = None,
) -> bytes:
    """The tables as one CSV file: UTF-8 with BOM, CRLF line ends."""
    found = _tables(tables)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for index, table in enumerate(found):
        if len(found) > 1:
            if index:
                writer.writerow([])
            writer.writerow([_guard(table.title)])
        writer.writerow([_guard(column.title) for column in table.columns])
        for row in table.rows:
            writer.writerow(
                _csv_text(_prepare(column, row.get(column.key), small_cell_threshold), delimiter)
                for column in table.columns
            )
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------


def _utf16_prefix(text: str, limit: int) -> str:
    """The longest start of ``text`` that fits in ``limit`` UTF-16 units (Excel's measure)."""
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return text[:index]
    return text


def _sheet_name(title: str, taken: set[str]) -> str:
    """A sheet name Excel accepts, unique among ``taken`` (lower-cased names, updated):
    forbidden characters replaced, at most 31 characters, " (2)", " (3)"... on a clash."""
    name = "".join(
        ch for ch in title.translate(_SHEET_NAME_CHARS) if unicodedata.category(ch)[0] != "C"
    )
    base = " ".join(name.split()).strip("'").strip() or _FALLBACK_SHEET_NAME
    candidate = _utf16_prefix(base, _SHEET_NAME_MAX).rstrip().rstrip("'")
    number = 2
    while candidate.lower() in taken or candidate.lower() in _RESERVED_SHEET_NAMES:
        suffix = f" ({number})"
        stem = _utf16_prefix(base, _SHEET_NAME_MAX - len(suffix)).rstrip().rstrip("'")
        candidate = stem + suffix
        number += 1
    taken.add(candidate.lower())
    return candidate


def _width(text: str) -> int:
    longest = max((len(line) for line in text.splitlines()), default=0)
    return min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH)


def to_xlsx(
    tables: Table | Sequence[Table],
    *,
    small_cell_threshold: int | None = None,
    title: str | None = None,
) -> bytes:
    """The tables as an XLSX workbook, one sheet each; ``title`` (the document's, by default
    the first table's) goes into its properties."""
    found = _tables(tables)
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    workbook.set_properties({"title": title if title is not None else found[0].title})
    header = workbook.add_format({"bold": True, "bottom": 1})
    formats = {
        "count": workbook.add_format({"num_format": "#,##0"}),
        "number": workbook.add_format({"num_format": "General"}),
        "percent": workbook.add_format({"num_format": "0.0%"}),
    }
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    small = workbook.add_format({"align": "right"})
    note = workbook.add_format({"italic": True})
    taken: set[str] = set()

    for table in found:
        sheet = workbook.add_worksheet(_sheet_name(table.title, taken))
        widths = [_width(column.title) for column in table.columns]
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.title, header)
        for row_index, row in enumerate(table.rows, start=1):
            for col, column in enumerate(table.columns):
                cell = _prepare(column, row.get(column.key), small_cell_threshold)
                if cell is None:
                    continue
                widths[col] = max(widths[col], _width(_csv_text(cell, ",")))
                if isinstance(cell, _Small):
                    sheet.write_string(row_index, col, cell.text, small)
                elif isinstance(cell, str):
                    sheet.write_string(row_index, col, cell)
                elif isinstance(cell, date):
                    chosen = datetime_format if isinstance(cell, datetime) else date_format
                    sheet.write_datetime(row_index, col, cell, chosen)
                else:
                    number = float(cell) / (100 if column.kind == "percent" else 1)
                    sheet.write_number(row_index, col, number, formats[column.kind])
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        for offset, text in enumerate(table.notes):
            sheet.write_string(len(table.rows) + 2 + offset, 0, text, note)

    workbook.close()
    return output.getvalue()


# --- responses -----------------------------------------------------------------------------


def _download(content: bytes, media_type: str, filename: str, extension: str) -> Response:
    if not filename.lower().endswith(extension):
        filename += extension
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            # Reports may hold exact counts: no cache keeps a copy.
            "Cache-Control": "no-store",
        },
    )


def csv_response(
    tables: Table | Sequence[Table],
    *,
    filename: str,
    delimiter: Delimiter = ",",
    small_cell_threshold: int | None = None,
) -> Response:
    """The tables as a CSV download named ``filename`` (``.csv`` added when missing)."""
    content = to_csv(tables, delimiter=delimiter, small_cell_threshold=small_cell_threshold)
    return _download(content, CSV_MEDIA_TYPE, filename, ".csv")


def xlsx_response(
    tables: Table | Sequence[Table],
    *,
    filename: str,
    small_cell_threshold: int | None = None,
    title: str | None = None,
) -> Response:
    """The tables as an XLSX download named ``filename`` (``.xlsx`` added when missing)."""
    content = to_xlsx(tables, small_cell_threshold=small_cell_threshold, title=title)
    return _download(content, XLSX_MEDIA_TYPE, filename, ".xlsx")
