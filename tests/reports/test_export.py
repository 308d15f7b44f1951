"""Report exports: CSV that Excel and the csv module read back, XLSX with typed cells, small
cells hidden on request, formula-looking text kept as text, download headers."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.worksheet import Worksheet

from hub.reports.export import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Column,
    Delimiter,
    Table,
    csv_response,
    suppress,
    to_csv,
    to_xlsx,
    xlsx_response,
)


@pytest.fixture(autouse=True)
def _clean_slate() -> Iterator[None]:
    """No database or Redis here: skip the suite's per-test cleanup."""
    yield


REACH_COLUMNS = [
    Column("name", "Partner"),
    Column("visitors", "Unikke besøgende", "count", small_cell=True),
    Column("clicks", "Klik", "count"),
    Column("rate", "Rate", "number"),
    Column("uptake", "Tilslutning", "percent"),
    Column("day", "Dag", "date"),
]


def reach_table(notes: Sequence[str] = ()) -> Table:
    rows: list[dict[str, object]] = [
        {
            "name": "Ældresagen Århus",
            "visitors": 3,
            "clicks": 3,
            "rate": 1.5,
            "uptake": 72.5,
            "day": date(2026, 3, 1),
        },
        {
            "name": "جمعية الجالية",
            "visitors": 120,
            "clicks": 0,
            "rate": 0.25,
            "uptake": 100,
            "day": date(2026, 3, 2),
        },
        {"name": "Tom række", "visitors": 0, "clicks": None, "rate": None, "uptake": None},
    ]
    return Table("Reach", REACH_COLUMNS, rows, notes)


def read_csv(data: bytes, delimiter: str) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    text = data[len(codecs.BOM_UTF8) :].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def values(sheet: Worksheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# --- suppression ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "threshold", "shown"),
    [
        (1, 5, "<5"),
        (4, 5, "<5"),
        (5, 5, 5),
        (0, 5, 0),  # zero points at nobody
        (None, 5, None),
        (3, None, 3),  # officers see exact counts
        (9, 10, "<10"),
        (1, 1, 1),  # a threshold of 1 hides nothing
    ],
)
def test_suppress(value: int | None, threshold: int | None, shown: object) -> None:
    assert suppress(value, threshold) == shown


def test_only_count_columns_can_hide_small_cells() -> None:
    with pytest.raises(ValueError, match="count"):
        Column("name", "Name", "text", small_cell=True)


# --- CSV -------------------------------------------------------------------------------------


TRICKY = [
    'Sagt: "hej"',
    "æble, ørred; ålegræs",
    "linje 1\nlinje 2",
    "مرحبا بكم في الحملة",
    "Ünïcødé ✓ 🇩🇰",
    "",
]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_reads_back_with_bom_and_crlf(delimiter: Delimiter) -> None:
    table = Table(
        title="Tekster",
        columns=[Column("n", "Nr.", "count"), Column("text", "Tekst; med, tegn")],
        rows=[{"n": i, "text": text} for i, text in enumerate(TRICKY)],
    )
    data = to_csv(table, delimiter=delimiter)

    assert data.count(codecs.BOM_UTF8) == 1
    assert data.endswith(b"\r\n")
    assert b"\r\n" in data.split(b"linje 1")[0]  # the header line ends with CRLF
    rows = read_csv(data, delimiter)
    assert rows[0] == ["Nr.", "Tekst; med, tegn"]
    assert rows[1:] == [[str(i), text] for i, text in enumerate(TRICKY)]


def test_one_table_csv_is_a_plain_header_and_rows() -> None:
    data = to_csv(reach_table(notes=["Reported reach is self-reported."]), delimiter=";")
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))

    assert [r["Partner"] for r in records] == ["Ældresagen Århus", "جمعية الجالية", "Tom række"]
    assert "Reach" not in data.decode("utf-8-sig").splitlines()[0]
    assert b"self-reported" not in data  # notes are for the XLSX only


@pytest.mark.parametrize(
    ("delimiter", "rate", "uptake"),
    [(",", "1.5", "72.5"), (";", "1,5", "72,5")],
)
def test_csv_numbers_follow_the_delimiter(delimiter: Delimiter, rate: str, uptake: str) -> None:
    rows = read_csv(to_csv(reach_table(), delimiter=delimiter), delimiter)

    assert rows[0] == ["Partner", "Unikke besøgende", "Klik", "Rate", "Tilslutning", "Dag"]
    assert rows[1] == ["Ældresagen Århus", "3", "3", rate, uptake, "2026-03-01"]
    assert rows[2][1:] == ["120", "0", "0.25" if delimiter == "," else "0,25", "100", "2026-03-02"]
    assert rows[3] == ["Tom række", "0", "", "", "", ""]


def test_csv_writes_large_small_and_odd_numbers_plainly() -> None:
    table = Table(
        title="Tal",
        columns=[Column("x", "x", "number"), Column("n", "n", "count")],
        rows=[
            {"x": 0.00001, "n": 1_234_567},
            {"x": Decimal("2.50"), "n": -3},
            {"x": float("nan"), "n": "n/a"},
            {"x": float("inf"), "n": None},
        ],
    )
    rows = read_csv(to_csv(table, delimiter=";"), ";")

    assert rows[1:] == [["0,00001", "1234567"], ["2,5", "-3"], ["", "n/a"], ["", ""]]


def test_csv_dates_and_times_are_iso_and_utc() -> None:
    copenhagen = timezone(timedelta(hours=1))
    table = Table(
        title="Tider",
        columns=[Column("at", "Tid", "date")],
        rows=[
            {"at": datetime(2026, 3, 1, 9, 30, tzinfo=copenhagen)},
            {"at": datetime(2026, 3, 1, 9, 30)},
            {"at": "ukendt"},
        ],
    )
    rows = read_csv(to_csv(table), ",")

    assert rows[1:] == [["2026-03-01 08:30"], ["2026-03-01 09:30"], ["ukendt"]]


def test_csv_hides_small_cells_only_when_asked() -> None:
    hidden = read_csv(to_csv(reach_table(), small_cell_threshold=5), ",")
    exact = read_csv(to_csv(reach_table()), ",")

    assert [r[1] for r in hidden[1:]] == ["<5", "120", "0"]
    assert [r[2] for r in hidden[1:]] == ["3", "0", ""]  # clicks are not a small-cell column
    assert [r[1] for r in exact[1:]] == ["3", "120", "0"]
    assert [r[1] for r in read_csv(to_csv(reach_table(), small_cell_threshold=200), ",")[1:]] == [
        "<200",
        "<200",
        "0",
    ]


FORMULAS = ["=SUM(A1:A9)", "+45 12 34 56", "-1", "@cmd", "\tindrykket", "\rstart", "=1+1"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_defuses_formulas_but_not_negative_numbers(delimiter: Delimiter) -> None:
    table = Table(
        title="=HYPERLINK()",
        columns=[Column("text", "=titel"), Column("n", "n", "count")],
        rows=[{"text": text, "n": -5} for text in FORMULAS],
    )
    rows = read_csv(to_csv([table, table], delimiter=delimiter), delimiter)

    assert rows[0] == ["'=HYPERLINK()"]
    assert rows[1] == ["'=titel", "n"]
    assert rows[2 : 2 + len(FORMULAS)] == [["'" + text, "-5"] for text in FORMULAS]


def test_csv_with_several_tables_has_title_rows_and_blank_lines() -> None:
    first = Table("Kanaler", [Column("c", "Kanal"), Column("n", "Klik", "count")], [{"c": "sms"}])
    second = Table("Sprog", [Column("l", "Sprog")], [{"l": "da"}, {"l": "ar"}])
    data = to_csv([first, second], delimiter=";")

    assert data.decode("utf-8-sig").split("\r\n") == [
        "Kanaler",
        "Kanal;Klik",
        "sms;",
        "",
        "Sprog",
        "Sprog",
        "da",
        "ar",
        "",
    ]


def test_an_export_needs_a_table() -> None:
    with pytest.raises(ValueError, match="table"):
        to_csv([])
    with pytest.raises(ValueError, match="table"):
        to_xlsx([])


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_has_typed_cells_a_bold_frozen_header_and_the_title() -> None:
    workbook = load(to_xlsx(reach_table()))

    assert workbook.sheetnames == ["Reach"]
    assert workbook.properties.title == "Reach"
    sheet = workbook["Reach"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [
        "Partner",
        "Unikke besøgende",
        "Klik",
        "Rate",
        "Tilslutning",
        "Dag",
    ]
    assert all(c.font.b for c in sheet[1])

    name, visitors, clicks, rate, uptake, day = sheet[2]
    assert name.value == "Ældresagen Århus"
    assert visitors.value == 3 and visitors.data_type == "n"
    assert clicks.value == 3 and clicks.number_format == "#,##0"
    assert rate.value == 1.5 and rate.data_type == "n"
    assert uptake.value == pytest.approx(0.725) and uptake.number_format == "0.0%"
    assert day.is_date and day.value == datetime(2026, 3, 1)
    assert day.number_format == "yyyy-mm-dd"
    assert sheet["A3"].value == "جمعية الجالية"
    assert sheet["E3"].value == 1  # 100 %
    assert [c.value for c in sheet[4]] == ["Tom række", 0, None, None, None, None]


def test_xlsx_hides_small_cells_only_when_asked() -> None:
    hidden = load(to_xlsx(reach_table(), small_cell_threshold=5))["Reach"]
    exact = load(to_xlsx(reach_table()))["Reach"]

    assert [hidden.cell(row, 2).value for row in (2, 3, 4)] == ["<5", 120, 0]
    assert hidden["B2"].data_type == "s"
    assert hidden["C2"].value == 3  # clicks are not a small-cell column
    assert [exact.cell(row, 2).value for row in (2, 3, 4)] == [3, 120, 0]


def test_xlsx_writes_formula_looking_text_as_text() -> None:
    table = Table(
        title="Formler",
        columns=[Column("text", "=titel"), Column("id", "Id"), Column("n", "n", "count")],
        rows=[{"text": text, "id": "007", "n": "=2+2"} for text in FORMULAS],
    )
    sheet = load(to_xlsx(table))["Formler"]

    cells = [sheet.cell(1, 1), *(sheet.cell(row, col) for row in range(2, 9) for col in (1, 3))]
    assert all(cell.data_type == "s" for cell in cells)
    # xlsxwriter stores a CR as "_x000D_", which Excel decodes and openpyxl leaves alone.
    assert [unescape(sheet.cell(row, 1).value) for row in range(2, 9)] == FORMULAS
    assert sheet["B2"].value == "007"  # text stays text, leading zeros and all


def test_xlsx_writes_times_in_utc_and_skips_non_finite_numbers() -> None:
    table = Table(
        title="Tider",
        columns=[Column("at", "Tid", "date"), Column("x", "x", "number")],
        rows=[
            {"at": datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))), "x": 1e-5},
            {"x": float("nan")},
        ],
    )
    sheet = load(to_xlsx(table))["Tider"]

    assert sheet["A2"].value == datetime(2026, 3, 1, 8, 30)
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["B2"].value == pytest.approx(1e-5)
    assert sheet["B3"].value is None


def test_xlsx_writes_notes_under_the_table() -> None:
    notes = ["Reported reach is self-reported and never added to measured clicks.", "Kilde: Hub"]
    sheet = load(to_xlsx(reach_table(notes=notes)))["Reach"]

    assert sheet.max_row == 7  # header, three rows, a blank row, two notes
    assert all(c.value is None for c in sheet[5])
    assert [sheet["A6"].value, sheet["A7"].value] == notes
    assert sheet["A6"].font.i


def test_xlsx_column_widths_follow_the_content() -> None:
    table = Table(
        title="Bredder",
        columns=[Column("short", "K"), Column("long", "Lang")],
        rows=[{"short": "a", "long": "Sundhedsstyrelsens vaccinationskampagne " * 5}],
    )
    sheet = load(to_xlsx(table))["Bredder"]

    short, wide = (sheet.column_dimensions[c].width for c in "AB")
    assert 8 <= short < 12
    assert 50 < wide <= 61  # capped: a note-length text does not make a mile-wide column


def test_xlsx_has_a_sheet_per_table_with_names_excel_accepts() -> None:
    titles = [
        "Kanaler",
        "kanaler",  # Excel compares sheet names ignoring case
        "Kanaler",
        "Rækkevidde pr. område og kanal, marts 2026",
        "Rækkevidde pr. område og kanal, marts 2026",
        "Q1: [udkast] 01/03\\31/03 *?",
        "'citat'",
        "History",
        "",
        "🇩🇰" * 10,
    ]
    tables = [Table(title, [Column("c", "Kolonne")], [{"c": title}]) for title in titles]
    workbook = load(to_xlsx(tables))

    names = workbook.sheetnames
    assert len(names) == len(titles)
    assert len({name.lower() for name in names}) == len(names)
    for name in names:
        assert 0 < len(name.encode("utf-16-le")) // 2 <= 31
        assert not set(name) & set("[]:*?/\\")
        assert not name.startswith("'") and not name.endswith("'")
    assert names[:3] == ["Kanaler", "kanaler (2)", "Kanaler (3)"]
    assert names[3] == "Rækkevidde pr. område og kanal,"
    assert names[4] == "Rækkevidde pr. område og ka (2)"
    assert names[5] == "Q1- (udkast) 01-03-31-03"
    assert names[6] == "citat"
    assert names[7] == "History (2)"  # "History" is Excel's own
    assert names[8] == "Sheet"
    assert names[9] == "🇩🇰" * 7 + "\U0001f1e9"  # 31 UTF-16 units, cut inside a flag
    assert [workbook[name]["A2"].value for name in names] == titles
    assert workbook.properties.title == "Kanaler"


def test_xlsx_document_title_can_be_given() -> None:
    workbook = load(to_xlsx([reach_table(), reach_table()], title="Rækkevidde, marts"))

    assert workbook.properties.title == "Rækkevidde, marts"
    assert workbook.sheetnames == ["Reach", "Reach (2)"]


# --- responses -------------------------------------------------------------------------------


def test_csv_response_is_a_named_uncached_download() -> None:
    response = csv_response(
        reach_table(), filename="Rækkevidde marts", delimiter=";", small_cell_threshold=5
    )

    assert response.body == to_csv(reach_table(), delimiter=";", small_cell_threshold=5)
    assert response.headers["content-type"] == CSV_MEDIA_TYPE == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Raekkevidde marts.csv"; '
        "filename*=UTF-8''R%C3%A6kkevidde%20marts.csv"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-length"] == str(len(response.body))


def test_xlsx_response_is_a_named_uncached_download() -> None:
    response = xlsx_response([reach_table()], filename="reach-2026-03.XLSX", title="Reach")

    assert load(bytes(response.body)).sheetnames == ["Reach"]
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert XLSX_MEDIA_TYPE == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="reach-2026-03.XLSX";'
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
