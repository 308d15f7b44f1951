"""Films partners record from a script: submitted for review, then approved as a variant
credited to the organisation, or rejected with a reason the partner reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import jobs
from hub.campaigns import service
from hub.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from hub.i18n import _
from hub.materials import service as materials
from hub.materials.storage import Storage
from hub.materials.upload import ReceivedUpload
from hub.models import (
    Campaign,
    CampaignItem,
    FilmSubmission,
    ItemKind,
    Material,
    MaterialKind,
    Organisation,
    Role,
    SubmissionStatus,
    User,
    utcnow,
)
from hub.text import clean, search_text

REVIEWED_JOB = "campaigns.notify_submission_reviewed"


@dataclass(frozen=True)
class SubmissionView:
    """A submission with what a reviewer or the partner needs to see beside it."""

    submission: FilmSubmission
    item: CampaignItem
    campaign: Campaign
    organisation: Organisation
    material: Material


def check_submittable(principal: User, campaign: Campaign, item: CampaignItem) -> None:
    """Partners may send a film for a script of a campaign addressed to them, while it runs."""
    if principal.role is not Role.partner or principal.organisation_id is None:
        raise Forbidden(_("Only partner organisations send their own films."))
    if item.kind != ItemKind.script:
        raise Conflict(_("Films can only be sent for a script."))
    if campaign.status not in service.PARTNER_VISIBLE:
        raise NotFound(_("No such item."))


async def _record_submission(
    session: AsyncSession,
    *,
    principal: User,
    item: CampaignItem,
    language: str,
    material: Material,
) -> FilmSubmission:
    """The stored film as a submission waiting for review (checked by submit_upload)."""
    duplicate = (
        await session.exec(
            select(FilmSubmission).where(
                FilmSubmission.item_id == item.id,
                FilmSubmission.material_id == material.id,
                FilmSubmission.status != SubmissionStatus.rejected,
            )
        )
    ).first()
    if duplicate is not None:
        message = _("This film was sent before.")
        raise InvalidInput(message, errors=[FieldError("file", message)])
    submission = FilmSubmission(
        item_id=item.id,  # type: ignore[arg-type]
        organisation_id=principal.organisation_id,  # type: ignore[arg-type]
        language=language,
        material_id=material.id,  # type: ignore[arg-type]
        submitted_by_id=principal.id,
    )
    session.add(submission)
    await session.flush()
    return submission


async def _views(session: AsyncSession, query: Any) -> list[SubmissionView]:
    rows = await session.exec(query)
    return [
        SubmissionView(submission=s, item=i, campaign=c, organisation=o, material=m)
        for s, i, c, o, m in rows.all()
    ]


def _joined() -> Any:
    # Five entities: more than sqlmodel's select() is typed for, so SQLAlchemy's own.
    return (
        sa.select(FilmSubmission, CampaignItem, Campaign, Organisation, Material)
        .join(CampaignItem, col(CampaignItem.id) == FilmSubmission.item_id)
        .join(Campaign, col(Campaign.id) == CampaignItem.campaign_id)
        .join(Organisation, col(Organisation.id) == FilmSubmission.organisation_id)
        .join(Material, col(Material.id) == FilmSubmission.material_id)
    )


async def list_submissions(
    session: AsyncSession,
    *,
    status: SubmissionStatus | None = SubmissionStatus.pending,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SubmissionView], int]:
    """The review queue (oldest first while pending, newest first otherwise); ``search``
    finds the partner's name, the script's title or the campaign's title."""
    query = _joined()
    if status is not None:
        query = query.where(FilmSubmission.status == status)
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        query = query.where(
            sa.or_(
                func.lower(col(Organisation.name)).like(pattern),
                func.lower(col(CampaignItem.title)).like(pattern),
                func.lower(col(Campaign.title)).like(pattern),
            )
        )
    count = select(func.count()).select_from(query.subquery())
    order = (
        col(FilmSubmission.id).asc()
        if status is SubmissionStatus.pending
        else col(FilmSubmission.id).desc()
    )
    views = await _views(session, query.order_by(order).limit(limit).offset(offset))
    return views, int((await session.exec(count)).one())


async def count_pending(session: AsyncSession) -> int:
    query = select(func.count()).where(FilmSubmission.status == SubmissionStatus.pending)
    return int((await session.exec(query)).one())


async def get_submission(
    session: AsyncSession, *, principal: User, submission_id: int
) -> SubmissionView:
    """A submission for staff, or for the organisation that sent it; else NotFound."""
    query = _joined().where(FilmSubmission.id == submission_id)
    if not service.is_staff(principal):
        query = query.where(FilmSubmission.organisation_id == principal.organisation_id)
    views = await _views(session, query)
    if not views:
        raise NotFound(_("No such film."))
    return views[0]


async def for_organisation(
    session: AsyncSession,
    *,
    organisation_id: int,
    item_id: int | None = None,
    status: SubmissionStatus | None = None,
) -> list[SubmissionView]:
    """What an organisation sent (for one item or all, in one status or all), newest first."""
    query = _joined().where(FilmSubmission.organisation_id == organisation_id)
    if item_id is not None:
        query = query.where(FilmSubmission.item_id == item_id)
    if status is not None:
        query = query.where(FilmSubmission.status == status)
    return await _views(session, query.order_by(col(FilmSubmission.id).desc()))


async def film_items(session: AsyncSession, campaign: Campaign) -> list[CampaignItem]:
    """The campaign's film items: where an approved film may go."""
    return [i for i in await service.list_items(session, campaign) if i.kind == ItemKind.film]


def _pending(view: SubmissionView) -> None:
    if view.submission.status != SubmissionStatus.pending:
        raise Conflict(_("This film has already been reviewed."))


async def approve(
    session: AsyncSession,
    view: SubmissionView,
    *,
    reviewer: User,
    target_item_id: int | None = None,
) -> CampaignItem:
    """Approve: the film becomes the variant in its language of a film item of the campaign,
    credited to the organisation — an existing film item without a variant in that language,
    or a new film item named after the script. Returns the film item."""
    _pending(view)
    submission, campaign = view.submission, view.campaign
    if view.material.processing_status.value == "failed":
        raise Conflict(_("This film could not be processed, so it cannot be approved."))
    if target_item_id is None:
        target = await service.create_item(
            session,
            campaign,
            kind=ItemKind.film,
            title=_("%(title)s (film by %(organisation)s)")
            % {"title": view.item.title, "organisation": view.organisation.name},
            base_language=submission.language,
        )
    else:
        found = await session.get(CampaignItem, target_item_id)
        if found is None or found.campaign_id != campaign.id or found.kind != ItemKind.film:
            message = _("Choose a film item of this campaign.")
            raise InvalidInput(message, errors=[FieldError("item_id", message)])
        taken = [v for v in await service.list_variants(session, [found])]
        if any(v.language == submission.language for v in taken):
            message = _("That film item already has a film in this language.")
            raise InvalidInput(message, errors=[FieldError("item_id", message)])
        target = found
    variant = await service.set_variant(
        session,
        campaign,
        target,
        language=submission.language,
        material_id=submission.material_id,
        replaced_by=reviewer,
    )
    variant.credited_organisation_id = submission.organisation_id
    session.add(variant)
    _decide(session, submission, SubmissionStatus.approved, reviewer, reason=None)
    await session.flush()
    return target


async def reject(
    session: AsyncSession, view: SubmissionView, *, reviewer: User, reason: str
) -> FilmSubmission:
    """Reject with a reason the partner reads."""
    _pending(view)
    reason = clean(reason, field="reason", max_length=2000, multiline=True, required=True)
    _decide(session, view.submission, SubmissionStatus.rejected, reviewer, reason=reason)
    await session.flush()
    return view.submission


def _decide(
    session: AsyncSession,
    submission: FilmSubmission,
    status: SubmissionStatus,
    reviewer: User,
    *,
    reason: str | None,
) -> None:
    submission.status = status
    submission.reason = reason
    submission.reviewed_by_id = reviewer.id
    submission.reviewed_at = utcnow()
    session.add(submission)
    # The partner who sent it hears the decision (with the reason).
    jobs.defer(session, REVIEWED_JOB, submission.id)  # type: ignore[arg-type]


async def reviewed_notice(
    session: AsyncSession, submission_id: int
) -> tuple[SubmissionView, User] | None:
    """The reviewed submission and the person who sent it, if they can still be reached."""
    views = await _views(session, _joined().where(FilmSubmission.id == submission_id))
    if not views or views[0].submission.status is SubmissionStatus.pending:
        return None
    view = views[0]
    sender = (
        await session.get(User, view.submission.submitted_by_id)
        if view.submission.submitted_by_id
        else None
    )
    if (
        sender is None
        or not sender.is_active
        or sender.erased_at is not None
        or sender.organisation_id != view.submission.organisation_id
    ):
        return None
    return view, sender


async def submit_upload(
    session: AsyncSession,
    upload: ReceivedUpload,
    *,
    storage: Storage,
    principal: User,
    campaign: Campaign,
    item: CampaignItem,
) -> FilmSubmission:
    """Store a received film upload and submit it. Everything that can be checked is checked
    before the file is stored, so a refused submission leaves no file behind."""
    check_submittable(principal, campaign, item)
    language = service.checked_language(upload.fields.get("language", ""), "language")
    if upload.kind != MaterialKind.film:
        message = _("Send a film (mp4, webm or mov).")
        raise InvalidInput(message, errors=[FieldError("file", message)])
    material, _created = await materials.store_material(
        session, upload, storage=storage, uploaded_by=principal
    )
    return await _record_submission(
        session, principal=principal, item=item, language=language, material=material
    )
