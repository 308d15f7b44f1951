"""The application factory: routers, middleware, error rendering and lifespan resources."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import redis.exceptions
import sqlalchemy.exc
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import __version__, i18n
from hub.areas import api as areas_api
from hub.areas import pages as areas_pages
from hub.audiences import api as audiences_api
from hub.audiences import pages as audiences_pages
from hub.audit import api as audit_api
from hub.audit import pages as audit_pages
from hub.auth import api as auth_api
from hub.auth import pages as auth_pages
from hub.auth.csrf import SESSION_COOKIE
from hub.campaigns import api as campaigns_api
from hub.campaigns import composer as campaigns_composer
from hub.campaigns import pages as campaigns_pages
from hub.campaigns import portal as campaigns_portal
from hub.campaigns import review as campaigns_review
from hub.campaigns import submissions_api
from hub.config import Settings, load_settings
from hub.distribution import api as distribution_api
from hub.distribution import pages as distribution_pages
from hub.errors import (
    AgreementRequired,
    HubError,
    InvalidInput,
    NotAuthenticated,
    ServiceUnavailable,
)
from hub.forwards import api as forwards_api
from hub.forwards import pages as forwards_pages
from hub.i18n import _, lazy
from hub.imports import api as imports_api
from hub.imports import pages as imports_pages
from hub.imports.csvfile import MAX_BYTES as MAX_IMPORT_BYTES
from hub.limits import BodyLimitMiddleware
from hub.materials import api as materials_api
from hub.materials import downloads as materials_downloads
from hub.partners import api as partners_api
from hub.partners import pages as partners_pages
from hub.partners import portal as partners_portal
from hub.partners import webhook as partners_webhook
from hub.reports import api as reports_api
from hub.reports import pages as reports_pages
from hub.routing import NamedRoutes
from hub.schemas import PROBLEM_JSON, openapi_schema
from hub.state import HubState
from hub.system import api as system_api
from hub.system import metrics
from hub.system import pages as system_pages
from hub.system.metrics import ObserveMiddleware
from hub.templating import STATIC_DIR, render
from hub.tracking import api as tracking_api
from hub.tracking import citizen as tracking_citizen
from hub.tracking import portal as tracking_portal
from hub.tracking.counter import ClickCounter
from hub.tracking.redirect import PREFIX as REDIRECT_PREFIX
from hub.tracking.redirect import Redirector
from hub.users import api as users_api
from hub.users import pages as users_pages

log = logging.getLogger("hub")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive API docs load Swagger UI's assets and run its inline start-up script.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://cdn.jsdelivr.net "
    "https://fastapi.tiangolo.com; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Answers for everyone alike, which browsers may keep (they set their own Cache-Control).
PUBLIC_PATHS = ("/static/",)
_SESSION_COOKIE = f"{SESSION_COOKIE}=".encode()


def security_headers(csp: str = CSP, *, hsts: bool) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (the handler's own of the same name win)."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", csp.encode()),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityHeadersMiddleware:
    """The security headers of every answer; and no-store on every answer of the API and
    every answer to a signed-in browser, unless the handler chose its own Cache-Control."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = security_headers(CSP, hsts=hsts)
        self.docs_headers = security_headers(DOCS_CSP, hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        common = self.docs_headers if path.startswith(DOCS_PATHS) else self.headers
        private = path.startswith("/api/") or any(
            name == b"cookie" and _SESSION_COOKIE in value for name, value in scope["headers"]
        )
        no_store = private and not path.startswith(PUBLIC_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                extra = [*common, (b"cache-control", b"no-store")] if no_store else common
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestStateMiddleware:
    """Give every request its own copy of the lifespan state.

    Handlers keep per-request values on ``request.state`` (the signed-in user, a new CSRF
    cookie). Not every ASGI server copies the lifespan state per request; without a copy those
    values would leak from one request into the next.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["state"] = dict(scope.get("state") or {})
        await self.app(scope, receive, send)


# Titles of the HTTP errors Starlette raises itself (unknown route, wrong method...), marked
# for translation; others fall back to the standard phrase.
HTTP_TITLES = {
    400: lazy("Bad request"),
    401: lazy("Sign-in required"),
    403: lazy("Forbidden"),
    404: lazy("Not found"),
    405: lazy("Method not allowed"),
    413: lazy("Payload too large"),
    429: lazy("Too many requests"),
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in {"/healthz", "/readyz"}


def problem(
    request: Request,
    status: int,
    *,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def error_page(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    response = render(
        request,
        "system/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )
    response.headers.update(headers or {})
    return response


async def handle_hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    if _wants_json(request):
        return problem(
            request,
            exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            errors=[{"field": e.field, "message": e.message} for e in exc.errors],
            headers=exc.headers,
        )
    if isinstance(exc, AgreementRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/organisation/agreement?next={quote(target)}", status_code=303)
    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return error_page(request, exc.status, _(exc.title), exc.detail, exc.headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "message": str(err.get("msg", "invalid")),
        }
        for err in exc.errors()
    ]
    if _wants_json(request):
        return problem(
            request,
            422,
            slug="invalid-input",
            title="Invalid input",
            detail=_("The request has invalid fields; see errors."),
            errors=errors,
        )
    return error_page(
        request, 400, _("Bad request"), _("The address or the form has invalid values.")
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    title = HTTP_TITLES.get(status, phrase)
    slug = phrase.lower().replace(" ", "-")
    detail = str(exc.detail) if exc.detail and exc.detail != title else title
    headers = dict(exc.headers or {})
    if status == 404:
        detail = _("The page or resource does not exist.")
    if status == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    if _wants_json(request):
        if status == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return problem(request, status, slug=slug, title=title, detail=detail, headers=headers)
    return error_page(request, status, _(title), detail, headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to (Starlette's 405 names only those of the first route
    with that path, e.g. GET of a path that also takes POST)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    )


async def handle_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("hub.dependency_unavailable", exc_info=exc)
    return await handle_hub_error(
        request,
        ServiceUnavailable(
            _("A service the hub needs is unavailable. Try again shortly."),
            headers={"Retry-After": "10"},
        ),
    )


async def handle_data_error(request: Request, exc: Exception) -> Response:
    # The last line of defence: a value the database refuses (a NUL character, a number or
    # text too large for its column) that no earlier check caught. The unit of work has
    # rolled back, so nothing is half-written.
    log.warning("hub.data_error", exc_info=exc)
    return await handle_hub_error(
        request,
        InvalidInput(
            _(
                "Some values cannot be stored (too long, too large or with "
                "characters that are not allowed)."
            )
        ),
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("hub.unhandled_error", exc_info=exc)
    # This handler runs outside the language middleware: choose the language again.
    language = i18n.language_of_scope(request.scope, request.state.hub.settings.default_language)
    with i18n.use_language(language):
        return _unexpected_response(request)


def _unexpected_response(request: Request) -> Response:
    if _wants_json(request):
        return problem(
            request,
            500,
            slug="internal-error",
            title="Internal error",
            detail=_("Something went wrong on our side. It has been logged."),
        )
    return error_page(
        request,
        500,
        _("Something went wrong"),
        _("Something went wrong on our side. It has been logged."),
    )


_gc_frozen = False


def _freeze_startup_objects() -> bool:
    """Keep what the process loaded at startup out of the garbage collector's full passes,
    which otherwise stall a request now and then (bench/reports.py). Once per process: a
    test run makes hundreds of apps, and a full collection for each would cost minutes."""
    global _gc_frozen
    if _gc_frozen:
        return False
    gc.collect()
    gc.freeze()
    _gc_frozen = True
    return True


class HubApp(FastAPI):
    """The hub's app, with the citizen's click (``/s/{code}``) answered before any routing
    or middleware (:mod:`hub.tracking.redirect`, which sends the security headers itself), and
    the security headers on every other answer: outside everything else, so an unexpected
    error's page gets them too."""

    def __init__(self, *, redirector: Redirector, hsts: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redirector = redirector
        self._with_headers = SecurityHeadersMiddleware(super().__call__, hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(REDIRECT_PREFIX):
            await self.redirector(scope, receive, send)
            return
        await self._with_headers(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        return openapi_schema(self)


ROUTERS: tuple[APIRouter, ...] = (
    system_api.router,
    metrics.router,
    audit_api.router,
    auth_api.router,
    users_api.router,
    partners_api.router,
    partners_webhook.api_router,
    areas_api.router,
    audiences_api.router,
    campaigns_api.router,
    imports_api.router,
    imports_api.export_router,
    materials_api.router,
    submissions_api.router,
    distribution_api.router,
    forwards_api.router,
    tracking_api.router,
    reports_api.router,
    materials_downloads.router,
    system_pages.router,
    audit_pages.router,
    auth_pages.router,
    users_pages.router,
    partners_pages.router,
    partners_portal.router,
    partners_webhook.page_router,
    areas_pages.router,
    audiences_pages.router,
    imports_pages.router,
    campaigns_pages.router,
    campaigns_composer.router,
    campaigns_portal.router,
    campaigns_review.router,
    distribution_pages.router,
    forwards_pages.router,
    tracking_citizen.router,
    tracking_portal.router,
    reports_pages.router,
)


@functools.cache
def _routes() -> tuple[BaseRoute, ...]:
    """The hub's routes, built once per process and shared by every app it makes.

    They depend on no settings (a handler reaches the settings through ``request.app``), and
    FastAPI's analysis of each endpoint's parameters and dependencies, about a second for the
    whole hub, is kept with the route: it is then done once, not again for every app (the test
    suite makes one per test). They are built on a bare app that adds nothing to them.
    """
    template = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    before = len(template.router.routes)
    for router in ROUTERS:
        template.include_router(router)
    return tuple(template.router.routes[before:])


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the hub. With no settings, read them from the environment (uvicorn --factory)."""
    settings = settings or load_settings()

    counter = ClickCounter(prefix=settings.redis_prefix)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, HubState]]:
        state = await HubState.open(settings)
        counter.start(state.redis)
        froze = _freeze_startup_objects()
        try:
            yield {"hub": state}
        finally:
            if froze:
                gc.unfreeze()  # an app made and stopped again leaves nothing behind
            await counter.stop()  # hands over the last counts: a graceful stop loses none
            await state.close()

    app = HubApp(
        redirector=Redirector(counter, security_headers(hsts=settings.secure_cookies)),
        hsts=settings.secure_cookies,
        title="Partner Hub",
        version=__version__,
        description="Publish campaign materials to partner organisations and measure reach.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    # CSV imports: the file plus the form around it, refused while it streams in.
    import_limit = MAX_IMPORT_BYTES + 256 * 1024
    # Material uploads: the file part is capped while it streams (hub.materials.upload); this
    # stops a body that grows past the cap for any other reason.
    material_limit = settings.max_upload_bytes + 1024 * 1024
    app.add_middleware(
        BodyLimitMiddleware,
        limits=[
            ("/imports", import_limit),
            ("/api/v1/imports", import_limit),
            ("/api/v1/materials", material_limit),
            ("/api/v1/submissions", material_limit),
            # Upload forms of the composer and of partners' own films.
            ("/campaigns", material_limit),
            ("/portal/campaigns", material_limit),
            # Forward reports with a photo as evidence.
            ("/portal/reports", material_limit),
            ("/api/v1/reports", material_limit),
        ],
    )
    app.add_middleware(i18n.LanguageMiddleware, default=settings.default_language)
    app.add_middleware(RequestStateMiddleware)  # before anything writes state
    app.add_middleware(ObserveMiddleware)  # outermost: the request id, metrics, access log

    app.add_exception_handler(HubError, handle_hub_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(sqlalchemy.exc.DataError, handle_data_error)
    for unavailable in (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.TimeoutError,  # no database connection free in time: overloaded
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        ConnectionRefusedError,
    ):
        app.add_exception_handler(unavailable, handle_unavailable)
    app.add_exception_handler(Exception, handle_unexpected)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The routes go after /static, in the order of ROUTERS (the first match wins).
    app.router.routes.extend(_routes())
    NamedRoutes(app.router).install()
    return app
