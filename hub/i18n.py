"""UI text in Danish and English through gettext catalogs.

English is the source language; `hub/locale/da/LC_MESSAGES/messages.po` holds Danish. The
catalogs are compiled in memory at start, so a `.po` edit can never disagree with a stale `.mo`.
The request's language lives in a context variable set by :class:`LanguageMiddleware` (picker
cookie first, then Accept-Language), so templates, emails and error messages all follow it.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("da", "en")
LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}
LANGUAGE_COOKIE = "hub_lang"
DEFAULT_LANGUAGE = "da"

_current: ContextVar[str] = ContextVar("hub_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def lazy(message: str) -> str:
    """Mark a string for extraction without translating it now (translate at render time)."""
    return message


@contextmanager
def use_language(language: str) -> Iterator[None]:
    token = _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def negotiate(cookie_value: str | None, accept_language: str | None, default: str) -> str:
    if cookie_value in LANGUAGES:
        return cookie_value  # type: ignore[return-value]
    if accept_language:
        preferred = []
        for part in accept_language.split(","):
            tag, _sep, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            if tag:
                preferred.append((quality, tag.replace("_", "-")))
        preferred.sort(key=lambda item: -item[0])
        found = negotiate_locale([tag for q, tag in preferred if q > 0], LANGUAGES, sep="-")
        if found:
            return found
    return default


def language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, TypeError):
        return code


def language_of_scope(scope: Scope, default: str) -> str:
    cookie = None
    accept = None
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                key, _sep, val = pair.strip().partition("=")
                if key == LANGUAGE_COOKIE:
                    cookie = val
        elif name == b"accept-language":
            accept = value.decode("latin-1")
    return negotiate(cookie, accept, default)


class LanguageMiddleware:
    """Set the UI language for each HTTP request (pure ASGI, so the context var reaches the
    endpoint and everything it renders)."""

    def __init__(self, app: ASGIApp, default: str = DEFAULT_LANGUAGE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language = language_of_scope(scope, self.default)
        token = _current.set(language)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
