"""Staff pages for areas: the tree with uptake sparklines, one area's uptake over time, forms."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from hub.areas import service
from hub.areas.dependencies import AreaDep
from hub.areas.service import UptakePoint
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import StaffPageDep
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.errors import FieldError, HubError, InvalidInput, NotFound
from hub.forms import field_errors, parse_id, see_other
from hub.i18n import _, current_language, ngettext
from hub.models import Area, AreaKind
from hub.schemas import MAX_DB_ID
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(require_csrf)
FormStr = Annotated[str, Form()]
PAGE_SIZE = 50
MAX_DEPTH_CLASS = 5  # deeper areas share the last indentation step (see hub.css)
MAX_POPULATION = 100_000_000
MAX_CODE = 40
MAX_NAME = 200
MAX_AGE_BAND = 20
NBSP = "\u00a0"


async def area_id_in_range(area_id: int) -> None:
    """404 for ids no table can hold, before AreaDep asks a database that refuses them."""
    if not 0 < area_id <= MAX_DB_ID:
        raise NotFound(_("No such area."))


InRange = Depends(area_id_in_range)


# --- formatting ------------------------------------------------------------------------------


def area_kind_labels() -> dict[str, str]:
    return {
        AreaKind.municipality: _("Municipality"),
        AreaKind.district: _("District"),
        AreaKind.parish: _("Parish"),
        AreaKind.housing_area: _("Housing area"),
    }


def percent(value: float, pattern: str = "#,##0.0") -> str:
    """66.5 -> "66.5 %" (English) or "66,5 %" (Danish); never broken across lines."""
    return f"{format_decimal(value, pattern, locale=current_language())}{NBSP}%"


def whole_number(value: int | None) -> str:
    return "" if value is None else format_decimal(value, locale=current_language())


def day(value: date, fmt: str = "medium") -> str:
    return format_date(value, fmt, locale=current_language())


def tree_order(areas: list[Area]) -> list[tuple[Area, int]]:
    """Parents before their children, siblings by code; an area whose parent is not in the list
    starts a tree of its own. Returns (area, depth)."""
    shown = {a.id for a in areas}
    children: dict[int | None, list[Area]] = defaultdict(list)
    for area in sorted(areas, key=lambda a: a.code):
        children[area.parent_id if area.parent_id in shown else None].append(area)
    ordered: list[tuple[Area, int]] = []
    seen: set[int | None] = set()
    stack = [(a, 0) for a in reversed(children[None])]
    while stack:
        area, depth = stack.pop()
        if area.id in seen:  # a cycle cannot be stored, but never loop on one
            continue
        seen.add(area.id)
        ordered.append((area, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(area.id, [])))
    return ordered


def area_choices(areas: list[Area], *, exclude: set[int] | None = None) -> list[tuple[int, str]]:
    """(id, label) for a select: tree order, depth shown by a "— " prefix per level."""
    return [
        (a.id, f"{'— ' * depth}{a.name} ({a.code})")  # type: ignore[misc]
        for a, depth in tree_order(areas)
        if not exclude or a.id not in exclude
    ]


# --- charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    """A small line of the all-ages uptake series, drawn in a 100 × 24 box."""

    points: str
    last_x: float
    last_y: float
    label: str
    width: int = 100
    height: int = 24


@dataclass(frozen=True)
class GridLine:
    y: float
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A line chart of an uptake series with a labelled percent axis and first/last dates."""

    points: str
    dots: list[Dot]
    grid: list[GridLine]
    first_date: str
    last_date: str
    title: str
    description: str
    width: int = 600
    height: int = 260
    left: int = 56
    right: int = 584
    top: int = 16
    bottom: int = 220


def _x_positions(series: list[UptakePoint], left: float, right: float) -> list[float]:
    """Horizontal positions in proportion to the dates, so uneven gaps look uneven."""
    first = series[0].measured_on.toordinal()
    span = series[-1].measured_on.toordinal() - first
    if span == 0:
        return [(left + right) / 2 for _point in series]
    return [left + (p.measured_on.toordinal() - first) / span * (right - left) for p in series]


def _describe_series(series: list[UptakePoint]) -> str:
    if len(series) == 1:
        return _("Uptake %(value)s on %(date)s") % {
            "value": percent(series[0].share_percent),
            "date": day(series[0].measured_on),
        }
    return ngettext(
        "Uptake from %(first)s to %(last)s over %(num)d measurement",
        "Uptake from %(first)s to %(last)s over %(num)d measurements",
        len(series),
    ) % {
        "first": percent(series[0].share_percent),
        "last": percent(series[-1].share_percent),
        "num": len(series),
    }


def sparkline(series: list[UptakePoint]) -> Sparkline | None:
    if not series:
        return None
    width, height, pad = 100, 24, 3
    values = [p.share_percent for p in series]
    low, high = min(values), max(values)
    if high - low < 2:  # a flat line sits in the middle instead of swinging over noise
        middle = (high + low) / 2
        low, high = middle - 1, middle + 1
    xs = _x_positions(series, pad, width - pad)
    ys = [height - pad - (v - low) / (high - low) * (height - 2 * pad) for v in values]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return Sparkline(points=points, last_x=xs[-1], last_y=ys[-1], label=_describe_series(series))


def line_chart(series: list[UptakePoint]) -> Chart | None:
    if not series:
        return None
    left, right, top, bottom = Chart.left, Chart.right, Chart.top, Chart.bottom
    values = [p.share_percent for p in series]
    low = max(0, math.floor(min(values) / 10) * 10)
    high = min(100, math.ceil(max(values) / 10) * 10)
    if high - low < 10:
        low, high = (high - 10, high) if high >= 10 else (0, 10)
    step = 10 if high - low >= 30 else 5
    xs = _x_positions(series, left + 8, right - 8)

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    grid = [GridLine(y_of(v), percent(v, "#,##0")) for v in range(low, high + 1, step)]
    dots = [
        Dot(x, y_of(p.share_percent), f"{day(p.measured_on)}: {percent(p.share_percent)}")
        for x, p in zip(xs, series, strict=True)
    ]
    return Chart(
        points=" ".join(f"{d.x:.1f},{d.y:.1f}" for d in dots),
        dots=dots,
        grid=grid,
        first_date=day(series[0].measured_on),
        last_date=day(series[-1].measured_on) if len(series) > 1 else "",
        title=_("Vaccination uptake, all ages"),
        description=_describe_series(series),
    )


# --- reading forms ---------------------------------------------------------------------------

_WHOLE = re.compile(r"^\d+$")
_GROUPED = re.compile(r"^\d{1,3}(?:[ .,\u00a0\u202f]\d{3})+$")
_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)?$")
_DANISH_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


def parse_population(raw: str) -> int | None:
    """Empty means unknown; "12500", "12.500" and "12 500" are all twelve thousand five hundred."""
    text = raw.strip()
    if not text:
        return None
    if len(text) <= 20 and (_WHOLE.match(text) or _GROUPED.match(text)):
        value = int(re.sub(r"\D", "", text))
        if value <= MAX_POPULATION:
            return value
    message = _("Enter the number of residents as a whole number, e.g. 12500.")
    raise InvalidInput(message, errors=[FieldError("population", message)])


def parse_percent(raw: str, field_name: str) -> float:
    """A share in percent; a decimal comma ("72,5") and a trailing "%" are fine."""
    text = raw.strip().removesuffix("%").strip()
    if _DECIMAL.match(text):
        value = float(text.replace(",", "."))
        if 0 <= value <= 100:
            return value
    message = _("Enter a percentage between 0 and 100, e.g. 72.5.")
    raise InvalidInput(message, errors=[FieldError(field_name, message)])


def parse_day(raw: str, field_name: str) -> date:
    """ISO dates (what a date picker sends) and Danish 1.10.2026 / 01-10-2026."""
    text = raw.strip()
    try:
        if found := _DANISH_DATE.match(text):
            parsed = date(int(found[3]), int(found[2]), int(found[1]))
        else:
            parsed = date.fromisoformat(text)
    except ValueError:
        message = _("Enter the date as YYYY-MM-DD, e.g. 2026-10-01.")
        raise InvalidInput(message, errors=[FieldError(field_name, message)]) from None
    if parsed > date.today() + timedelta(days=1):  # a day of slack for time zones
        message = _("Uptake is measured, so the date cannot be in the future.")
        raise InvalidInput(message, errors=[FieldError(field_name, message)])
    return parsed


def parse_kind(raw: str) -> AreaKind:
    try:
        return AreaKind(raw)
    except ValueError:
        message = _("Choose what kind of area it is.")
        raise InvalidInput(message, errors=[FieldError("kind", message)]) from None


def parse_parent(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if (found := parse_id(text)) is not None:
        return found
    message = _("The parent area does not exist.")
    raise InvalidInput(message, errors=[FieldError("parent_id", message)])


def parse_age_band(raw: str) -> str:
    """Empty means all ages; otherwise a short label such as "65+" or "12-17"."""
    text = raw.strip()
    if len(text) > MAX_AGE_BAND:
        message = _("Use at most %(num)d characters.") % {"num": MAX_AGE_BAND}
        raise InvalidInput(message, errors=[FieldError("age_band", message)])
    return text


def parse_code(raw: str) -> str:
    text = raw.strip()
    if not text:
        message = _("Give the area a code.")
    elif len(text) > MAX_CODE:
        message = _("Use at most %(num)d characters.") % {"num": MAX_CODE}
    else:
        return text
    raise InvalidInput(message, errors=[FieldError("code", message)])


def parse_name(raw: str) -> str:
    text = raw.strip()
    if not text:
        message = _("Give the area a name.")
    elif len(text) > MAX_NAME:
        message = _("Use at most %(num)d characters.") % {"num": MAX_NAME}
    else:
        return text
    raise InvalidInput(message, errors=[FieldError("name", message)])


def _collect(*checks: Any) -> dict[str, Any]:
    """Run each (key, parse, args...) and gather every field error, not only the first."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, parse, *args in checks:
        try:
            values[key] = parse(*args)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors[0].message, errors=errors)
    return values


# --- the list --------------------------------------------------------------------------------


@dataclass
class AreaRow:
    area: Area
    depth: int
    parent: Area | None
    parent_shown: bool
    population: str
    latest: str
    latest_on: str
    spark: Sparkline | None


@dataclass
class ListQuery:
    q: str = ""
    kind: str = ""
    page: int = 1


async def _list_page(
    request: Request,
    session: SessionDep,
    query: ListQuery,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    everything = await service.all_areas(session)
    kind = AreaKind(query.kind) if query.kind in {k.value for k in AreaKind} else None
    matching, _total = await service.list_areas(
        session, search=query.q, kind=kind, limit=len(everything) + 1
    )
    ordered = tree_order(matching)
    total = len(ordered)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(query.page, pages)
    shown = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ids = {a.id for a, _depth in shown}
    latest = await service.latest_uptake(session, ids)  # type: ignore[arg-type]
    series = await service.uptake_series(session, ids)  # type: ignore[arg-type]
    by_id = {a.id: a for a in everything}
    rows = []
    for area, depth in shown:
        point = latest.get(area.id)  # type: ignore[arg-type]
        rows.append(
            AreaRow(
                area=area,
                depth=min(depth, MAX_DEPTH_CLASS),
                parent=by_id.get(area.parent_id),
                parent_shown=area.parent_id in ids,  # on this page, just above
                population=whole_number(area.population),
                latest=percent(point.share_percent) if point else "",
                latest_on=day(point.measured_on) if point else "",
                spark=sparkline(series.get(area.id, [])),  # type: ignore[arg-type]
            )
        )
    return render(
        request,
        "areas/list.html",
        {
            "rows": rows,
            "total": total,
            "any_areas": bool(everything),
            "q": query.q,
            "kind": kind.value if kind else "",
            "page": page,
            "pages": pages,
            "kind_labels": area_kind_labels(),
            "parent_choices": area_choices(everything),
            "form": form,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/areas", name="areas_page")
async def areas_page(
    request: Request,
    _staff: StaffPageDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await _list_page(
        request, session, ListQuery(q=q, kind=kind, page=page), form={}, errors={}
    )


@router.post("/areas", name="create_area_page", dependencies=[Csrf])
async def create_area_page(
    request: Request,
    _staff: StaffPageDep,
    session: SessionDep,
    code: FormStr = "",
    name: FormStr = "",
    kind: FormStr = "",
    parent_id: FormStr = "",
    population: FormStr = "",
) -> Response:
    form = {
        "code": code,
        "name": name,
        "kind": kind,
        "parent_id": parent_id,
        "population": population,
    }
    try:
        values = _collect(
            ("code", parse_code, code),
            ("name", parse_name, name),
            ("kind", parse_kind, kind),
            ("parent_id", parse_parent, parent_id),
            ("population", parse_population, population),
        )
        area = await service.create_area(session, **values)
    except HubError as exc:
        await rollback(session)
        return await _list_page(
            request, session, ListQuery(), form=form, errors=field_errors(exc), status_code=400
        )
    return see_other(f"/areas/{area.id}?done=area-created")


# --- one area --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UptakeRow:
    measured_on: date
    day: str
    age_band: str
    share: str


async def _area_page(
    request: Request,
    session: SessionDep,
    area: Area,
    *,
    edit_form: dict[str, str] | None = None,
    uptake_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    failed: str = "",
    status_code: int = 200,
) -> Response:
    everything = await service.all_areas(session)
    area_id: int = area.id  # type: ignore[assignment]
    series = (await service.uptake_series(session, {area_id})).get(area_id, [])
    latest = (await service.latest_uptake(session, {area_id})).get(area_id)
    rows = await service.uptake_rows(session, area_id)
    children = [a for a in everything if a.parent_id == area_id]
    parent = next((a for a in everything if a.id == area.parent_id), None)
    below = service.descendants(everything, {area_id})
    return render(
        request,
        "areas/detail.html",
        {
            "area": area,
            "parent": parent,
            "children": sorted(children, key=lambda a: a.code),
            "population": whole_number(area.population),
            "latest": percent(latest.share_percent) if latest else "",
            "latest_on": day(latest.measured_on) if latest else "",
            "chart": line_chart(series),
            "uptake_rows": [
                UptakeRow(r.measured_on, day(r.measured_on), r.age_band, percent(r.share_percent))
                for r in rows
            ],
            "age_bands": sorted({r.age_band for r in rows if r.age_band}),
            "kind_labels": area_kind_labels(),
            # An area cannot move inside itself or below one of its own children.
            "parent_choices": area_choices(everything, exclude=below),
            "edit_form": edit_form
            or {
                "name": area.name,
                "kind": area.kind.value,
                "parent_id": str(area.parent_id or ""),
                "population": str(area.population) if area.population is not None else "",
            },
            "uptake_form": uptake_form or {"measured_on": "", "share_percent": "", "age_band": ""},
            "errors": errors or {},
            "failed": failed,
            "today": date.today().isoformat(),
        },
        status_code=status_code,
    )


@router.get("/areas/{area_id}", name="area_page", dependencies=[InRange])
async def area_page(
    request: Request, _staff: StaffPageDep, area: AreaDep, session: SessionDep
) -> Response:
    return await _area_page(request, session, area)


@router.post("/areas/{area_id}", name="update_area_page", dependencies=[InRange, Csrf])
async def update_area_page(
    request: Request,
    _staff: StaffPageDep,
    area: AreaDep,
    session: SessionDep,
    name: FormStr = "",
    kind: FormStr = "",
    parent_id: FormStr = "",
    population: FormStr = "",
) -> Response:
    form = {"name": name, "kind": kind, "parent_id": parent_id, "population": population}
    try:
        values = _collect(
            ("name", parse_name, name),
            ("kind", parse_kind, kind),
            ("parent_id", parse_parent, parent_id),
            ("population", parse_population, population),
        )
        await service.update_area(session, area, values)
    except HubError as exc:
        await rollback(session)
        return await _area_page(
            request,
            session,
            area,
            edit_form=form,
            errors=field_errors(exc),
            failed="edit",
            status_code=400,
        )
    return see_other(f"/areas/{area.id}?done=area-updated")


@router.post("/areas/{area_id}/uptake", name="record_uptake_page", dependencies=[InRange, Csrf])
async def record_uptake_page(
    request: Request,
    _staff: StaffPageDep,
    area: AreaDep,
    session: SessionDep,
    measured_on: FormStr = "",
    share_percent: FormStr = "",
    age_band: FormStr = "",
) -> Response:
    form = {"measured_on": measured_on, "share_percent": share_percent, "age_band": age_band}
    try:
        values = _collect(
            ("measured_on", parse_day, measured_on, "measured_on"),
            ("share_percent", parse_percent, share_percent, "share_percent"),
            ("age_band", parse_age_band, age_band),
        )
        await service.record_uptake(session, area, **values)
    except HubError as exc:
        await rollback(session)
        return await _area_page(
            request,
            session,
            area,
            uptake_form=form,
            errors=field_errors(exc),
            failed="uptake",
            status_code=400,
        )
    return see_other(f"/areas/{area.id}?done=uptake-recorded")
