"""HTML pages of forward reports: the partner's form and list, the officer's list and flags
(the form itself, photo and all, is read by :mod:`hub.forwards.form`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Form, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from hub.auth import csrf
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import PageUserDep, StaffPageDep
from hub.campaigns import kit
from hub.campaigns import service as campaigns
from hub.campaigns.dependencies import PageCampaignDep, StaffCampaignDep
from hub.db import rollback
from hub.dependencies import SessionDep, StateDep
from hub.errors import Conflict, HubError
from hub.forms import field_errors, parse_id, see_other
from hub.forwards import form as report_form
from hub.forwards import service
from hub.forwards.dependencies import (
    PageReportDep,
    StaffReportDep,
    evidence_response,
    report_campaign,
)
from hub.i18n import _, current_language
from hub.languages import display_name
from hub.materials.api import StorageDep
from hub.materials.upload import (
    discard_upload,
)
from hub.models import Campaign, ForwardReport, ReportKind, Role, User
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 25
# The text fields of a report form come to a few KiB; a body that is larger before its file
# starts is not one of our forms.
MAX_FORM_BYTES = 1024 * 1024
MAX_FORM_FIELDS = 80
FLAG_FILTERS = ("", "yes", "no")


# --- partners: their organisation's reports ----------------------------------------------------


def _format_number(value: int) -> str:
    return format_decimal(value, locale=current_language())


def _language_list(codes: list[str] | None) -> str:
    return ", ".join(display_name(c, current_language()) for c in codes or [])


FORMATTERS: dict[str, Any] = {
    "format_number": _format_number,
    "format_day": kit.day,
    "language_list": _language_list,
}


def _kind(text: str | None) -> ReportKind:
    try:
        return ReportKind(text or "forward")
    except ValueError:
        return ReportKind.forward


def _partner_only(principal: User) -> None:
    service.check_reporter(principal)


def _language_choices(codes: list[str]) -> list[tuple[str, str]]:
    return [(c, display_name(c, current_language())) for c in codes]


async def _form_page(
    request: Request,
    session: AsyncSession,
    campaign: Campaign,
    kind: ReportKind,
    *,
    report: ForwardReport | None = None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    variants = await service.campaign_variants(session, campaign)
    channels = service.FORWARD_CHANNELS if kind is ReportKind.forward else service.POSTER_CHANNELS
    if report is None:
        action = str(request.url_for("create_report_page", campaign_id=campaign.id))
        action += "?" + urlencode({"kind": kind.value})
    else:
        action = str(request.url_for("update_report_page", report_id=report.id))
    return render(
        request,
        "forwards/form.html",
        {
            "campaign": campaign,
            "kind": kind.value,
            "report": report,
            "fields": service.fields_of(kind),
            "required": service.REQUIRED[kind],
            "variants": variants,
            "channels": [c.value for c in channels],
            "languages": _language_choices(await service.campaign_languages(session, campaign)),
            "form": values,
            "errors": errors or {},
            "action": action,
            "earliest": service.earliest_day(campaign),
            "today": service.today_in_copenhagen(),
            "editable_until": service.editable_until(report) if report else None,
            "max_upload_mb": request.state.hub.settings.max_upload_mb,
            "limits": service.COUNT_FIELDS,
            **FORMATTERS,
        },
        status_code=status_code,
    )


def _portal_list_url(request: Request, campaign_id: int, done: str) -> str:
    url = request.url_for("campaign_reports_portal_page", campaign_id=campaign_id)
    return f"{url}?done={done}"


def _correction(report: ForwardReport, principal: User) -> str:
    """Whether the partner may correct the report: "yes", "colleague" or "too-old"."""
    refusal = service.correction_refusal(report, principal)
    if refusal is None:
        return "yes"
    return "too-old" if isinstance(refusal, Conflict) else "colleague"


@router.get("/portal/campaigns/{campaign_id}/reports", name="campaign_reports_portal_page")
async def campaign_reports_portal_page(
    request: Request,
    campaign: PageCampaignDep,
    principal: PageUserDep,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The organisation's reports on the campaign, with links to correct them while allowed."""
    if principal.role is not Role.partner:
        return see_other(str(request.url_for("campaign_reports_page", campaign_id=campaign.id)))
    _partner_only(principal)
    views, total = await service.list_reports(
        session,
        principal=principal,
        campaign=campaign,
        organisation_id=principal.organisation_id,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    totals = await service.kind_totals(
        session,
        campaign=campaign,
        organisation_id=principal.organisation_id,
        separate_flagged=False,
    )
    return render(
        request,
        "forwards/portal_list.html",
        {
            "campaign": campaign,
            "views": views,
            "total": total,
            "totals": totals,
            "correction": {v.report.id: _correction(v.report, principal) for v in views},
            "correction_days": service.CORRECTION_DAYS,
            "editable_until": service.editable_until,
            "kinds": [k.value for k in ReportKind],
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "query": "",
            **FORMATTERS,
        },
    )


@router.get("/portal/campaigns/{campaign_id}/reports/new", name="new_report_page")
async def new_report_page(
    request: Request,
    campaign: PageCampaignDep,
    principal: PageUserDep,
    session: SessionDep,
    kind: Annotated[str, Query(max_length=20)] = "forward",
) -> Response:
    _partner_only(principal)
    chosen = _kind(kind)
    values: dict[str, Any] = {"kind": chosen.value, "languages": []}
    return await _form_page(request, session, campaign, chosen, values=values)


@router.post("/portal/campaigns/{campaign_id}/reports/new", name="create_report_page")
async def create_report_page(
    request: Request,
    campaign: PageCampaignDep,
    principal: PageUserDep,
    session: SessionDep,
    storage: StorageDep,
    kind: Annotated[str, Query(max_length=20)] = "forward",
) -> Response:
    """The report form (multipart: csrf_token, kind, the kind's fields, an optional photo in
    ``file``)."""
    _partner_only(principal)
    received = await report_form.receive_form(request, session, storage)
    chosen = _kind(received.first("kind") or kind)
    form = report_form.form_values(chosen, received)
    try:
        csrf.verify(request, received.first(csrf.CSRF_FIELD))
        if received.error is not None:
            raise received.error
        values, unreadable = report_form.report_values(chosen, form)
        await report_form.checked_values(
            session, campaign, chosen, values, unreadable, received.upload
        )
        await service.create_report(
            session,
            principal=principal,
            campaign=campaign,
            kind=chosen,
            values=values,
            evidence=received.upload,
            storage=storage,
        )
    except HubError as exc:
        await rollback(session)
        return await _form_page(
            request,
            session,
            campaign,
            chosen,
            values=form,
            errors=_refused(exc, received),
            status_code=exc.status,
        )
    finally:
        if received.upload is not None:
            await discard_upload(storage, received.upload)
    return see_other(_portal_list_url(request, campaign.id or 0, "report-saved"))


def _refused(exc: HubError, received: report_form.ReceivedForm) -> dict[str, str]:
    if exc is received.error and not exc.errors:
        return {"file": exc.detail}  # too large, cut short: about the file, as a rule
    errors = report_form.page_errors(exc)
    if received.upload is not None and "file" not in errors:
        # A browser cannot show a chosen file again.
        errors["file"] = _("The photo was not kept because of the other errors. Choose it again.")
    return errors


@router.get("/portal/reports/{report_id}/edit", name="edit_report_page")
async def edit_report_page(
    request: Request, report: PageReportDep, principal: PageUserDep, session: SessionDep
) -> Response:
    service.check_correctable(report, principal)
    campaign = await report_campaign(session, report)
    kind = ReportKind(report.kind)
    values: dict[str, Any] = {"kind": kind.value, "languages": report.languages or []}
    if report.item_id is not None and report.language:
        values["variant"] = f"{report.item_id}:{report.language}"
    for name in service.fields_of(kind):
        if name in ("item_id", "language", "languages"):
            continue
        value = getattr(report, name)
        values[name] = "" if value is None else str(value)
    return await _form_page(request, session, campaign, kind, report=report, values=values)


@router.post("/portal/reports/{report_id}/edit", name="update_report_page")
async def update_report_page(
    request: Request,
    report: PageReportDep,
    principal: PageUserDep,
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    """Correct a report (within 14 days: a coordinator any of the organisation's, a member
    its own); the photo may be replaced or removed."""
    service.check_correctable(report, principal)  # before the body is read
    campaign = await report_campaign(session, report)
    kind = ReportKind(report.kind)
    received = await report_form.receive_form(request, session, storage)
    form = report_form.form_values(kind, received)
    try:
        csrf.verify(request, received.first(csrf.CSRF_FIELD))
        if received.error is not None:
            raise received.error
        values, unreadable = report_form.report_values(kind, form)
        await report_form.checked_values(
            session, campaign, kind, values, unreadable, received.upload
        )
        await service.update_report(
            session,
            report,
            principal=principal,
            campaign=campaign,
            changes=values,
            evidence=received.upload,
            storage=storage,
            remove_evidence=received.first("remove_evidence") == "yes",
        )
    except HubError as exc:
        await rollback(session)
        return await _form_page(
            request,
            session,
            campaign,
            kind,
            report=report,
            values=form,
            errors=_refused(exc, received),
            status_code=exc.status,
        )
    finally:
        if received.upload is not None:
            await discard_upload(storage, received.upload)
    return see_other(_portal_list_url(request, campaign.id or 0, "report-corrected"))


@router.get("/portal/reports/{report_id}/evidence", name="report_evidence_page")
async def report_evidence_page(
    request: Request,
    report: PageReportDep,
    session: SessionDep,
    storage: StorageDep,
    state: StateDep,
) -> Response:
    """The report's photo (officers and the report's organisation)."""
    return await evidence_response(request, session, report, storage=storage, state=state)


# --- officers: every organisation's reports -----------------------------------------------------


@router.get("/campaigns/{campaign_id}/reports", name="campaign_reports_page")
async def campaign_reports_page(
    request: Request,
    campaign: StaffCampaignDep,
    principal: StaffPageDep,
    session: SessionDep,
    kind: Annotated[str, Query(max_length=20)] = "",
    organisation: Annotated[str, Query(max_length=12)] = "",
    flagged: Annotated[str, Query(max_length=5)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """What partners reported on the campaign: filter by kind, organisation and flag; totals
    per kind (never summed across kinds)."""
    chosen_kind = ReportKind(kind) if kind in {k.value for k in ReportKind} else None
    organisation_id = parse_id(organisation)
    flag_filter = flagged if flagged in FLAG_FILTERS else ""
    views, total = await service.list_reports(
        session,
        principal=principal,
        campaign=campaign,
        kind=chosen_kind,
        organisation_id=organisation_id,
        flagged={"yes": True, "no": False}.get(flag_filter),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    filters = {
        "kind": chosen_kind.value if chosen_kind else "",
        "organisation": str(organisation_id) if organisation_id else "",
        "flagged": flag_filter,
    }
    return render(
        request,
        "forwards/list.html",
        {
            "campaign": campaign,
            "views": views,
            "total": total,
            "totals": await service.kind_totals(
                session, campaign=campaign, organisation_id=organisation_id
            ),
            "organisations": await service.report_organisations(session, campaign),
            "kinds": [k.value for k in ReportKind],
            "filters": filters,
            "filtered": any(filters.values()),
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            **FORMATTERS,
        },
    )


async def _report_page(
    request: Request,
    session: AsyncSession,
    report: ForwardReport,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    campaign = await report_campaign(session, report)
    [view] = await service.views_of(session, [report])
    names = await campaigns.user_names(
        session,
        [i for i in (report.created_by_id, report.updated_by_id, report.flagged_by_id) if i],
    )
    return render(
        request,
        "forwards/detail.html",
        {
            "campaign": campaign,
            "view": view,
            "report": report,
            "names": names,
            "errors": errors or {},
            "form": values or {},
            **FORMATTERS,
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}/reports/{report_id}", name="report_page")
async def report_page(request: Request, report: StaffReportDep, session: SessionDep) -> Response:
    return await _report_page(request, session, report)


@router.post(
    "/campaigns/{campaign_id}/reports/{report_id}/flag",
    name="flag_report_page",
    dependencies=Csrf,
)
async def flag_report_page(
    request: Request,
    report: StaffReportDep,
    principal: StaffPageDep,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        await service.flag_report(session, report, officer=principal, reason=reason)
    except HubError as exc:
        await rollback(session)
        return await _report_page(
            request,
            session,
            report,
            errors=field_errors(exc),
            values={"reason": reason},
            status_code=exc.status,
        )
    url = request.url_for("report_page", campaign_id=report.campaign_id, report_id=report.id)
    return see_other(f"{url}?done=report-flagged")


@router.post(
    "/campaigns/{campaign_id}/reports/{report_id}/unflag",
    name="unflag_report_page",
    dependencies=Csrf,
)
async def unflag_report_page(
    request: Request, report: StaffReportDep, principal: StaffPageDep, session: SessionDep
) -> Response:
    await service.unflag_report(session, report, officer=principal)
    url = request.url_for("report_page", campaign_id=report.campaign_id, report_id=report.id)
    return see_other(f"{url}?done=report-unflagged")
