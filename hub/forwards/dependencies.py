"""Loaders: a report the principal may see, or 404; and the answer that serves its photo."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from hub.auth.dependencies import ApiUserDep, PageUserDep, StaffPageDep
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.forwards import service
from hub.i18n import _
from hub.materials import serve
from hub.materials.storage import Storage
from hub.models import Campaign, ForwardReport
from hub.schemas import IdPath
from hub.state import HubState


async def api_report_or_404(
    report_id: IdPath, principal: ApiUserDep, session: SessionDep
) -> ForwardReport:
    return await service.get_report(session, principal=principal, report_id=report_id)


async def page_report_or_404(
    report_id: IdPath, principal: PageUserDep, session: SessionDep
) -> ForwardReport:
    """A report of the signed-in partner's organisation (or any, for officers)."""
    return await service.get_report(session, principal=principal, report_id=report_id)


async def staff_report_or_404(
    campaign_id: IdPath, report_id: IdPath, principal: StaffPageDep, session: SessionDep
) -> ForwardReport:
    """A report of /campaigns/{campaign_id}/reports/{report_id} (officers)."""
    report = await service.get_report(session, principal=principal, report_id=report_id)
    if report.campaign_id != campaign_id:
        raise NotFound(_("No such report."))
    return report


ApiReportDep = Annotated[ForwardReport, Depends(api_report_or_404)]
PageReportDep = Annotated[ForwardReport, Depends(page_report_or_404)]
StaffReportDep = Annotated[ForwardReport, Depends(staff_report_or_404)]


async def report_campaign(session: AsyncSession, report: ForwardReport) -> Campaign:
    """The campaign of a report already shown to be visible."""
    campaign = await session.get(Campaign, report.campaign_id)
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


async def evidence_response(
    request: Request,
    session: AsyncSession,
    report: ForwardReport,
    *,
    storage: Storage,
    state: HubState,
) -> Response:
    """The report's photo, inline (only images are ever stored as evidence)."""
    material = await service.evidence_of(session, report)
    return await serve.file_response(
        request,
        storage,
        material.storage_key,
        content_type=material.content_type,
        etag=material.sha256,
        download_name=f"report-{report.id}.{material.extension}",
        accel_prefix=state.settings.media_accel_redirect,
        inline=True,
    )
