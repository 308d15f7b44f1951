"""A partner's webhook: the address where its own system hears of new campaigns, and the
secret that signs each call (Standard Webhooks). Officers and the organisation's coordinator
manage it; the address is checked when it is saved (and again when a call is sent)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, Response, status
from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.csrf import require_csrf
from hub.auth.dependencies import ApiUserDep, PageUserDep
from hub.db import rollback
from hub.dependencies import SessionDep, SettingsDep
from hub.distribution import webhooks
from hub.errors import Conflict, FieldError, Forbidden, HubError, InvalidInput
from hub.forms import field_errors, see_other
from hub.i18n import _
from hub.models import Organisation, User, utcnow
from hub.partners import service
from hub.partners.dependencies import ApiOrganisationDep, PageOrganisationDep
from hub.schemas import ApiInput, problems
from hub.templating import render

api_router = APIRouter(prefix="/api/v1/organisations/{organisation_id}/webhook", tags=["partners"])
page_router = APIRouter(include_in_schema=False)
MAX_URL = 500


def _may_manage(principal: User, organisation: Organisation) -> None:
    if not service.can_manage_contacts(principal, organisation):
        raise Forbidden(_("Only the municipality and your organisation's coordinator can do this."))


async def set_webhook(
    session: AsyncSession,
    *,
    principal: User,
    organisation: Organisation,
    url: str | None,
    allow_private: bool,
) -> Organisation:
    """Set (or with an empty address, remove) the webhook; a first address gets a secret."""
    _may_manage(principal, organisation)
    url = (url or "").strip()
    if not url:
        organisation.webhook_url = None
        organisation.webhook_secret = None
    else:
        if len(url) > MAX_URL:
            message = _("At most %(num)d characters.") % {"num": MAX_URL}
            raise InvalidInput(message, errors=[FieldError("webhook_url", message)])
        organisation.webhook_url = await webhooks.check_target(url, allow_private=allow_private)
        organisation.webhook_secret = organisation.webhook_secret or webhooks.new_secret()
    organisation.updated_at = utcnow()
    session.add(organisation)
    await session.flush()
    return organisation


async def rotate_secret(
    session: AsyncSession, *, principal: User, organisation: Organisation
) -> Organisation:
    """A new signing secret; the old one stops working at once."""
    _may_manage(principal, organisation)
    if not organisation.webhook_url:  # the organisation's state, not the request, is at fault
        raise Conflict(_("Set the webhook address first."))
    organisation.webhook_secret = webhooks.new_secret()
    organisation.updated_at = utcnow()
    session.add(organisation)
    await session.flush()
    return organisation


# --- API -------------------------------------------------------------------------------------


class WebhookRead(BaseModel):
    url: str | None
    secret: str | None = Field(description="Verify each call's webhook-signature with it")


class WebhookWrite(ApiInput):
    url: str | None = Field(default=None, max_length=MAX_URL)


def _read(organisation: Organisation) -> WebhookRead:
    return WebhookRead(url=organisation.webhook_url, secret=organisation.webhook_secret)


@api_router.get("", response_model=WebhookRead, responses=problems(404))
async def read_webhook(organisation: ApiOrganisationDep, principal: ApiUserDep) -> WebhookRead:
    _may_manage(principal, organisation)
    return _read(organisation)


@api_router.put("", response_model=WebhookRead, responses=problems(404))
async def put_webhook(
    body: WebhookWrite,
    organisation: ApiOrganisationDep,
    principal: ApiUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookRead:
    """Set the address (an empty one removes the webhook); a first address gets a secret."""
    await set_webhook(
        session,
        principal=principal,
        organisation=organisation,
        url=body.url,
        allow_private=settings.webhook_allow_private,
    )
    return _read(organisation)


@api_router.post("/rotate-secret", response_model=WebhookRead, responses=problems(404, 409))
async def rotate_webhook_secret(
    organisation: ApiOrganisationDep, principal: ApiUserDep, session: SessionDep
) -> WebhookRead:
    await rotate_secret(session, principal=principal, organisation=organisation)
    return _read(organisation)


@api_router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404))
async def delete_webhook(
    organisation: ApiOrganisationDep,
    principal: ApiUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    await set_webhook(
        session,
        principal=principal,
        organisation=organisation,
        url=None,
        allow_private=settings.webhook_allow_private,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the form on the organisation's page -----------------------------------------------------


def _organisation_page_url(request: Request, principal: User, organisation: Organisation) -> str:
    if principal.organisation_id == organisation.id:
        return str(request.url_for("own_organisation_page"))
    return str(request.url_for("partner_page", organisation_id=organisation.id))


@page_router.get("/organisations/{organisation_id}/webhook/{action}", name="confirm_webhook_page")
async def confirm_webhook_page(
    request: Request,
    organisation: PageOrganisationDep,
    principal: PageUserDep,
    action: Literal["remove", "rotate"],
) -> Response:
    """Ask first: removing the webhook or its secret breaks the partner's own system at once."""
    _may_manage(principal, organisation)
    back = f"{_organisation_page_url(request, principal, organisation)}#webhook"
    if not organisation.webhook_url:
        return see_other(back)
    return render(
        request,
        "partners/confirm_webhook.html",
        {"organisation": organisation, "action": action, "cancel_url": back},
    )


@page_router.post(
    "/organisations/{organisation_id}/webhook",
    name="webhook_page",
    dependencies=[Depends(require_csrf)],
)
async def webhook_page(
    request: Request,
    organisation: PageOrganisationDep,
    principal: PageUserDep,
    session: SessionDep,
    settings: SettingsDep,
    action: Annotated[Literal["save", "rotate", "remove"], Form()] = "save",
    webhook_url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    from hub.partners.pages import organisation_page

    try:
        if action == "rotate":
            await rotate_secret(session, principal=principal, organisation=organisation)
        else:
            await set_webhook(
                session,
                principal=principal,
                organisation=organisation,
                url=None if action == "remove" else webhook_url,
                allow_private=settings.webhook_allow_private,
            )
    except HubError as exc:
        if isinstance(exc, Forbidden):
            raise
        await rollback(session)
        own = principal.organisation_id == organisation.id
        return await organisation_page(
            request,
            session,
            principal,
            organisation,
            template="portal/organisation.html" if own else "partners/detail.html",
            invite_action=str(
                request.url_for("invite_member_page")
                if own
                else request.url_for("invite_contact_page", organisation_id=organisation.id)
            ),
            webhook_form={"webhook_url": webhook_url},
            webhook_errors=field_errors(exc),
            status_code=exc.status,
        )
    done = {"save": "webhook-saved", "rotate": "webhook-rotated", "remove": "webhook-removed"}
    target = _organisation_page_url(request, principal, organisation)
    return see_other(f"{target}?done={done[action]}#webhook")
