"""Small helpers for HTML forms: errors beside their fields, safe redirects."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from hub.errors import HubError
from hub.i18n import _
from hub.schemas import MAX_DB_ID


def field_errors(exc: HubError) -> dict[str, str]:
    errors = {e.field: e.message for e in exc.errors}
    if not errors:
        errors["__all__"] = exc.detail
    return errors


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def parse_id(text: str) -> int | None:
    """A row id typed or sent in a form, or None when it cannot be one."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{1,10}", text) and 0 < int(text) <= MAX_DB_ID:
        return int(text)
    return None


def parse_count(text: str, *, maximum: int) -> int | None:
    """A whole number of people etc. (ASCII digits, thousands dots or spaces allowed), or None."""
    digits = text.strip().replace(".", "").replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"[0-9]{1,12}", digits) and int(digits) <= maximum:
        return int(digits)
    return None


# --- upload forms enhanced by static/js/upload.js ----------------------------------------------


def wants_json(request: Request) -> bool:
    """An upload sent by upload.js (to show progress) wants JSON answers instead of pages."""
    return request.headers.get("x-requested-with", "").lower() == "xmlhttprequest"


def upload_done(request: Request, url: str) -> Response:
    """Success: upload.js goes to ``url``; a plain form is redirected there."""
    if wants_json(request):
        return JSONResponse({"redirect": url}, headers={"Cache-Control": "no-store"})
    return see_other(url)


def upload_problem(exc: HubError, errors: dict[str, str]) -> JSONResponse:
    """A refused upload for upload.js: the problem, with the message of each field."""
    return JSONResponse(
        {
            "title": _(exc.title),
            "status": exc.status,
            "detail": exc.detail,
            "errors": [{"field": k, "message": v} for k, v in errors.items()],
        },
        status_code=exc.status,
        headers={"Cache-Control": "no-store"},
    )
