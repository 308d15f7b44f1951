"""Checking free text before it is stored: length, and no control characters."""

from __future__ import annotations

import re

from hub.errors import FieldError, InvalidInput
from hub.i18n import _

# NUL and the other C0/C1 controls have no place in names or notes (PostgreSQL refuses NUL);
# tab and newlines are fine in multi-line text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(
    value: str | None,
    *,
    field: str,
    max_length: int,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """The stripped text, or InvalidInput naming the field."""
    text = (value or "").strip()
    pattern = _CONTROL if multiline else _CONTROL_SINGLE_LINE
    if pattern.search(text):
        message = _("This field contains characters that cannot be stored.")
        raise InvalidInput(message, errors=[FieldError(field, message)])
    if len(text) > max_length:
        message = _("At most %(num)d characters.") % {"num": max_length}
        raise InvalidInput(message, errors=[FieldError(field, message)])
    if required and not text:
        message = _("This field is required.")
        raise InvalidInput(message, errors=[FieldError(field, message)])
    return text


def search_text(value: str) -> str:
    """A search term without characters the database cannot compare."""
    return _CONTROL_SINGLE_LINE.sub("", value).strip()[:200]
