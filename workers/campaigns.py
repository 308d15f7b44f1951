"""Jobs of the campaigns domain."""

from __future__ import annotations

import logging
from typing import Any

from hub.campaigns import service, submissions
from hub.db import unit_of_work
from hub.languages import display_name
from hub.mail import PermanentMailError
from hub.models import SubmissionStatus
from hub.state import HubState

log = logging.getLogger("hub.campaigns")


async def publish_due(ctx: dict[str, Any]) -> list[int]:
    """Publish the scheduled campaigns whose time has come (every minute)."""
    state: HubState = ctx["hub"]
    async with unit_of_work(state.db, state.queue) as session:
        published = await service.publish_due(session)
    if published:
        log.info("campaigns.published_due", extra={"campaign_ids": published})
    return published


async def notify_correction(ctx: dict[str, Any], variant_id: int, old_version: int) -> str:
    """E-mail every organisation that downloaded an earlier file of a variant."""
    state: HubState = ctx["hub"]
    async with unit_of_work(state.db, None, write=False) as session:
        notices = await service.correction_notices(
            session, variant_id=variant_id, old_version=old_version
        )
        messages = [
            state.mailer.render(
                "correction",
                to=n.contact.email,
                language=n.contact.language,
                context={
                    "name": n.contact.name or n.contact.email,
                    "item_title": n.item.title,
                    "campaign_title": n.campaign.title,
                    "language": n.variant.language,
                    "link": f"{state.settings.base_url}/api/v1/variants/{n.variant.id}/download",
                },
                # One notice per contact and correction, even if the job runs twice.
                message_id=f"<correction-{variant_id}-{old_version}-{n.contact.id}@partner-hub>",
            )
            for n in notices
        ]
    sent = 0
    for message in messages:
        try:
            await state.mailer.send(message)
            sent += 1
        except PermanentMailError as exc:
            log.warning("campaigns.correction_refused", extra={"error": str(exc)})
    return f"sent {sent} of {len(messages)}"


async def notify_submission_reviewed(ctx: dict[str, Any], submission_id: int) -> str:
    """Tell the partner who sent a film whether it was approved, or why not."""
    state: HubState = ctx["hub"]
    async with unit_of_work(state.db, None, write=False) as session:
        found = await submissions.reviewed_notice(session, submission_id)
        if found is None:
            return "skipped: nobody to tell"
        view, contact = found
        language = contact.language
        message = state.mailer.render(
            "submission_reviewed",
            to=contact.email,
            language=language,
            context={
                "name": contact.name or contact.email,
                "approved": view.submission.status is SubmissionStatus.approved,
                "reason": view.submission.reason or "",
                "item_title": view.item.title,
                "campaign_title": view.campaign.title,
                "organisation": view.organisation.name,
                "language_label": display_name(view.submission.language, language),
                "link": f"{state.settings.base_url}/portal/campaigns/{view.campaign.id}"
                f"/items/{view.item.id}",
            },
            message_id=f"<submission-{submission_id}-{view.submission.status}@partner-hub>",
        )
    try:
        await state.mailer.send(message)
    except PermanentMailError as exc:
        log.warning("campaigns.submission_notice_refused", extra={"error": str(exc)})
        return "refused"
    return "sent"
