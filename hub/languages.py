"""Content languages (ISO 639-1) and their direction."""

from __future__ import annotations

import re
from functools import cache

from babel import Locale, UnknownLocaleError

# Written right to left (Kurdish here means Sorani, as in the field's materials).
RTL_LANGUAGES = frozenset({"ar", "fa", "ps", "ur", "ku", "he", "yi", "dv", "ug", "sd"})
# The content languages that matter most, in the order the UI offers them.
COMMON_LANGUAGES = (
    "da",
    "en",
    "ar",
    "so",
    "tr",
    "ur",
    "fa",
    "ps",
    "ti",
    "ku",
    "bs",
    "hr",
    "sr",
    "pl",
    "ro",
    "uk",
    "ta",
    "vi",
)
_CODE = re.compile(r"^[a-z]{2}$")


@cache
def is_language(code: str) -> bool:
    """A two-letter ISO 639-1 code that Babel knows."""
    if not _CODE.match(code):
        return False
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def normalise_languages(codes: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(valid codes lower-cased, de-duplicated in order; codes that are not languages)."""
    valid: list[str] = []
    bad: list[str] = []
    for raw in codes:
        code = raw.strip().lower()
        if not code:
            continue
        if is_language(code):
            if code not in valid:
                valid.append(code)
        else:
            bad.append(raw.strip())
    return valid, bad


def direction(code: str) -> str:
    return "rtl" if code in RTL_LANGUAGES else "ltr"


def display_name(code: str, in_language: str) -> str:
    try:
        name = Locale.parse(code).get_display_name(in_language)
    except (UnknownLocaleError, ValueError):
        return code
    return name or code
