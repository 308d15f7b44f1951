"""The one Jinja environment: pages and emails are rendered from here and nowhere else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_datetime, get_timezone
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from hub import i18n
from hub.auth.security import MIN_PASSWORD_LENGTH
from hub.languages import direction, display_name
from hub.markdown import render_markdown

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
CITIZEN_PATHS = ("/s/", "/c/")


def _format_time(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(
        value, fmt, tzinfo=get_timezone("Europe/Copenhagen"), locale=i18n.current_language()
    )


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # Autoescape HTML; plain-text email bodies and subjects are not HTML.
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.globals["current_language"] = i18n.current_language
    env.globals["language_names"] = i18n.LANGUAGE_NAMES
    env.globals["min_password_length"] = MIN_PASSWORD_LENGTH
    env.globals["language_name"] = lambda code: display_name(code, i18n.current_language())
    env.filters["datetime"] = _format_time
    env.filters["markdown"] = render_markdown
    env.globals["text_direction"] = direction
    return env


templates = Jinja2Templates(env=_build_environment())


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with what every layout needs (user, CSRF token, language)."""
    from hub.auth import csrf  # local: csrf needs settings from the request

    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf.token_for(request),
        "flash": request.query_params.get("done"),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    # The citizen's path (a tracked link, its landing page) never gets a cookie, not even
    # on an error page; nor does an error answering what a page fetched by itself (an icon,
    # an image), which is how a citizen's browser would otherwise come by one.
    fetched = request.headers.get("sec-fetch-dest", "document") not in ("document", "iframe")
    if not request.url.path.startswith(CITIZEN_PATHS) and not (status_code >= 400 and fetched):
        csrf.ensure_cookie(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response
