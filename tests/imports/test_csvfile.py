"""Reading CSV files as Excel writes them: encodings, delimiters, blank lines, Danish headers,
numbers with a decimal comma or thousand separators, and Danish dates."""

from __future__ import annotations

import codecs
from datetime import date

import pytest

from hub import i18n
from hub.imports import csvfile
from hub.imports.csvfile import BadValue, FileRejected, read_table

PARTNER_COLUMNS = ("external_id", "name", "kind", "areas", "contact_email", "notes")
REQUIRED = ("external_id", "name")


def table(content: bytes) -> csvfile.Table:
    return read_table(content, columns=PARTNER_COLUMNS, required=REQUIRED)


def test_messages_are_english_in_these_tests() -> None:
    # The autouse fixture must reach the tests, or every text assertion would turn Danish the
    # day the catalog translates them.
    assert i18n.current_language() == "en"


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (codecs.BOM_UTF8 + "navn;type\nÆble Å;ø\n".encode(), "utf-8-sig"),
        ("navn;type\nÆble Å;ø\n".encode(), "utf-8"),
        ("navn;type\nÆble Å;ø\n".encode("cp1252"), "windows-1252"),
        ("navn;type\nÆble Å;ø\n".encode("utf-16"), "utf-16"),
    ],
)
def test_decodes_utf8_with_and_without_bom_cp1252_and_utf16(content: bytes, encoding: str) -> None:
    text, found = csvfile.decode(content)
    assert found == encoding
    assert text.splitlines() == ["navn;type", "Æble Å;ø"]


def test_cp1252_only_characters_survive() -> None:
    # "–" and "€" exist in Windows-1252 but not in Latin-1.
    text, encoding = csvfile.decode("Tingbjerg – 5 €".encode("cp1252"))
    assert (text, encoding) == ("Tingbjerg – 5 €", "windows-1252")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-a-workbook", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old-xls", "Excel workbook"),
        (b"%PDF-1.7\n\x00\x01\x02\x03binary", "not a text"),
        (b"", "empty"),
        (b"\r\n \r\n;;;\r\n", "empty"),
    ],
)
def test_a_file_that_is_no_text_is_rejected_with_one_message(content: bytes, reason: str) -> None:
    with pytest.raises(FileRejected) as caught:
        table(content)
    assert reason in caught.value.reason


# --- delimiters, blank lines, line numbers -----------------------------------------------------


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("name;kind;areas", ";"),
        ("name,kind,areas", ","),
        ("name\tkind\tareas", "\t"),
        ('"name, full";kind', ";"),  # the comma inside quotes does not count
        ('"a;b",kind,areas', ","),
        ("name", ","),
    ],
)
def test_sniffs_the_delimiter_from_the_header(header: str, delimiter: str) -> None:
    assert csvfile.sniff_delimiter(header) == delimiter


def test_blank_and_delimiter_only_lines_are_skipped_but_lines_keep_their_numbers() -> None:
    content = (
        b"\r\n"  # line 1: blank before the header
        b"external_id;name;kind\r\n"  # 2
        b"A;Alfa;forening\r\n"  # 3
        b"\r\n"  # 4
        b";;\r\n"  # 5
        b" ; ;\r\n"  # 6
        b'B;"Beta\r\nover two lines";forening\r\n'  # 7-8
        b"C;Gamma;forening\r\n"  # 9
        b"\r\n"
    )
    result = table(content)
    assert result.header_line == 2
    assert [(row.line, row.get("external_id")) for row in result.rows] == [
        (3, "A"),
        (7, "B"),
        (9, "C"),
    ]
    assert result.rows[1].get("name") == "Beta\r\nover two lines"
    assert result.delimiter == "semicolon"


def test_danish_headers_any_case_and_spacing_map_to_the_columns() -> None:
    content = "Ekstern ID;NAVN;Art;Områder;Kontakt E-mail;Bemærkninger;Farve\nX;Y;Z;A;B;C;D\n"
    result = table(content.encode("cp1252"))
    assert result.columns == ["external_id", "name", "kind", "areas", "contact_email", "notes"]
    assert result.ignored_columns == ["Farve"]
    assert dict(result.rows[0].cells) == {
        "external_id": "X",
        "name": "Y",
        "kind": "Z",
        "areas": "A",
        "contact_email": "B",
        "notes": "C",
    }


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("external_id", "external_id"),
        ("External ID", "external_id"),
        ("ekstern_id", "external_id"),
        ("navn", "name"),
        ("type", "kind"),
        ("sprog", "languages"),
        ("omraader", "areas"),
        ("kanaler", "channels"),
        ("beskrivelse", "description"),
        ("noter", "notes"),
        ("kode", "code"),
        ("Forælder", "parent_code"),
        ("overordnet", "parent_code"),
        ("Indbyggere", "population"),
        ("befolkning", "population"),
        ("Dato", "uptake_date"),
        ("Tilslutning (%)", "uptake_percent"),
        ("andel", "uptake_percent"),
        ("aldersgruppe", "age_band"),
        ("kontakt_navn", "contact_name"),
        ("E-mail", "contact_email"),
        ("telefon", "contact_phone"),
        ("kontakt_sprog", "contact_language"),
        ("notifikation", "contact_notify"),
        ("besked", "contact_notify"),
        ("rolle", "contact_role"),
        ("\ufeffname", "name"),
        ("Kode*", "code"),
        ("favourite colour", None),
    ],
)
def test_header_aliases(header: str, column: str | None) -> None:
    assert csvfile.canonical_column(header) == column


def test_a_header_without_known_columns_is_one_file_level_error() -> None:
    with pytest.raises(FileRejected) as caught:
        table(b"Partnerliste 2024\nnavn;type\n")
    assert caught.value.line == 1
    assert caught.value.reason == (
        "Not a header this import knows. Expected columns such as: external_id, name."
    )


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(FileRejected) as caught:
        table(b"navn;type\nA;B\n")
    assert (caught.value.line, caught.value.reason) == (
        1,
        "The header lacks the columns: external_id.",
    )


def test_two_columns_for_the_same_field_are_refused() -> None:
    with pytest.raises(FileRejected) as caught:
        table(b"external_id;name;navn\n1;a;b\n")
    assert "Two columns mean name: name and navn" in caught.value.reason


@pytest.mark.parametrize(
    "content",
    [
        b'external_id;name\n\nA;"never closed\nB;Beta\n',
        b'external_id;name\n\nA;"closed"but not\n',
        b'external_id;name\n\nA;"' + b"x" * 2_000_000 + b'"\n',  # beyond the field limit
    ],
)
def test_broken_quoting_is_a_file_level_error_naming_the_line(content: bytes) -> None:
    with pytest.raises(FileRejected) as caught:
        table(content)
    assert caught.value.line == 3
    assert caught.value.reason == 'This line cannot be read as CSV: check the quotes (") in it.'


def test_quotes_inside_an_unquoted_cell_are_text() -> None:
    result = table(b'external_id;name\nA;Moske "Al-Nur"\n')
    assert result.rows[0].get("name") == 'Moske "Al-Nur"'


def test_short_rows_are_padded_and_long_rows_flagged() -> None:
    result = table(b"external_id;name;kind\nA\nB;Beta;forening;;\nC;Gamma;forening;extra\n")
    assert dict(result.rows[0].cells) == {"external_id": "A", "name": "", "kind": ""}
    # Empty cells after the last column (Excel's trailing ;) are harmless.
    assert [r.overflow for r in result.rows] == [False, False, True]


def test_limits() -> None:
    many = b"external_id;name\n" + b"A;B\n" * (csvfile.MAX_ROWS + 1)
    with pytest.raises(FileRejected, match="more than 20000 rows"):
        table(many)
    exactly = b"external_id;name\n" + b"A;B\n" * csvfile.MAX_ROWS
    assert len(table(exactly).rows) == csvfile.MAX_ROWS
    with pytest.raises(FileRejected, match="larger than 10 MiB"):
        table(b"external_id;name\n" + b"x" * csvfile.MAX_BYTES)


def test_excel_formula_guard_is_removed_and_cells_are_trimmed() -> None:
    result = table("external_id;name;notes\n A ;'=SUM(1);'+45 12 34\u00a0\n".encode())
    assert dict(result.rows[0].cells) == {
        "external_id": "A",
        "name": "=SUM(1)",
        "notes": "+45 12 34",
    }


def test_decomposed_letters_are_composed() -> None:
    decomposed = "A;Mjo\u0308lnerparken A\u030a\n"  # as macOS may write ø... and Å
    result = table(("external_id;name\n" + decomposed).encode())
    assert result.rows[0].get("name") == "Mjölnerparken Å"


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("", None),
        ("1234", 1234),
        ("1.234", 1234),  # Danish thousand separator: a count of people is never 1.234
        ("1,234", 1234),
        ("1 234", 1234),
        ("1\u00a0234", 1234),
        ("660.842", 660842),
        ("1.234.567", 1234567),
        ("1234,00", 1234),
        ("1.234,0", 1234),
        ("+45", 45),
        ("-20", -20),
        ("0", 0),
    ],
)
def test_parse_int(text: str, number: int | None) -> None:
    assert csvfile.parse_int(text) == number


@pytest.mark.parametrize("text", ["12,5", "1.23", "abc", "1.2345", "12-3", "1e3"])
def test_parse_int_refuses_what_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(BadValue, match="Not a whole number"):
        csvfile.parse_int(text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("", None),
        ("72,5", 72.5),
        ("72.5", 72.5),
        ("72,5 %", 72.5),
        ("72,5%", 72.5),
        ("66", 66.0),
        ("0,05", 0.05),
        (",5", 0.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("1.234.567", 1234567.0),
    ],
)
def test_parse_decimal(text: str, number: float | None) -> None:
    assert csvfile.parse_decimal(text, percent=True) == number


@pytest.mark.parametrize("text", ["abc", "%", "72,5 pct", "7 2,5,", "5%5"])
def test_parse_decimal_refuses_text(text: str) -> None:
    with pytest.raises(BadValue, match="Not a number"):
        csvfile.parse_decimal(text, percent=True)


def test_a_percent_sign_only_where_allowed() -> None:
    with pytest.raises(BadValue):
        csvfile.parse_decimal("72%")


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-03-15", date(2024, 3, 15)),
        ("15-03-2024", date(2024, 3, 15)),
        ("15.03.2024", date(2024, 3, 15)),
        ("15/03/2024", date(2024, 3, 15)),
        ("5.3.2024", date(2024, 3, 5)),
        ("2024-03-15 00:00:00", date(2024, 3, 15)),
        ("", None),
    ],
)
def test_parse_date(text: str, day: date | None) -> None:
    assert csvfile.parse_date(text) == day


@pytest.mark.parametrize("text", ["2024-02-30", "03/15/2024", "15-03-24", "marts 2024", "45321"])
def test_parse_date_refuses_other_forms(text: str) -> None:
    with pytest.raises(BadValue, match="Not a date"):
        csvfile.parse_date(text)


def test_split_list() -> None:
    assert csvfile.split_list(" da, ar|so / tr  ur;ku ") == ["da", "ar", "so", "tr", "ur", "ku"]
    assert csvfile.split_list("  ") == []
