"""Admin pages: the user list, invitations, disabling and enabling accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from hub.auth import service as auth
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import AdminPageDep
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.errors import FieldError, HubError, InvalidInput
from hub.forms import field_errors, parse_id, see_other
from hub.i18n import _
from hub.models import Role
from hub.templating import render
from hub.users import service
from hub.users.dependencies import PageTargetUserDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
FormStr = Annotated[str, Form()]


async def _list_page(
    request: Request,
    session: SessionDep,
    admin: AdminPageDep,
    *,
    q: str,
    page: int,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    users, total = await service.list_users(
        session, principal=admin, search=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "users/list.html",
        {
            "users": users,
            "total": total,
            "q": q,
            "page": page,
            "pages": pages,
            "roles": list(Role),
            "organisations": await service.organisation_choices(session),
            "form": form,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/users", name="users_page")
async def users_page(
    request: Request,
    admin: AdminPageDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await _list_page(request, session, admin, q=q, page=page, form={}, errors={})


@router.post("/users", name="invite_user_page", dependencies=[Depends(require_csrf)])
async def invite_user_page(
    request: Request,
    admin: AdminPageDep,
    session: SessionDep,
    email: FormStr = "",
    name: FormStr = "",
    role: FormStr = "officer",
    organisation_id: FormStr = "",
    language: FormStr = "da",
) -> Response:
    form = {
        "email": email,
        "name": name,
        "role": role,
        "organisation_id": organisation_id,
        "language": language,
    }
    try:
        if role not in {r.value for r in Role}:
            raise InvalidInput(errors=[FieldError("role", _("Choose a role."))])
        await auth.invite_user(
            session,
            email=email,
            name=name,
            role=Role(role),
            organisation_id=parse_id(organisation_id),
            language=language if language in {"da", "en"} else "da",
        )
    except HubError as exc:
        await rollback(session)
        return await _list_page(
            request,
            session,
            admin,
            q="",
            page=1,
            form=form,
            errors=field_errors(exc),
            status_code=400,
        )
    return see_other("/users?done=user-invited")


@router.get("/users/{user_id}/disable", name="confirm_disable_user")
async def confirm_disable_user(request: Request, user: PageTargetUserDep) -> Response:
    return render(request, "users/confirm_disable.html", {"target": user, "errors": {}})


@router.post(
    "/users/{user_id}/disable", name="disable_user_page", dependencies=[Depends(require_csrf)]
)
async def disable_user_page(
    request: Request, user: PageTargetUserDep, admin: AdminPageDep, session: SessionDep
) -> Response:
    try:
        await service.update_user(session, actor=admin, user=user, is_active=False)
    except HubError as exc:
        await rollback(session)
        return render(
            request,
            "users/confirm_disable.html",
            {"target": user, "errors": field_errors(exc)},
            status_code=409,
        )
    return see_other("/users?done=user-disabled")


@router.post(
    "/users/{user_id}/enable", name="enable_user_page", dependencies=[Depends(require_csrf)]
)
async def enable_user_page(
    user: PageTargetUserDep, admin: AdminPageDep, session: SessionDep
) -> Response:
    await service.update_user(session, actor=admin, user=user, is_active=True)
    return see_other("/users?done=user-enabled")
