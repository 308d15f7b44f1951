"""Server-rendered SVG charts (bar, stacked bar, line) that read on screen, in print and aloud.

Every function returns a complete `<svg>` element to embed inline with `|safe`: all text in it is
escaped here. The page's Content-Security-Policy forbids inline styles, so the charts use SVG
presentation attributes only; the template puts the data table beside the chart.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import escape

# Okabe–Ito, darkest first so that the first series stay apart when printed in greyscale.
# Black is left out: the hatching drawn over the colours must show on every one of them.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
# Colour alone fails in black-and-white print and for some readers, so each series also gets a
# hatch angle (bars) or a dash pattern (lines); the first one stays plain.
_HATCH_ANGLES = (None, 45, 135, 0, 90, 20, 160)
_DASHES = ("", "8 4", "2 3", "8 3 2 3", "14 4", "4 4", "14 3 2 3 2 3")
_FONT_SIZE = 12
_FONT_FAMILY = "system-ui, Segoe UI, Roboto, Noto Sans, Arial, sans-serif"
# No font metrics without a renderer: a generous average glyph width keeps text in its room.
_CHAR_WIDTH = _FONT_SIZE * 0.62
_MARGIN = 8
_GRID = "#767676"  # 4.5:1 on white, so gridlines survive print and high contrast
_ID_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Characters XML 1.0 does not allow at all: one of them would make the whole page's SVG invalid.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_chart_numbers = itertools.count(1)

NumberFormat = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One named row of values: one per category or x point, never None (use 0)."""

    name: str
    values: Sequence[float]


def plain_number(value: float) -> str:
    """1,234 or 1,234.5: the default when the caller passes no locale-aware formatter."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ticks(maximum: float, *, count: int = 5, whole: bool = False) -> list[float]:
    """Ticks from zero in steps of 1, 2 or 5 × 10ⁿ, the last one at or above maximum."""
    if maximum <= 0:
        return [0, 1]
    rough = maximum / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough * (1 - 1e-9))
    if whole:  # counts of people have no tick at 0.5
        step = max(step, 1)
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def chart_rows(
    categories: Sequence[str], series: Sequence[Series]
) -> list[tuple[str, list[float]]]:
    """(category, one value per series) rows for the data table beside a chart."""
    return [(label, [s.values[i] for s in series]) for i, label in enumerate(categories)]


def bar_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    horizontal: bool = True,
    width: int = 640,
    format_number: NumberFormat = plain_number,
    empty_text: str = "No data",
    id_prefix: str | None = None,
) -> str:
    """Grouped bars, one per series in each category; horizontal suits long names."""
    prefix = _prefix(id_prefix)
    if not _has_data(categories, series):
        return _empty(prefix, title, description, width, empty_text)
    if horizontal:
        body, height = _horizontal_bars(
            prefix, categories, series, unit, width, format_number, stacked=False
        )
    else:
        body, height = _vertical_bars(prefix, categories, series, unit, width, format_number)
    return _svg(prefix, title, description, width, height, body)


def stacked_bar_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    width: int = 640,
    format_number: NumberFormat = plain_number,
    empty_text: str = "No data",
    id_prefix: str | None = None,
) -> str:
    """One horizontal bar per category, split into its series, with the total at its end."""
    prefix = _prefix(id_prefix)
    if not _has_data(categories, series):
        return _empty(prefix, title, description, width, empty_text)
    body, height = _horizontal_bars(
        prefix, categories, series, unit, width, format_number, stacked=True
    )
    return _svg(prefix, title, description, width, height, body)


def line_chart(
    *,
    title: str,
    description: str,
    points: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    width: int = 640,
    height: int = 280,
    format_number: NumberFormat = plain_number,
    empty_text: str = "No data",
    id_prefix: str | None = None,
) -> str:
    """One line per series over evenly spaced x points (dates, weeks), each with its own dash."""
    prefix = _prefix(id_prefix)
    if not _has_data(points, series):
        return _empty(prefix, title, description, width, empty_text)
    values = [v for s in series for v in s.values]
    ticks = nice_ticks(max(values), whole=_whole(values))
    tick_labels = [format_number(_number(t)) for t in ticks]
    shown_points = [_truncate(p, 16) for p in points]
    point_width = max(len(p) for p in shown_points) * _CHAR_WIDTH + 8
    body, legend_height = _legend(prefix, series, width, lines=True)
    plot_top = _MARGIN + legend_height + 12
    baseline = max(height - (40 if unit else 28), plot_top + 80)
    plot_left = _MARGIN + max(_widest(tick_labels) + 8, point_width / 2)
    plot_width = width - plot_left - _MARGIN - point_width / 2
    scale = (baseline - plot_top) / ticks[-1]
    body += _value_grid(ticks, tick_labels, plot_left, plot_left + plot_width, baseline, scale)
    step = plot_width / (len(points) - 1) if len(points) > 1 else 0
    xs = [plot_left + (i * step if step else plot_width / 2) for i in range(len(points))]
    every = max(1, math.ceil(point_width / step)) if step else 1
    for i in range(0, len(points), every):
        body.append(_text_at(shown_points[i], xs[i], baseline + 16, anchor="middle"))
    for index, line in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        coordinates = [(x, baseline - v * scale) for x, v in zip(xs, line.values, strict=True)]
        body.append(
            _tag(
                "polyline",
                points=" ".join(f"{_coordinate(x)},{_coordinate(y)}" for x, y in coordinates),
                fill="none",
                stroke=colour,
                stroke_width=2,
                stroke_dasharray=_DASHES[index % len(_DASHES)],
                stroke_linejoin="round",
            )
        )
        for (x, y), point, value in zip(coordinates, points, line.values, strict=True):
            tip = _tooltip(point, line.name, value, unit, format_number)
            body.append(_tag("circle", tip, cx=x, cy=y, r=3, fill=colour, stroke="#000"))
    if unit:
        body.append(_text_at(unit, plot_left + plot_width, baseline + 32, anchor="end"))
    return _svg(prefix, title, description, width, baseline + (40 if unit else 28), body)


# --- layouts --------------------------------------------------------------------------------


def _horizontal_bars(
    prefix: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str,
    width: int,
    format_number: NumberFormat,
    *,
    stacked: bool,
) -> tuple[list[str], float]:
    rows = [[s.values[c] for s in series] for c in range(len(categories))]
    ends = [sum(row) if stacked else max(row) for row in rows]
    ticks = nice_ticks(max(ends), whole=_whole([v for row in rows for v in row]))
    tick_labels = [format_number(_number(t)) for t in ticks]
    end_labels = [format_number(v) for row in rows for v in ([sum(row)] if stacked else row)]
    plot_left = round(width * 0.3)
    plot_width = width - plot_left - _MARGIN - max(_widest(end_labels), _widest(tick_labels[-1:]))
    scale = plot_width / ticks[-1]
    body, legend_height = _legend(prefix, series, width, lines=False)
    top = _MARGIN + legend_height + 8
    bar_height = 18 if stacked else 14
    band = (1 if stacked else len(series)) * bar_height + 10
    bottom = top + band * len(categories)
    for tick, label in zip(ticks, tick_labels, strict=True):
        x = plot_left + tick * scale
        body.append(_line(x, top - 4, x, bottom, baseline=tick == 0))
        body.append(_text_at(label, x, bottom + 16, anchor="middle"))
    label_chars = int((plot_left - _MARGIN - 8) / _CHAR_WIDTH)
    for c, (category, row) in enumerate(zip(categories, rows, strict=True)):
        y = top + c * band + 5
        middle = y + (bar_height if stacked else band - 10) / 2
        # Anchored at its end, a label sits left of the bars in any script, Arabic included.
        body.append(_text_at(_truncate(category, label_chars), plot_left - 8, middle, anchor="end"))
        x = plot_left
        for index, (line, value) in enumerate(zip(series, row, strict=True)):
            bar_y = y if stacked else y + index * bar_height
            tip = _tooltip(category, line.name, value, unit, format_number)
            length = value * scale
            body.append(
                _bar(prefix, index, tip, x, bar_y, length, bar_height - (0 if stacked else 2))
            )
            if stacked:
                x += length
            else:
                label = format_number(value)
                body.append(_text_at(label, x + length + 4, bar_y + bar_height / 2 - 1))
        if stacked:
            body.append(_text_at(format_number(sum(row)), x + 4, middle))
    if unit:
        body.append(_text_at(unit, plot_left + plot_width, bottom + 32, anchor="end"))
    return body, bottom + (40 if unit else 26)


def _vertical_bars(
    prefix: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str,
    width: int,
    format_number: NumberFormat,
) -> tuple[list[str], float]:
    values = [v for s in series for v in s.values]
    ticks = nice_ticks(max(values), whole=_whole(values))
    tick_labels = [format_number(_number(t)) for t in ticks]
    body, legend_height = _legend(prefix, series, width, lines=False)
    unit_room = 18 if unit else 0
    plot_top = _MARGIN + legend_height + unit_room + _FONT_SIZE + 12
    baseline = plot_top + 200
    plot_left = _MARGIN + _widest(tick_labels) + 8
    plot_right = width - _MARGIN
    scale = (baseline - plot_top) / ticks[-1]
    body += _value_grid(ticks, tick_labels, plot_left, plot_right, baseline, scale)
    band = (plot_right - plot_left) / len(categories)
    bar_width = band * 0.8 / len(series)
    for c, category in enumerate(categories):
        for index, line in enumerate(series):
            value = line.values[c]
            x = plot_left + c * band + band * 0.1 + index * bar_width
            tip = _tooltip(category, line.name, value, unit, format_number)
            length = value * scale
            body.append(_bar(prefix, index, tip, x, baseline - length, bar_width - 1, length))
            label = format_number(value)
            body.append(_text_at(label, x + bar_width / 2, baseline - length - 8, "middle"))
        label = _truncate(category, int(band / _CHAR_WIDTH))
        body.append(_text_at(label, plot_left + (c + 0.5) * band, baseline + 16, anchor="middle"))
    if unit:
        body.append(_text_at(unit, _MARGIN, plot_top - _FONT_SIZE - 14))
    return body, baseline + 28


# --- pieces ---------------------------------------------------------------------------------


def _legend(
    prefix: str, series: Sequence[Series], width: int, *, lines: bool
) -> tuple[list[str], int]:
    """A pattern definition per series, then a key that wraps onto as many rows as it needs."""
    parts = [] if lines else [_patterns(prefix, len(series))]
    x: float = _MARGIN
    row = 0
    for index, line in enumerate(series):
        name = _truncate(line.name, int((width - 2 * _MARGIN - 20) / _CHAR_WIDTH))
        item_width = 20 + len(name) * _CHAR_WIDTH + 16
        if x > _MARGIN and x + item_width > width - _MARGIN:
            x, row = _MARGIN, row + 1
        y = _MARGIN + row * 20
        if lines:
            colour = PALETTE[index % len(PALETTE)]
            dash = _DASHES[index % len(_DASHES)]
            parts.append(
                _tag(
                    "line",
                    x1=x,
                    y1=y + 6,
                    x2=x + 14,
                    y2=y + 6,
                    stroke=colour,
                    stroke_width=2,
                    stroke_dasharray=dash,
                )
            )
        else:
            parts.append(_bar(prefix, index, "", x, y, 12, 12))
        parts.append(_text_at(name, x + 20, y + 6))
        x += item_width
    return parts, (row + 1) * 20


def _patterns(prefix: str, count: int) -> str:
    patterns = []
    for index in range(min(count, len(PALETTE))):
        angle = _HATCH_ANGLES[index]
        if angle is None:
            continue
        tile = _tag("rect", width=6, height=6, fill=PALETTE[index]) + _tag(
            "line", x1=3, y1=0, x2=3, y2=6, stroke="#000", stroke_width=1.5
        )
        patterns.append(
            _tag(
                "pattern",
                tile,
                id=f"{prefix}-hatch-{index}",
                width=6,
                height=6,
                patternUnits="userSpaceOnUse",
                patternTransform=f"rotate({angle})",
            )
        )
    return _tag("defs", "".join(patterns)) if patterns else ""


def _bar(prefix: str, index: int, tip: str, x: float, y: float, w: float, h: float) -> str:
    """A bar in its series' colour and hatch, outlined so that pale colours show on paper."""
    colour = index % len(PALETTE)
    fill = PALETTE[colour] if _HATCH_ANGLES[colour] is None else f"url(#{prefix}-hatch-{colour})"
    return _tag(
        "rect", tip, x=x, y=y, width=w, height=h, fill=fill, stroke="#000", stroke_width=0.5
    )


def _value_grid(
    ticks: list[float], labels: list[str], left: float, right: float, baseline: float, scale: float
) -> list[str]:
    parts = []
    for tick, label in zip(ticks, labels, strict=True):
        y = baseline - tick * scale
        parts.append(_line(left, y, right, y, baseline=tick == 0))
        parts.append(_text_at(label, left - 6, y, anchor="end"))
    return parts


def _line(x1: float, y1: float, x2: float, y2: float, *, baseline: bool) -> str:
    colour, thickness = ("#000", 1) if baseline else (_GRID, 0.5)
    return _tag("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=colour, stroke_width=thickness)


def _text_at(text: str, x: float, middle: float, anchor: str = "start") -> str:
    """Text vertically centred on middle (dominant-baseline is unevenly supported in print)."""
    y = middle + _FONT_SIZE * 0.35
    return _tag("text", _escape(text), x=x, y=y, text_anchor=anchor, fill="#000")


def _svg(
    prefix: str, title: str, description: str, width: int, height: float, body: list[str]
) -> str:
    heading = _tag("title", _escape(title), id=f"{prefix}-title")
    heading += _tag("desc", _escape(description), id=f"{prefix}-desc")
    return _tag(
        "svg",
        heading + "".join(body),
        xmlns="http://www.w3.org/2000/svg",
        role="img",
        aria_labelledby=f"{prefix}-title {prefix}-desc",
        viewBox=f"0 0 {width} {_coordinate(height)}",
        width="100%",
        preserveAspectRatio="xMidYMin meet",
        font_family=_FONT_FAMILY,
        font_size=_FONT_SIZE,
    )


def _empty(prefix: str, title: str, description: str, width: int, empty_text: str) -> str:
    return _svg(
        prefix, title, description, width, 48, [_text_at(empty_text, width / 2, 24, "middle")]
    )


def _tag(name: str, content: str = "", /, **attributes: object) -> str:
    """An element; keyword underscores become hyphens, and None or "" leaves an attribute out."""
    rendered = ""
    for key, value in attributes.items():
        if value is not None and value != "":
            shown = _coordinate(value) if isinstance(value, float) else str(value)
            rendered += f' {key.replace("_", "-")}="{_escape(shown)}"'
    return f"<{name}{rendered}>{content}</{name}>" if content else f"<{name}{rendered}/>"


def _escape(text: str) -> str:
    return str(escape(_NOT_XML.sub("", text)))


def _prefix(id_prefix: str | None) -> str:
    if id_prefix is None:
        return f"chart-{next(_chart_numbers)}"
    if not _ID_PREFIX.fullmatch(id_prefix):
        raise ValueError(f"id_prefix {id_prefix!r} is not a valid XML id")
    return id_prefix


def _has_data(labels: Sequence[str], series: Sequence[Series]) -> bool:
    for line in series:
        if len(line.values) != len(labels):
            raise ValueError(
                f"series {line.name!r} has {len(line.values)} values, not {len(labels)}"
            )
        if not all(math.isfinite(v) and v >= 0 for v in line.values):
            raise ValueError(f"series {line.name!r} has a negative or non-finite value")
    return any(v for line in series for v in line.values)


def _tooltip(label: str, name: str, value: float, unit: str, format_number: NumberFormat) -> str:
    """The hover text of a bar or point, with the full label that the axis may have cut short."""
    return _tag("title", _escape(f"{label} · {name}: {format_number(value)} {unit}".rstrip()))


def _truncate(label: str, max_chars: int) -> str:
    max_chars = max(max_chars, 2)
    return label if len(label) <= max_chars else label[: max_chars - 1].rstrip() + "…"


def _widest(labels: Sequence[str]) -> float:
    return max((len(label) for label in labels), default=0) * _CHAR_WIDTH


def _whole(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def _number(tick: float) -> float:
    return int(tick) if float(tick).is_integer() else tick


def _coordinate(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
