"""Films partners recorded from scripts: their upload page and the officers' review queue."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from hub.auth import csrf
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import PageUserDep, StaffPageDep
from hub.campaigns import service, submissions
from hub.campaigns.dependencies import PageItemDep
from hub.campaigns.submissions import SubmissionView
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.errors import FieldError, HubError, InvalidInput
from hub.forms import (
    field_errors,
    parse_id,
    see_other,
    upload_done,
    upload_problem,
    wants_json,
)
from hub.i18n import _, current_language
from hub.languages import COMMON_LANGUAGES, display_name
from hub.materials.api import StorageDep, receive_request_upload
from hub.materials.upload import discard_upload
from hub.models import Campaign, CampaignItem, SubmissionStatus, User
from hub.partners import service as partners
from hub.schemas import IdPath
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
PAGE_SIZE = 25


# --- partners: send a film for a script -----------------------------------------------------


async def _language_choices(session: SessionDep, principal: User) -> list[tuple[str, str]]:
    """The organisation's languages first, then the other common ones."""
    own: list[str] = []
    if principal.organisation_id is not None:
        organisation = await partners.get_visible_organisation(
            session, principal=principal, organisation_id=principal.organisation_id
        )
        if organisation is not None:
            own = (await partners.load_view(session, organisation)).languages
    codes = own + [c for c in COMMON_LANGUAGES if c not in own]
    return [(c, display_name(c, current_language())) for c in codes]


async def _submission_form(
    request: Request,
    session: SessionDep,
    principal: User,
    campaign: Campaign,
    item: CampaignItem,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    languages = await _language_choices(session, principal)
    return render(
        request,
        "submissions/new.html",
        {
            "campaign": campaign,
            "item": item,
            "languages": languages,
            "form": values or {"language": languages[0][0] if languages else "da"},
            "errors": errors or {},
            "max_upload_mb": request.state.hub.settings.max_upload_mb,
        },
        status_code=status_code,
    )


@router.get(
    "/portal/campaigns/{campaign_id}/items/{item_id}/films/new", name="new_film_submission_page"
)
async def new_film_submission_page(
    request: Request, found: PageItemDep, principal: PageUserDep, session: SessionDep
) -> Response:
    campaign, item = found
    submissions.check_submittable(principal, campaign, item)
    return await _submission_form(request, session, principal, campaign, item)


@router.post("/portal/campaigns/{campaign_id}/items/{item_id}/films", name="submit_film_page")
async def submit_film_page(
    request: Request,
    found: PageItemDep,
    principal: PageUserDep,
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    """The upload form (multipart: csrf_token, language, file). The body is streamed only
    after the partner is known; the CSRF token travels inside it, before the film, and is
    checked before the film is read."""
    campaign, item = found
    submissions.check_submittable(principal, campaign, item)
    upload = await receive_request_upload(
        request, session, storage, before_file=csrf.upload_check(request)
    )
    try:
        await submissions.submit_upload(
            session, upload, storage=storage, principal=principal, campaign=campaign, item=item
        )
    except HubError as exc:
        await rollback(session)
        errors = field_errors(exc)
        if wants_json(request):
            return upload_problem(exc, errors)
        return await _submission_form(
            request,
            session,
            principal,
            campaign,
            item,
            values={"language": upload.fields.get("language", "")},
            errors=errors,
            status_code=exc.status,
        )
    finally:
        await discard_upload(storage, upload)
    target = str(request.url_for("script_page", campaign_id=campaign.id, item_id=item.id))
    return upload_done(request, f"{target}?done=film-submitted#own-films")


# --- officers: the review queue -------------------------------------------------------------

STATUS_FILTERS = ("pending", "approved", "rejected", "all")


@router.get("/reviews", name="review_queue_page")
async def review_queue_page(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    status: str = "pending",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    if status not in STATUS_FILTERS:
        status = "pending"
    wanted = None if status == "all" else SubmissionStatus(status)
    views, total = await submissions.list_submissions(
        session, status=wanted, search=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "submissions/queue.html",
        {
            "views": views,
            "total": total,
            "status": status,
            "statuses": STATUS_FILTERS,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "q": q,
            "query": urlencode({"status": status, **({"q": q} if q else {})}),
        },
    )


async def _review_page(
    request: Request,
    session: SessionDep,
    view: SubmissionView,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    film_items = await submissions.film_items(session, view.campaign)
    taken = {(v.item_id, v.language) for v in await service.list_variants(session, film_items)}
    targets = [i for i in film_items if (i.id, view.submission.language) not in taken]
    script = [
        v
        for v in await service.list_variants(session, [view.item])
        if v.language == view.submission.language
    ]
    return render(
        request,
        "submissions/review.html",
        {
            "view": view,
            "targets": targets,
            "script": script[0] if script else None,
            "errors": errors or {},
            "form": values or {},
        },
        status_code=status_code,
    )


async def _staff_submission(
    submission_id: int, principal: User, session: SessionDep
) -> SubmissionView:
    return await submissions.get_submission(
        session, principal=principal, submission_id=submission_id
    )


@router.get("/reviews/{submission_id}", name="review_page")
async def review_page(
    request: Request, submission_id: IdPath, principal: StaffPageDep, session: SessionDep
) -> Response:
    view = await _staff_submission(submission_id, principal, session)
    return await _review_page(request, session, view)


@router.post("/reviews/{submission_id}/approve", name="approve_submission_page", dependencies=Csrf)
async def approve_submission_page(
    request: Request,
    submission_id: IdPath,
    principal: StaffPageDep,
    session: SessionDep,
    target: Annotated[str, Form(max_length=20)] = "new",
) -> Response:
    view = await _staff_submission(submission_id, principal, session)
    target_id = None if target == "new" else parse_id(target)
    try:
        if target != "new" and target_id is None:
            message = _("Choose where the film goes.")
            raise InvalidInput(message, errors=[FieldError("target", message)])
        await submissions.approve(session, view, reviewer=principal, target_item_id=target_id)
    except HubError as exc:
        await rollback(session)
        errors = field_errors(exc)
        if "item_id" in errors:
            errors["target"] = errors.pop("item_id")
        return await _review_page(
            request, session, view, errors=errors, values={"target": target}, status_code=exc.status
        )
    return see_other(f"{request.url_for('review_queue_page')}?done=film-approved")


@router.post("/reviews/{submission_id}/reject", name="reject_submission_page", dependencies=Csrf)
async def reject_submission_page(
    request: Request,
    submission_id: IdPath,
    principal: StaffPageDep,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    view = await _staff_submission(submission_id, principal, session)
    try:
        await submissions.reject(session, view, reviewer=principal, reason=reason)
    except HubError as exc:
        await rollback(session)
        return await _review_page(
            request,
            session,
            view,
            errors=field_errors(exc),
            values={"reason": reason},
            status_code=exc.status,
        )
    return see_other(f"{request.url_for('review_queue_page')}?done=film-rejected")
