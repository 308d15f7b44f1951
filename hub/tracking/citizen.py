"""The citizen's pages: the landing page of a tracked link, its files, and "share further".

Nothing here sets a cookie or keeps anything about the visitor: pages are rendered straight
from the shared template environment (not through :func:`hub.templating.render`, which adds
the CSRF cookie of signed-in pages), and the "share further" form carries a token derived from
the link instead of a cookie-bound one.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from hub.db import rollback
from hub.dependencies import SessionDep, StateDep
from hub.errors import NotFound
from hub.i18n import _
from hub.languages import direction, display_name
from hub.markdown import render_markdown
from hub.materials import serve
from hub.materials.downloads import StorageDep, download_name, file_of, rendition_material
from hub.models import TrackedLink
from hub.templating import templates
from hub.tracking import landing, service
from hub.tracking.phrases import chrome_language, phrase

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(min_length=7, max_length=16, pattern=r"^[0-9A-Za-z]+$")]
Language = Annotated[str, Path(min_length=2, max_length=8, pattern=r"^[a-z]{2,3}(-[A-Za-z]+)?$")]
Rendition = Literal["original", "whatsapp", "poster", "captions"]
# Pages are the same for everyone: a shared cache may keep them a few minutes.
PAGE_CACHE = "public, max-age=300"


def share_token(secret: str, code: str) -> str:
    """The "share further" form's token: proves the form came from the link's own page."""
    mac = hmac.new(secret.encode(), f"tracking.share:{code}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    language = context["language"]
    chrome = chrome_language(language)
    context = {
        "dir": direction(language),
        "chrome": chrome,
        "chrome_dir": direction(chrome),
        # The labels' own language, where it is not the page's (a language without phrases).
        "chrome_attrs": (
            Markup(' lang="{}" dir="{}"').format(chrome, direction(chrome))
            if chrome != language
            else ""
        ),
        "p": lambda key, **values: phrase(language, key, **values),
        "endonym": lambda code: display_name(code, code),
        **context,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = PAGE_CACHE if status == 200 else "no-store"
    # The page's address names the link: other sites (a map) need not learn it.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _link(session: SessionDep, code: str) -> TrackedLink:
    link = await service.link_by_code(session, code)
    if link is None:
        raise NotFound(_("This link does not exist."))
    return link


async def _landing(
    request: Request, session: SessionDep, state: StateDep, code: str, language: str | None
) -> Response:
    link = await _link(session, code)
    page = await landing.find_landing(session, link, language)
    if page is None:
        raise NotFound(_("This page does not exist."))
    base = state.settings.base_url
    main = page.main
    return _page(
        request,
        "tracking/landing.html",
        {
            "page": page,
            "language": page.language,
            "share_token": share_token(state.settings.secret_key, link.code),
            "info_url": state.settings.citizen_info_url,
            "when": lambda item: landing.event_when(item.starts_at, item.ends_at, page.language),
            "markdown": render_markdown,
            "canonical": f"{base}/c/{link.code}/{page.language}",
            "og_image": (
                f"{base}/c/{link.code}/files/{main.variant.id}/poster"
                if main and main.has_poster_frame and not page.ended
                else ""
            ),
        },
    )


@router.get("/c/{code}", name="landing_page")
async def landing_page(
    request: Request, code: Code, session: SessionDep, state: StateDep
) -> Response:
    """A tracked link's page, in the link's own language."""
    return await _landing(request, session, state, code, None)


@router.post("/c/{code}/share", name="share_further")
async def share_further(
    code: Code,
    session: SessionDep,
    state: StateDep,
    token: Annotated[str, Form(max_length=100)] = "",
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Issue the child link someone shares on, and show it with ways to send it."""
    link = await _link(session, code)
    expected = share_token(state.settings.secret_key, link.code)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        await rollback(session)
        raise NotFound(_("This page does not exist."))
    child = await service.child_link(session, link)
    target = f"/c/{child.code}/share"
    if language:
        target += f"?lang={quote(language)}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/c/{code}/share", name="share_page")
async def share_page(
    request: Request,
    code: Code,
    session: SessionDep,
    state: StateDep,
    lang: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """A link to pass on, with buttons for WhatsApp, text message and e-mail."""
    link = await _link(session, code)
    page = await landing.find_landing(session, link, lang or None)
    if page is None:
        page = await landing.find_landing(session, link, None)
    if page is None:
        raise NotFound(_("This page does not exist."))
    url = service.short_url(state.settings.base_url, link)
    text = f"{page.title}\n{url}"
    return _page(
        request,
        "tracking/share.html",
        {
            "page": page,
            "language": page.language,
            "url": url,
            "whatsapp": "https://wa.me/?text=" + quote(text, safe=""),
            "sms": "sms:?&body=" + quote(text, safe=""),
            "email": f"mailto:?subject={quote(page.title, safe='')}&body={quote(url, safe='')}",
        },
    )


@router.api_route("/c/{code}/files/{variant_id}/{rendition}", methods=["GET", "HEAD"])
async def landing_file(
    request: Request,
    code: Code,
    variant_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    rendition: Rendition,
    session: SessionDep,
    state: StateDep,
    storage: StorageDep,
    download: Annotated[bool, Query()] = False,
) -> Response:
    """A file of the page: the film (with Range), its poster frame, the poster image."""
    link = await _link(session, code)
    found = await landing.variant_for_file(session, link, variant_id)
    material = await rendition_material(session, found[0], rendition) if found else None
    if found is None or material is None:
        raise NotFound(_("This file does not exist."))
    variant, item = found
    key, content_type, etag = file_of(material, rendition)
    return await serve.file_response(
        request,
        storage,
        key,
        content_type=content_type,
        etag=etag,
        download_name=download_name(item, variant, material, rendition),
        accel_prefix=state.settings.media_accel_redirect,
        inline=not download,
    )


@router.get("/c/{code}/{language}", name="landing_language_page")
async def landing_language_page(
    request: Request, code: Code, language: Language, session: SessionDep, state: StateDep
) -> Response:
    """A tracked link's page in another of the item's languages."""
    return await _landing(request, session, state, code, language)
