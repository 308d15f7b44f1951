"""Officer pages for imports: upload a CSV file, read the dry run, then commit it."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import Response

from hub.auth.csrf import require_csrf
from hub.auth.dependencies import StaffPageDep
from hub.db import rollback
from hub.dependencies import RedisDep, SessionDep, SettingsDep
from hub.errors import NotFound
from hub.i18n import _
from hub.imports import csvfile, service
from hub.imports.schemas import ImportPlan, error_text, summary_lines
from hub.models import User
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = [Depends(require_csrf)]
Format = Literal["partners", "areas"]
# The uploaded file waits in Redis between the dry run and the commit, for its uploader only.
PENDING_SECONDS = 3600
SHOWN_CHANGES = 200


def _pending_key(settings: SettingsDep, user: User, token: str) -> str:
    return f"{settings.redis_prefix}import:{user.id}:{token}"


def _plan_page(
    request: Request, fmt: Format, plan: ImportPlan, *, token: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "imports/preview.html",
        {
            "fmt": fmt,
            "plan": plan,
            "token": token,
            "summary": summary_lines(plan),
            "errors_text": [(e, error_text(e)) for e in plan.errors],
            "changes": [c for c in plan.changes if c.action != "skip"][:SHOWN_CHANGES],
            "more_changes": max(
                0, sum(1 for c in plan.changes if c.action != "skip") - SHOWN_CHANGES
            ),
        },
        status_code=status_code,
    )


@router.get("/imports", name="imports_page")
async def imports_page(request: Request, _staff: StaffPageDep) -> Response:
    return _index(request, errors={})


def _index(request: Request, *, errors: dict[str, str], status_code: int = 200) -> Response:
    context = {
        "max_mb": csvfile.MAX_BYTES // (1024 * 1024),
        "errors": errors,
        "partner_columns": service.PARTNER_COLUMNS,
        "area_columns": service.AREA_COLUMNS,
    }
    return render(request, "imports/index.html", context, status_code=status_code)


@router.post("/imports/{fmt}", name="upload_import_page", dependencies=Csrf)
async def upload_import_page(
    request: Request,
    fmt: Format,
    staff: StaffPageDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    content = await file.read(csvfile.MAX_BYTES + 1) if file is not None else b""
    if not content:
        return _index(
            request, errors={f"file_{fmt}": _("Choose a CSV file to import.")}, status_code=400
        )
    plan = await (service.plan_partners if fmt == "partners" else service.plan_areas)(
        session, content
    )
    token = ""
    if plan.ok:
        token = secrets.token_urlsafe(24)
        await redis.set(_pending_key(settings, staff, token), content, ex=PENDING_SECONDS)
    return _plan_page(request, fmt, plan, token=token, status_code=200 if plan.ok else 400)


@router.post("/imports/{fmt}/commit", name="commit_import_page", dependencies=Csrf)
async def commit_import_page(
    request: Request,
    fmt: Format,
    staff: StaffPageDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    key = _pending_key(settings, staff, token)
    content = await redis.get(key) if token else None
    if content is None:
        raise NotFound(_("This import has expired. Upload the file again."))
    apply = service.apply_partners if fmt == "partners" else service.apply_areas
    try:
        plan = await apply(session, content, principal=staff)
    except service.ImportRejected as exc:
        # The registry changed since the dry run; show what is wrong now.
        await rollback(session)
        return _plan_page(request, fmt, exc.plan, status_code=400)
    await redis.delete(key)
    return _plan_page(request, fmt, plan)
