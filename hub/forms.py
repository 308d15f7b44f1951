"""Small helpers for HTML forms: errors beside their fields, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse

from hub.errors import HubError


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
