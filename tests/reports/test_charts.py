"""The SVG charts: well-formed, labelled for screen readers, drawn to scale, safe to embed."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from hub.reports.charts import (
    Series,
    bar_chart,
    chart_rows,
    line_chart,
    nice_ticks,
    stacked_bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _clean_slate() -> Iterator[None]:
    """No database or Redis here: skip the suite's per-test cleanup."""
    yield


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it well-formed


def bars(root: ET.Element) -> list[ET.Element]:
    """The data bars: the rects with a tooltip (legend swatches have none)."""
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def text_of(element: ET.Element, path: str) -> str:
    found = element.find(path)
    assert found is not None, path
    return found.text or ""


def texts(root: ET.Element) -> list[str]:
    return [text.text or "" for text in root.iter(f"{SVG}text")]


def reach(**overrides: object) -> str:
    arguments: dict = {
        "title": "Reach by partner",
        "description": "Recipients per partner in March",
        "categories": ["Aarhus", "Odense", "Aalborg"],
        "series": [Series("Recipients", [100, 50, 25])],
    }
    return bar_chart(**(arguments | overrides))


def test_a_chart_is_an_image_labelled_by_its_own_title_and_description() -> None:
    root = parse(reach())
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert text_of(root, f"{SVG}title[@id='{title_id}']") == "Reach by partner"
    assert text_of(root, f"{SVG}desc[@id='{desc_id}']") == "Recipients per partner in March"
    assert root.get("width") == "100%"
    assert root.get("preserveAspectRatio")
    assert len(root.get("viewBox", "").split()) == 4
    assert root.get("height") is None  # the page decides the size, the viewBox the proportions


def test_bar_lengths_are_proportional_to_the_values_and_the_numbers_are_printed() -> None:
    root = parse(reach())
    widths = [float(bar.get("width", "")) for bar in bars(root)]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.02)
    assert widths[1] == pytest.approx(2 * widths[2], abs=0.02)
    assert {"100", "50", "25"} <= set(texts(root))
    assert {bar.get("x") for bar in bars(root)} == {bars(root)[0].get("x")}  # one zero baseline


def test_grouped_bars_draw_every_series_with_its_own_fill_and_a_legend() -> None:
    root = parse(
        reach(series=[Series("Sent", [10, 20, 30]), Series("Opened", [5, 10, 15])], unit="people")
    )
    drawn = bars(root)
    assert len(drawn) == 6
    fills = {bar.get("fill") for bar in drawn}
    assert len(fills) == 2
    hatched = next(fill for fill in fills if fill and fill.startswith("url(#"))
    assert root.find(f".//{SVG}pattern[@id='{hatched[5:-1]}']") is not None
    assert {"Sent", "Opened", "people"} <= set(texts(root))
    assert text_of(drawn[0], f"{SVG}title") == "Aarhus · Sent: 10 people"


def test_vertical_bar_heights_are_proportional_and_stand_on_the_baseline() -> None:
    root = parse(reach(horizontal=False))
    drawn = bars(root)
    heights = [float(bar.get("height", "")) for bar in drawn]
    assert heights[0] == pytest.approx(4 * heights[2], abs=0.02)
    bottoms = {round(float(bar.get("y", "")) + float(bar.get("height", "")), 1) for bar in drawn}
    assert len(bottoms) == 1


def test_stacked_segments_add_up_to_a_bar_as_long_as_the_total() -> None:
    root = parse(
        stacked_bar_chart(
            title="Channels",
            description="Recipients per channel",
            categories=["North", "South"],
            series=[Series("Email", [30, 10]), Series("SMS", [20, 5]), Series("Post", [10, 5])],
        )
    )
    drawn = bars(root)
    north, south = drawn[:3], drawn[3:]
    for segments in (north, south):
        for before, after in itertools.pairwise(segments):
            end = float(before.get("x", "")) + float(before.get("width", ""))
            assert float(after.get("x", "")) == pytest.approx(end, abs=0.02)
    north_length = sum(float(bar.get("width", "")) for bar in north)
    south_length = sum(float(bar.get("width", "")) for bar in south)
    assert north_length == pytest.approx(3 * south_length, abs=0.05)
    assert {"60", "20"} <= set(texts(root))  # the totals at the bars' ends


def test_a_line_per_series_with_a_point_per_x_and_a_dash_of_its_own() -> None:
    points = ["1 Mar", "2 Mar", "3 Mar", "4 Mar"]
    root = parse(
        line_chart(
            title="Opens per day",
            description="Opens per day, by language",
            points=points,
            series=[Series("Danish", [4, 8, 2, 0]), Series("العربية", [1, 1, 3, 6])],
        )
    )
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    coordinates = [
        [tuple(map(float, p.split(","))) for p in line.get("points", "").split()] for line in lines
    ]
    assert [len(c) for c in coordinates] == [4, 4]
    danish_heights = [y for _, y in coordinates[0]]
    assert (
        danish_heights[1] < danish_heights[0] < danish_heights[2] < danish_heights[3]
    )  # y grows down
    assert lines[0].get("stroke-dasharray") != lines[1].get("stroke-dasharray")
    assert len(list(root.iter(f"{SVG}circle"))) == 8
    assert set(points) <= set(texts(root))


def test_labels_with_markup_and_ampersands_are_escaped_not_interpreted() -> None:
    hostile = '<script>alert("x")</script>'
    svg = reach(
        title="R&D <b>",
        categories=[hostile, "Børn & Unge", "x\x00y"],
        series=[Series('"Sent" & <read>', [1, 2, 3])],
    )
    assert "<script" not in svg
    root = parse(svg)
    assert text_of(root, f"{SVG}title") == "R&D <b>"
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}b"))
    tooltips = [text_of(bar, f"{SVG}title") for bar in bars(root)]
    assert tooltips[0] == f'{hostile} · "Sent" & <read>: 1'
    assert "Børn & Unge" in texts(root)


def test_long_labels_are_cut_with_an_ellipsis_but_kept_whole_in_the_tooltip() -> None:
    name = "Foreningen af Frivillige Tolke og Kulturformidlere i Region Syddanmark"
    root = parse(reach(categories=[name, "العربية", "B"]))
    shown = [text for text in texts(root) if text.startswith("Foreningen")]
    assert len(shown) == 1 and shown[0].endswith("…") and len(shown[0]) < len(name)
    assert text_of(bars(root)[0], f"{SVG}title").startswith(name)
    arabic = next(t for t in root.iter(f"{SVG}text") if t.text == "العربية")
    assert arabic.get("text-anchor") == "end"
    assert float(arabic.get("x", "")) < float(bars(root)[1].get("x", ""))


def test_numbers_go_through_the_callers_formatter() -> None:
    root = parse(
        reach(
            series=[Series("Recipients", [12345, 2000, 0.5])],
            format_number=lambda value: f"{value:,}".replace(",", "."),
        )
    )
    assert {"12.345", "2.000", "0.5"} <= set(texts(root))


@pytest.mark.parametrize(
    "categories, values",
    [([], []), (["Aarhus", "Odense"], [0, 0])],
    ids=["no categories", "all zero"],
)
def test_no_data_is_a_small_chart_that_says_so(categories: list[str], values: list[int]) -> None:
    svg = reach(
        categories=categories, series=[Series("Recipients", values)], empty_text="Ingen data"
    )
    root = parse(svg)
    assert texts(root) == ["Ingen data"]
    assert not bars(root)
    assert root.get("role") == "img" and root.find(f"{SVG}title") is not None
    empty_line = line_chart(
        title="t", description="d", points=[], series=[], empty_text="Ingen data"
    )
    assert texts(parse(empty_line)) == ["Ingen data"]


def test_two_charts_on_one_page_share_no_ids() -> None:
    series = [Series("a", [1, 2, 3]), Series("b", [3, 2, 1])]
    first, second = parse(reach(series=series)), parse(reach(series=series))
    first_ids = {e.get("id") for e in first.iter() if e.get("id")}
    second_ids = {e.get("id") for e in second.iter() if e.get("id")}
    assert first_ids and not first_ids & second_ids
    for root, ids in ((first, first_ids), (second, second_ids)):
        references = {
            e.get("fill", "")[5:-1] for e in root.iter() if e.get("fill", "").startswith("url(#")
        }
        assert references and references <= ids
    chosen = parse(reach(id_prefix="reach-partners"))
    assert chosen.get("aria-labelledby") == "reach-partners-title reach-partners-desc"
    with pytest.raises(ValueError, match="id_prefix"):
        reach(id_prefix='x" onload="alert(1)')


def test_no_styles_scripts_or_outside_references_that_the_page_policy_would_block() -> None:
    charts = [
        reach(series=[Series(f"s{i}", [i, 1, 2]) for i in range(9)]),
        reach(horizontal=False, unit="%"),
        stacked_bar_chart(title="t", description="d", categories=["a"], series=[Series("s", [1])]),
        line_chart(title="t", description="d", points=["a", "b"], series=[Series("s", [1, 2])]),
    ]
    for svg in charts:
        for element in parse(svg).iter():
            assert element.tag not in {f"{SVG}style", f"{SVG}script", f"{SVG}image", f"{SVG}use"}
            assert "style" not in element.attrib
            assert not any(
                name.endswith("href") or name.startswith("on") for name in element.attrib
            )


def test_mismatched_or_negative_values_are_refused() -> None:
    with pytest.raises(ValueError, match="2 values, not 3"):
        reach(series=[Series("Recipients", [1, 2])])
    with pytest.raises(ValueError, match="negative"):
        reach(series=[Series("Recipients", [1, -2, 3])])


@pytest.mark.parametrize(
    "maximum, whole, expected",
    [
        (100, True, [0, 20, 40, 60, 80, 100]),
        (7, True, [0, 2, 4, 6, 8]),
        (3, True, [0, 1, 2, 3]),
        (2, True, [0, 1, 2]),  # no half a person
        (2, False, [0, 0.5, 1, 1.5, 2]),
        (0.7, False, [0, 0.2, 0.4, 0.6, 0.8]),
        (1234, True, [0, 500, 1000, 1500]),
    ],
)
def test_ticks_step_in_ones_twos_and_fives(
    maximum: float, whole: bool, expected: list[float]
) -> None:
    assert nice_ticks(maximum, whole=whole) == expected


def test_chart_rows_give_the_table_a_row_per_category() -> None:
    series = [Series("Sent", [10, 20]), Series("Opened", [5, 6])]
    assert chart_rows(["North", "South"], series) == [("North", [10, 5]), ("South", [20, 6])]
