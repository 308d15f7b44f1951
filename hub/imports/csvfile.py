"""Reading CSV files the way they come out of Excel, and the cell values in them.

What real files look like, and what this module does about it:

- **Encoding.** UTF-8 with a byte-order mark (Excel's "CSV UTF-8"), UTF-8 without one, UTF-16
  with a BOM (Excel's "Unicode text"), or Windows-1252 (Danish Excel's plain "CSV"). Bytes that
  are valid UTF-8 are read as UTF-8; anything else as Windows-1252. A file that is none of these
  (an .xlsx workbook, a PDF, control characters) is rejected with one file-level message.
- **Delimiter.** ``;`` (Danish Excel), ``,`` or a tab, sniffed from the header line: the one
  that occurs most often outside quotes wins (ties in that order).
- **Blank lines** (also lines of only delimiters, as Excel writes for an empty row) are skipped,
  but every message names the row's true line in the file, counting from 1 at the header.
- **Headers** are matched without regard to case, spaces, hyphens or underscores, a "(%)" or "*"
  suffix is ignored, and Danish names are accepted besides the English ones (see ``ALIASES``).
  Columns the format does not know are ignored and listed in the plan.
- **Numbers.** Whole-number columns (population, audience estimates) accept thousand
  separators: ``1.234``, ``1,234``, ``1 234`` are all 1234 — a count of people is never a
  fraction, so the Danish/English ambiguity of ``1.234`` is decided for the whole number. A zero
  fraction (``1234,00``) is fine; ``12,5`` is not a whole number. Decimal columns (uptake) take a
  decimal comma or point (``72,5`` = ``72.5``); with both, the last one is the decimal separator
  (``1.234,5``). Uptake may end in ``%``.
- **Dates**: ``2024-03-15``, ``15-03-2024``, ``15.03.2024`` or ``15/03/2024`` (day first, as in
  Denmark; never month first).
- **Excel's formula guard**: a cell that starts with ``'`` followed by ``= + - @`` loses the
  apostrophe (the export adds it so Excel does not run a cell as a formula).

Limits: at most ``MAX_BYTES`` (10 MiB) and ``MAX_ROWS`` (20,000) data rows per file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from hub.i18n import _

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# csv's default field limit is 128 KiB; a description is at most 4,000 characters.
_FIELD_LIMIT = 1024 * 1024
DELIMITERS = (";", "\t", ",")
DELIMITER_NAMES = {";": "semicolon", ",": "comma", "\t": "tab"}

# The canonical column names (English) and the other names accepted for each, written the way
# ``header_key`` normalises a header cell.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("externalid", "ext_id", "ekstern_id", "eksternt_id", "ekstern_nøgle"),
    "name": (
        "navn",
        "organisation",
        "organisation_name",
        "organisationsnavn",
        "organization",
        "area_name",
        "områdenavn",
        "omraadenavn",
        "omradenavn",
    ),
    "kind": ("type", "art", "organisationstype", "områdetype", "omraadetype"),
    "description": ("beskrivelse",),
    "languages": ("sprog", "language_codes", "sprogkoder"),
    "areas": (
        "area_codes",
        "områder",
        "omraader",
        "omrader",
        "områdekoder",
        "omraadekoder",
    ),
    "channels": ("kanaler",),
    "status": ("tilstand",),
    "notes": ("note", "noter", "bemærkninger", "bemaerkninger"),
    "code": ("kode", "area_code", "områdekode", "omraadekode", "omradekode"),
    "parent_code": (
        "parent",
        "parent_area",
        "forælder",
        "foraelder",
        "forælderkode",
        "overordnet",
        "overordnet_område",
        "overordnet_omraade",
        "overordnet_kode",
        "ligger_i",
    ),
    "population": ("indbyggere", "befolkning", "antal_indbyggere", "residents"),
    "uptake_date": ("date", "dato", "measured_on", "målt", "maalt", "målingsdato"),
    "uptake_percent": (
        "uptake",
        "share_percent",
        "tilslutning",
        "andel",
        "vaccinationstilslutning",
        "procent",
        "percent",
    ),
    "age_band": ("age_group", "aldersgruppe", "alder", "age"),
    "contact_name": ("kontakt_navn", "kontaktnavn", "kontaktperson", "contact"),
    "contact_email": (
        "email",
        "e_mail",
        "mail",
        "kontakt_email",
        "kontakt_e_mail",
        "kontakt_mail",
        "contact_e_mail",
        "contact_mail",
    ),
    "contact_phone": ("phone", "telefon", "tlf", "mobil", "kontakt_telefon", "telephone"),
    "contact_language": ("kontakt_sprog", "kontaktsprog"),
    "contact_notify": (
        "notify",
        "notify_by",
        "besked",
        "notifikation",
        "kontakt_besked",
        "contact_notify_by",
    ),
    "contact_role": ("role", "rolle", "kontakt_rolle", "org_role"),
}

_HEADER_NAMES: dict[str, str] = {}
for _canonical, _aliases in ALIASES.items():
    for _alias in (_canonical, *_aliases):
        assert _alias not in _HEADER_NAMES, f"header alias {_alias!r} used twice"
        _HEADER_NAMES[_alias] = _canonical

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


class FileRejected(Exception):
    """The file as a whole cannot be read (not text, no header, too big)."""

    def __init__(self, reason: str, *, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class BadValue(ValueError):
    """A cell's value cannot be used; the message is for the user (translated)."""


@dataclass(frozen=True)
class Row:
    """One data row: its line in the file and its cells by canonical column name."""

    line: int
    cells: Mapping[str, str]
    # More non-empty values than the header has columns (often an unquoted delimiter).
    overflow: bool = False

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def has(self, column: str) -> bool:
        return column in self.cells


@dataclass
class Table:
    columns: list[str]
    rows: list[Row]
    encoding: str
    delimiter: str
    header_line: int = 1
    ignored_columns: list[str] = field(default_factory=list)


# --- bytes to text ---------------------------------------------------------------------------


def decode(content: bytes) -> tuple[str, str]:
    """(text, encoding name) of a file's bytes; raises FileRejected for a file that is no text."""
    if content.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise FileRejected(
            _("This is an Excel workbook, not a CSV file. In Excel, choose Save as → CSV.")
        )
    if content.startswith(codecs.BOM_UTF8):
        text, encoding = content[len(codecs.BOM_UTF8) :].decode("utf-8", "replace"), "utf-8-sig"
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise FileRejected(_("The file is not a text (CSV) file.")) from None
    else:
        try:
            text, encoding = content.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = content.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError:
                raise FileRejected(_("The file is not a text (CSV) file.")) from None
    if _CONTROL.search(text):
        raise FileRejected(_("The file is not a text (CSV) file."))
    return text, encoding


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: ; tab or , whichever occurs most outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equal counts
    return best if counts[best] else ","


def header_key(raw: str) -> str:
    """A header cell as a lookup key: lower-case, no suffix like "(%)", words joined by _."""
    text = unicodedata.normalize("NFC", raw).replace("\ufeff", "").strip().lower()
    text = re.sub(r"\(.*?\)|[*%:]", " ", text)
    return re.sub(r"[\s_\-./]+", "_", text).strip("_")


def canonical_column(raw: str) -> str | None:
    return _HEADER_NAMES.get(header_key(raw))


def clean_cell(raw: str) -> str:
    value = unicodedata.normalize("NFC", raw).strip().strip("\u00a0\u202f")
    if value.startswith("'") and value[1:2] in _FORMULA_START and len(value) > 1:
        value = value[1:]
    return value


def _is_blank(record: list[str]) -> bool:
    return all(not cell.strip() for cell in record)


def read_table(content: bytes, *, columns: Collection[str], required: Collection[str]) -> Table:
    """Read a CSV file into rows of known columns; FileRejected if it cannot be used at all."""
    if not content.strip():
        raise FileRejected(_("The file is empty."))
    if len(content) > MAX_BYTES:
        raise FileRejected(
            _("The file is larger than %(size)d MiB. Split it into smaller files.")
            % {"size": MAX_BYTES // (1024 * 1024)}
        )
    text, encoding = decode(content)
    lines = text.splitlines()
    # The header is the first line with something besides delimiters (Excel writes ";;;" rows).
    header_index = next((i for i, line in enumerate(lines) if line.strip(' \t;,"')), None)
    if header_index is None:
        raise FileRejected(_("The file is empty."))
    delimiter = sniff_delimiter(lines[header_index])

    csv.field_size_limit(_FIELD_LIMIT)
    # strict: a quote that is never closed is an error, not the rest of the file in one cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not _is_blank(record):
                records.append((start, record))
                if len(records) > MAX_ROWS + 1:  # + the header
                    raise FileRejected(
                        _("The file has more than %(rows)d rows. Split it into smaller files.")
                        % {"rows": MAX_ROWS}
                    )
    except csv.Error:
        raise FileRejected(
            _('This line cannot be read as CSV: check the quotes (") in it.'),
            line=previous_end + 1,
        ) from None

    header_line, header = records[0]
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = canonical_column(raw)
        if name is None or name not in columns:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        if name in positions:
            raise FileRejected(
                _("Two columns mean %(column)s: %(first)s and %(second)s.")
                % {"column": name, "first": header[positions[name]].strip(), "second": raw.strip()},
                line=header_line,
            )
        positions[name] = index
    if not positions:
        raise FileRejected(
            _("Not a header this import knows. Expected columns such as: %(columns)s.")
            % {"columns": ", ".join(required)},
            line=header_line,
        )
    missing = [c for c in required if c not in positions]
    if missing:
        raise FileRejected(
            _("The header lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)},
            line=header_line,
        )

    rows = []
    width = len(header)
    for line, record in records[1:]:
        cells = {
            name: clean_cell(record[index]) if index < len(record) else ""
            for name, index in positions.items()
        }
        overflow = any(cell.strip() for cell in record[width:])
        rows.append(Row(line=line, cells=cells, overflow=overflow))
    return Table(
        columns=[c for c in columns if c in positions],
        rows=rows,
        encoding=encoding,
        delimiter=DELIMITER_NAMES[delimiter],
        header_line=header_line,
        ignored_columns=ignored,
    )


# --- cell values -----------------------------------------------------------------------------


_INTEGER = re.compile(
    r"^(?P<sign>[-−]?)(?P<digits>\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+|\d{1,3}(?:'\d{3})+|\d+)"
    r"(?:[.,]0+)?$"
)
_DECIMAL = re.compile(r"^[-−]?(?:\d+(?:[.,]\d+)*|[.,]\d+)$")


def _compact(text: str) -> str:
    return _SPACES.sub("", text)


def parse_int(text: str) -> int | None:
    """A whole number, thousand separators allowed (see the module docstring); "" is None."""
    value = _compact(text)
    if not value:
        return None
    match = _INTEGER.match(value.lstrip("+"))
    if not match:
        raise BadValue(_("Not a whole number: %(value)s") % {"value": text})
    number = int(re.sub(r"[.,']", "", match.group("digits")))
    return -number if match.group("sign") else number


def parse_decimal(text: str, *, percent: bool = False) -> float | None:
    """A decimal number with a decimal comma or point (and a trailing % if ``percent``)."""
    value = _compact(text)
    if percent and value.endswith("%"):
        value = value[:-1]
    if not value:
        if value != _compact(text):  # only a "%"
            raise BadValue(_("Not a number: %(value)s") % {"value": text})
        return None
    value = value.lstrip("+")
    if not _DECIMAL.match(value):
        raise BadValue(_("Not a number: %(value)s") % {"value": text})
    negative = value.startswith(("-", "−"))
    value = value.lstrip("-−")
    separators = [c for c in value if c in ".,"]
    if separators:
        decimal_mark = separators[-1]
        thousands = "," if decimal_mark == "." else "."
        whole, _sep, fraction = value.rpartition(decimal_mark)
        if decimal_mark in whole:
            # "1.234.567": only thousand separators, no fraction.
            whole, fraction = value.replace(decimal_mark, ""), ""
        value = whole.replace(thousands, "") + ("." + fraction if fraction else "")
    number = float(value or "0")
    return -number if negative else number


_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_DATE_DANISH = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?: 00:00(?::00)?)?$")


def parse_date(text: str) -> date | None:
    """A date as YYYY-MM-DD, DD-MM-YYYY, DD.MM.YYYY or DD/MM/YYYY; "" is None."""
    value = text.strip()
    if not value:
        return None
    iso = _DATE_ISO.match(value)
    danish = _DATE_DANISH.match(value)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if danish:
            return date(int(danish.group(3)), int(danish.group(2)), int(danish.group(1)))
    except ValueError:
        pass
    raise BadValue(_("Not a date: %(value)s (write 2024-03-15 or 15-03-2024)") % {"value": text})


def split_list(text: str) -> list[str]:
    """Items separated by spaces, commas, semicolons, | or /; empty items dropped."""
    return [item for item in re.split(r"[\s,;|/]+", text) if item]


def word_key(text: str) -> str:
    """A vocabulary word as a lookup key: lower-case, spaces and hyphens as _."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    return re.sub(r"[\s\-_]+", "_", text).strip("_")


E = TypeVar("E", bound=StrEnum)


def vocabulary(enum_cls: type[E], danish: Mapping[str, E]) -> dict[str, E]:
    """The enum's values (also with spaces for _) plus Danish words, keyed by ``word_key``."""
    words: dict[str, E] = {word_key(member.value): member for member in enum_cls}
    words.update({word_key(word): member for word, member in danish.items()})
    return words


def choose(text: str, words: Mapping[str, E]) -> E | None:
    """The member a word names, None for ""; BadValue listing the accepted words otherwise."""
    if not text.strip():
        return None
    found = words.get(word_key(text))
    if found is None:
        raise BadValue(
            _("Unknown value %(value)s; use one of: %(choices)s")
            % {"value": text, "choices": ", ".join(_english_values(words.values()))}
        )
    return found


def _english_values(members: Iterable[StrEnum]) -> list[str]:
    return list(dict.fromkeys(member.value for member in members))
