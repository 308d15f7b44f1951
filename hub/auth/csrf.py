"""CSRF protection for forms: a random cookie plus a form field holding an HMAC of it, bound
to the sign-in session. A planted cookie is useless without the secret key, and a token from one
session does not work in another."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Request
from starlette.responses import Response

from hub.errors import CsrfFailed
from hub.i18n import _

CSRF_COOKIE = "hub_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "hub_session"


def _cookie(request: Request) -> str:
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not value:
        value = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = value
    return value


def _sign(secret: str, cookie: str, session_cookie: str) -> str:
    message = f"{cookie}|{session_cookie}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def token_for(request: Request) -> str:
    secret = request.state.hub.settings.secret_key
    session_cookie = getattr(request.state, "session_cookie_override", None)
    if session_cookie is None:
        session_cookie = request.cookies.get(SESSION_COOKIE, "")
    return _sign(secret, _cookie(request), session_cookie)


def ensure_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf_cookie", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            httponly=True,
            samesite="lax",
            secure=request.state.hub.settings.secure_cookies,
            path="/",
        )


def verify(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        raise CsrfFailed(_("The form has expired. Reload the page and try again."))
    expected = _sign(
        request.state.hub.settings.secret_key, cookie, request.cookies.get(SESSION_COOKIE, "")
    )
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfFailed(_("The form has expired. Reload the page and try again."))


def upload_check(request: Request) -> Callable[[dict[str, str]], None]:
    """For an upload form read as a stream: checks the token among the fields sent before
    the file, so a forged upload is refused before its file is read."""
    return lambda fields: verify(request, fields.get(CSRF_FIELD))


async def require_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Dependency for every form POST."""
    verify(request, csrf_token)
