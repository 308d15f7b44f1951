"""Officers' reach report pages: reach by a chosen dimension with its charts, the funnel, and
the equity view; each exports as CSV or XLSX.

The pages are GET forms, so their addresses can be bookmarked and shared; a bad filter shows
beside its field and the page still answers with what it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from sqlmodel import col, select
from starlette.responses import Response

from hub.areas.pages import area_choices
from hub.areas.service import all_areas
from hub.auth.dependencies import PageUserDep, StaffPageDep
from hub.campaigns.dependencies import StaffCampaignDep
from hub.dependencies import SessionDep, SettingsDep
from hub.errors import NotFound
from hub.forms import parse_id
from hub.i18n import _, current_language, ngettext
from hub.languages import display_name
from hub.models import Campaign, Measure, Organisation, OrganisationKind, Role
from hub.reports import charts, equity, export, impact, service
from hub.reports.service import Dimension, Filters
from hub.schemas import IdPath
from hub.templating import render

router = APIRouter(include_in_schema=False)
TOP = 15  # bars in a chart; the table has every row

# The measures, in the order of the table, by kind.
MEASURE_ORDER = (
    Measure.sent,
    Measure.visits,
    Measure.downloads,
    Measure.reports,
    Measure.reported,
    Measure.clicks,
    Measure.uniques,
    Measure.previews,
)


def measure_titles() -> dict[Measure, str]:
    return {
        Measure.sent: _("Notifications sent"),
        Measure.visits: _("Partner visits"),
        Measure.downloads: _("Downloads"),
        Measure.reports: _("Reports"),
        Measure.reported: _("Reported reach"),
        Measure.clicks: _("Link clicks"),
        Measure.uniques: _("Unique visitors (estimate)"),
        Measure.previews: _("Link previews"),
    }


def dimension_titles() -> dict[Dimension, str]:
    return {
        Dimension.channel: _("Channel"),
        Dimension.partner_kind: _("Partner kind"),
        Dimension.partner: _("Partner"),
        Dimension.area: _("Area"),
        Dimension.language: _("Language"),
        Dimension.item: _("Material"),
        Dimension.day: _("Day"),
        Dimension.week: _("Week"),
    }


def channel_titles() -> dict[str, str]:
    return {
        "email": _("E-mail"),
        "sms": _("SMS"),
        "webhook": _("Webhook"),
        "whatsapp": _("WhatsApp"),
        "facebook": _("Facebook"),
        "instagram": _("Instagram"),
        "newsletter": _("Newsletter"),
        "email_list": _("E-mail list"),
        "sms_list": _("SMS list"),
        "poster": _("Posters"),
        "flyer": _("Flyers"),
        "meeting": _("Meetings"),
        "sermon": _("Sermons"),
        "door_to_door": _("Door-to-door"),
        "website": _("Website"),
        "other": _("Other"),
        "": _("Not by channel"),
    }


def kind_titles() -> dict[str, str]:
    return {
        "association": _("Association"),
        "faith_community": _("Faith community"),
        "housing_organisation": _("Housing organisation"),
        "civil_society": _("Civil-society organisation"),
        "resource_person": _("Resource person"),
        "public_institution": _("Public institution"),
        "other": _("Other"),
    }


def number(value: float | int) -> str:
    return format_decimal(value, locale=current_language())


@dataclass
class ReportForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    filters: Filters = field(default_factory=Filters)
    by: Dimension = Dimension.channel


def _day(form: ReportForm, name: str) -> date | None:
    text = form.values.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        form.errors[name] = _("Enter a date, e.g. 2026-11-24.")
        return None


def read_form(
    *,
    campaign_id: str,
    start: str,
    end: str,
    kind: list[str],
    area_id: str,
    language: str,
    channel: str,
    by: str,
) -> ReportForm:
    """The filters of a report page; a bad value is an error beside its field."""
    form = ReportForm(
        values={
            "campaign_id": campaign_id,
            "start": start,
            "end": end,
            "area_id": area_id,
            "language": language,
            "channel": channel,
            "by": by,
        }
    )
    campaign = parse_id(campaign_id) if campaign_id.strip() else None
    if campaign_id.strip() and campaign is None:
        form.errors["campaign_id"] = _("Choose a campaign from the list.")
    area = parse_id(area_id) if area_id.strip() else None
    if area_id.strip() and area is None:
        form.errors["area_id"] = _("Choose an area from the list.")
    kinds = tuple(OrganisationKind(k) for k in kind if k in OrganisationKind.__members__)
    first, last = _day(form, "start"), _day(form, "end")
    if first and last and first > last:
        form.errors["end"] = _("The end date is before the start date.")
        last = None
    try:
        form.by = Dimension(by or "channel")
    except ValueError:
        form.errors["by"] = _("Choose from the list.")
    form.filters = Filters(
        campaign_id=campaign,
        start=first,
        end=last,
        kinds=kinds,
        area_id=area,
        language=language.strip().lower() or None,
        channel=channel.strip() or None,
    )
    form.values["kind"] = ",".join(k.value for k in kinds)
    return form


async def _labels(
    session: SessionDep, by: Dimension, rows: list[service.ReachRow]
) -> dict[str, str]:
    names = await service.labels(session, by, [r.key for r in rows])
    language = current_language()
    for row in rows:
        if by is Dimension.channel:
            names[row.key] = channel_titles().get(row.key, row.key)
        elif by is Dimension.partner_kind:
            names[row.key] = kind_titles().get(row.key, row.key)
        elif by is Dimension.language:
            names[row.key] = display_name(row.key, language) if row.key else _("Any language")
        elif by is Dimension.item and not row.key:
            names[row.key] = _("No particular material")
        names.setdefault(row.key, row.key)
    return names


def _reach_table(
    by: Dimension, rows: list[service.ReachRow], names: dict[str, str]
) -> export.Table:
    titles = measure_titles()
    columns = [export.Column("label", dimension_titles()[by])]
    columns += [
        export.Column(m.value, titles[m], kind="count", small_cell=True) for m in MEASURE_ORDER
    ]
    return export.Table(
        title=_("Reach by %(dimension)s") % {"dimension": dimension_titles()[by].lower()},
        columns=columns,
        rows=[
            {"label": names[r.key], **{m.value: r.values.get(m, 0) for m in MEASURE_ORDER}}
            for r in rows
        ],
        notes=[
            _(
                "Sent, engaged, reported and measured numbers are different kinds: they are "
                "never added together. Reported reach is what partners say; clicks and unique "
                "visitors are measured on their tracked links."
            )
        ],
    )


def _charts(
    by: Dimension, rows: list[service.ReachRow], names: dict[str, str]
) -> list[tuple[str, str]]:
    """(visible caption, SVG) of the charts of a reach table."""
    titles = measure_titles()
    if by in (Dimension.day, Dimension.week):
        points = [names[r.key] for r in rows]
        return [
            (
                _("Measured and reported reach over time"),
                charts.line_chart(
                    title=_("Measured and reported reach over time"),
                    description=_("Link clicks, unique visitors and reported reach per %(period)s.")
                    % {"period": dimension_titles()[by].lower()},
                    points=points,
                    series=[
                        charts.Series(titles[m], [r.values.get(m, 0) for r in rows])
                        for m in (Measure.clicks, Measure.uniques, Measure.reported)
                    ],
                    format_number=number,
                    empty_text=_("No data"),
                ),
            )
        ]
    top = rows[:TOP]
    categories = [names[r.key] or "–" for r in top]
    return [
        (
            _("Measured reach"),
            charts.bar_chart(
                title=_("Measured reach"),
                description=_(
                    "Link clicks and unique visitors per %(dimension)s (the first %(n)d)."
                )
                % {"dimension": dimension_titles()[by].lower(), "n": len(top)},
                categories=categories,
                series=[
                    charts.Series(titles[m], [r.values.get(m, 0) for r in top])
                    for m in (Measure.clicks, Measure.uniques)
                ],
                format_number=number,
                empty_text=_("No data"),
            ),
        ),
        (
            _("Link clicks: on partners' own links and on links shared on"),
            charts.stacked_bar_chart(
                title=_("Link clicks: on partners' own links and on links shared on"),
                description=_(
                    "Clicks per %(dimension)s: on the partners' own links, and on the links "
                    "people passed on from them."
                )
                % {"dimension": dimension_titles()[by].lower()},
                categories=categories,
                series=[
                    charts.Series(
                        _("Partners' own links"),
                        [r.values.get(Measure.clicks, 0) - r.shared_clicks for r in top],
                    ),
                    charts.Series(_("Shared on"), [r.shared_clicks for r in top]),
                ],
                format_number=number,
                empty_text=_("No data"),
            ),
        ),
        (
            _("Reported reach"),
            charts.bar_chart(
                title=_("Reported reach"),
                description=_("What partners reported reaching, per %(dimension)s.")
                % {"dimension": dimension_titles()[by].lower()},
                categories=categories,
                series=[
                    charts.Series(
                        titles[Measure.reported], [r.values.get(Measure.reported, 0) for r in top]
                    )
                ],
                format_number=number,
                empty_text=_("No data"),
            ),
        ),
    ]


async def _campaigns(session: SessionDep) -> list[Campaign]:
    rows = await session.exec(
        select(Campaign)
        .where(col(Campaign.published_at).is_not(None))
        .order_by(col(Campaign.published_at).desc())
    )
    return list(rows.all())


def _page_query(request: Request) -> str:
    """The page's filters, for its download links."""
    kept = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("format", "delimiter")
    ]
    return urlencode(kept)


def _export_query(request: Request) -> str:
    """The page's own filters, for its download links to carry."""
    return urlencode(
        [(k, v) for k, v in request.query_params.multi_items() if k not in ("format", "delimiter")]
    )


def _exported(
    tables: list[export.Table], fmt: str, delimiter: str, name: str, threshold: int
) -> Response:
    """A download: exports leave the hub and get passed around, so small counts of people
    show as "<5" in them even for officers (their screens show exact counts)."""
    if fmt == "xlsx":
        return export.xlsx_response(tables, filename=f"{name}.xlsx", small_cell_threshold=threshold)
    return export.csv_response(
        tables,
        filename=f"{name}.csv",
        delimiter=";" if delimiter == ";" else ",",
        small_cell_threshold=threshold,
    )


@router.get("/reports", name="reports_page")
async def reports_page(
    request: Request,
    _staff: StaffPageDep,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: Annotated[str, Query(max_length=12)] = "",
    start: Annotated[str, Query(max_length=12)] = "",
    end: Annotated[str, Query(max_length=12)] = "",
    kind: Annotated[list[str], Query(max_length=10)] = [],  # noqa: B006
    area_id: Annotated[str, Query(max_length=12)] = "",
    language: Annotated[str, Query(max_length=8)] = "",
    channel: Annotated[str, Query(max_length=20)] = "",
    by: Annotated[str, Query(max_length=20)] = "channel",
    format: Annotated[str, Query(max_length=5)] = "",
    delimiter: Annotated[str, Query(max_length=1)] = ",",
) -> Response:
    """Reach by channel, partner kind, partner, area, language, material or over time; with
    the funnel when a campaign is chosen. ``format=csv|xlsx`` downloads it."""
    form = read_form(
        campaign_id=campaign_id,
        start=start,
        end=end,
        kind=kind,
        area_id=area_id,
        language=language,
        channel=channel,
        by=by,
    )
    rows = await service.reach(session, by=form.by, filters=form.filters)
    names = await _labels(session, form.by, rows)
    table = _reach_table(form.by, rows, names)
    funnel = (
        await equity.funnel(session, campaign_id=form.filters.campaign_id, filters=form.filters)
        if form.filters.campaign_id is not None
        else []
    )
    if format in ("csv", "xlsx"):
        tables = [table]
        if funnel:
            tables.append(_funnel_table(funnel))
        return _exported(tables, format, delimiter, "reach", settings.small_cell_threshold)
    query = _export_query(request)
    return render(
        request,
        "reports/reach.html",
        {
            "form": form,
            "kinds_chosen": set(kind),
            "campaigns": await _campaigns(session),
            "areas": area_choices(await all_areas(session)),
            "dimensions": dimension_titles(),
            "kind_titles": kind_titles(),
            "table": table,
            "totals": service.totals(rows),
            "measures": MEASURE_ORDER,
            "measure_titles": measure_titles(),
            "charts": _charts(form.by, rows, names),
            "funnel": funnel,
            "funnel_titles": funnel_titles(),
            "number": number,
            "export_query": query,
        },
        status_code=400 if form.errors else 200,
    )


def funnel_titles() -> dict[str, str]:
    return {
        "addressed": _("Partners addressed"),
        "notified": _("Notified"),
        "opened_or_downloaded": _("Opened the campaign or downloaded"),
        "reported": _("Reported what they did"),
        "clicked": _("Their links were opened"),
    }


def _funnel_table(steps: list[equity.FunnelStep]) -> export.Table:
    titles = funnel_titles()
    return export.Table(
        title=_("Funnel"),
        columns=[
            export.Column("step", _("Step")),
            export.Column("partners", _("Partners"), kind="count"),
            export.Column("drop", _("Lost since the step before"), kind="count"),
        ],
        rows=[{"step": titles[s.name], "partners": s.partners, "drop": s.drop} for s in steps],
    )


@router.get("/reports/equity", name="equity_page")
async def equity_page(
    request: Request,
    _staff: StaffPageDep,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: Annotated[str, Query(max_length=12)] = "",
    start: Annotated[str, Query(max_length=12)] = "",
    end: Annotated[str, Query(max_length=12)] = "",
    format: Annotated[str, Query(max_length=5)] = "",
    delimiter: Annotated[str, Query(max_length=1)] = ",",
) -> Response:
    """Areas behind on uptake and not yet reached, ranked for the next wave; language groups."""
    form = read_form(
        campaign_id=campaign_id,
        start=start,
        end=end,
        kind=[],
        area_id="",
        language="",
        channel="",
        by="",
    )
    view = await equity.equity(
        session,
        filters=form.filters,
        threshold=settings.equity_uptake_threshold,
        low_reach_per_1000=settings.equity_low_reach_per_1000,
    )
    wave = view.next_wave
    audience_query = urlencode(
        [("area_ids", a.area.id) for a in wave]
        + [("uptake_below", number(view.threshold)), ("only_active", "1")]
    )
    tables = _equity_tables(view)
    if format in ("csv", "xlsx"):
        return _exported(tables, format, delimiter, "equity", settings.small_cell_threshold)
    chart = charts.bar_chart(
        title=_("Unique visitors per 1,000 residents in the areas behind"),
        description=_(
            "Areas whose uptake is below %(threshold)s %%, measured reach per 1,000 residents."
        )
        % {"threshold": number(view.threshold)},
        categories=[a.area.name for a in wave[:TOP]],
        series=[
            charts.Series(
                _("Unique visitors per 1,000 residents"),
                [a.measured_per_1000 or 0 for a in wave[:TOP]],
            )
        ],
        format_number=number,
        empty_text=_("No area is behind and unreached."),
    )
    query = _export_query(request)
    return render(
        request,
        "reports/equity.html",
        {
            "form": form,
            "campaigns": await _campaigns(session),
            "view": view,
            "wave": wave,
            "audience_url": f"{request.url_for('audiences_page')}?{audience_query}",
            "chart": chart,
            "number": number,
            "export_query": query,
        },
        status_code=400 if form.errors else 200,
    )


def _equity_tables(view: equity.Equity) -> list[export.Table]:
    areas = export.Table(
        title=_("Areas"),
        columns=[
            export.Column("name", _("Area")),
            export.Column("population", _("Population"), kind="count"),
            export.Column("uptake", _("Uptake (%)"), kind="number"),
            export.Column("change", _("Change (points)"), kind="number"),
            export.Column("partners", _("Active partners"), kind="count"),
            export.Column("languages", _("Languages")),
            export.Column(
                "uniques", _("Unique visitors (estimate)"), kind="count", small_cell=True
            ),
            export.Column("measured", _("Unique visitors per 1,000"), kind="number"),
            export.Column("reported", _("Reported reach"), kind="count", small_cell=True),
            export.Column("reported_1000", _("Reported reach per 1,000"), kind="number"),
            export.Column("flagged", _("Behind and not reached")),
        ],
        rows=[
            {
                "name": a.area.name,
                "population": a.area.population,
                "uptake": a.uptake,
                "change": a.uptake_change,
                "partners": a.partners,
                "languages": ", ".join(a.languages),
                "uniques": a.uniques,
                "measured": a.measured_per_1000,
                "reported": a.reported,
                "reported_1000": a.reported_per_1000,
                "flagged": _("Yes") if a.flagged else "",
            }
            for a in view.areas
        ],
    )
    languages = export.Table(
        title=_("Languages"),
        columns=[
            export.Column("language", _("Language")),
            export.Column("partners", _("Active partners"), kind="count"),
            export.Column("variants", _("Language versions"), kind="count"),
            export.Column(
                "uniques", _("Unique visitors (estimate)"), kind="count", small_cell=True
            ),
            export.Column("reported", _("Reported reach"), kind="count", small_cell=True),
        ],
        rows=[
            {
                "language": display_name(r.language, current_language()),
                "partners": r.partners,
                "variants": r.variants,
                "uniques": r.uniques,
                "reported": r.reported,
            }
            for r in view.languages
        ],
    )
    return [areas, languages]


# --- a partner's impact ------------------------------------------------------------------


def _times(value: int, threshold: int | None) -> str:
    """ "opened 212 times", or "fewer than 5 times" for a partner's small counts."""
    if threshold is not None and 0 < value < threshold:
        return _("fewer than %(num)d times") % {"num": threshold}
    return ngettext("%(num)s time", "%(num)s times", value) % {"num": number(value)}


def _count(value: int, threshold: int | None) -> str:
    shown = export.suppress(value, threshold)
    return shown if isinstance(shown, str) else number(value)


async def _impact_page(
    request: Request, session: SessionDep, organisation: Organisation, threshold: int | None
) -> Response:
    campaigns = await impact.impact(session, organisation_id=organisation.id or 0)
    return render(
        request,
        "reports/impact.html",
        {
            "organisation": organisation,
            "campaigns": campaigns,
            "channel_titles": channel_titles(),
            "times": lambda value: _times(value, threshold),
            "count": lambda value: _count(value, threshold),
            "languages": lambda codes: ", ".join(
                sorted(display_name(c, current_language()) for c in codes)
            ),
        },
    )


@router.get("/portal/impact", name="own_impact_page")
async def own_impact_page(
    request: Request, principal: PageUserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """What the partner's own links and reports reached (small counts shown as "<5")."""
    if principal.role is not Role.partner or principal.organisation_id is None:
        raise NotFound(_("Only partner organisations have an impact page."))
    organisation = await session.get(Organisation, principal.organisation_id)
    if organisation is None:
        raise NotFound(_("No such organisation."))
    return await _impact_page(request, session, organisation, settings.small_cell_threshold)


@router.get("/partners/{organisation_id}/impact", name="partner_impact_page")
async def partner_impact_page(
    request: Request, organisation_id: IdPath, _staff: StaffPageDep, session: SessionDep
) -> Response:
    """A partner's impact page as officers see it: exact counts."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_("No such organisation."))
    return await _impact_page(request, session, organisation, None)


# --- a campaign's summary ----------------------------------------------------------------


@router.get("/campaigns/{campaign_id}/summary", name="campaign_summary_page")
async def campaign_summary_page(
    request: Request,
    campaign: StaffCampaignDep,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[str, Query(max_length=5)] = "",
    delimiter: Annotated[str, Query(max_length=1)] = ",",
) -> Response:
    """One page to print about a campaign: the funnel, and reach by channel, language and
    partner, each with its chart and table (``format=csv|xlsx`` downloads the tables)."""
    filters = Filters(campaign_id=campaign.id)
    sections: list[dict[str, Any]] = []
    for by in (Dimension.channel, Dimension.language, Dimension.partner, Dimension.week):
        rows = await service.reach(session, by=by, filters=filters)
        names = await _labels(session, by, rows)
        sections.append(
            {
                "table": _reach_table(by, rows, names),
                "charts": _charts(by, rows, names)[:1],
                "totals": service.totals(rows),
            }
        )
    funnel = await equity.funnel(session, campaign_id=campaign.id or 0, filters=filters)
    if format in ("csv", "xlsx"):
        tables = [_funnel_table(funnel), *(section["table"] for section in sections)]
        return _exported(tables, format, delimiter, "summary", settings.small_cell_threshold)
    return render(
        request,
        "reports/summary.html",
        {
            "campaign": campaign,
            "funnel": funnel,
            "funnel_titles": funnel_titles(),
            "sections": sections,
            "measures": MEASURE_ORDER,
            "number": number,
            "export_query": "",
        },
    )
