"""The composer's forms: reading what officers typed, and the values shown back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date
from starlette.datastructures import FormData

from hub.errors import FieldError, HubError, InvalidInput
from hub.forms import (
    parse_id,
)
from hub.i18n import _, current_language
from hub.languages import COMMON_LANGUAGES, display_name
from hub.models import Campaign, CampaignItem, ItemKind

# Officers type times as they read them on the wall clock: Copenhagen time.
LOCAL_ZONE = ZoneInfo("Europe/Copenhagen")
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
# The saved-audience choice that keeps an audience described through the API.
OWN_AUDIENCE = "own"
# Items whose texts are Markdown (scripts and Q&A have headings, lists and links).
MARKDOWN_KINDS = frozenset({ItemKind.script, ItemKind.qa})
EVENT_TEXT_FIELDS = ("place", "address", "map_url", "booking_help")
EVENT_TIME_FIELDS = ("starts_at", "ends_at")


@dataclass
class Form:
    """What a form said (to show it again) and what was wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ComposerForms:
    """The composer's forms that failed, so that the page shows them again as they were."""

    status: Form = field(default_factory=Form)
    new_item: Form = field(default_factory=lambda: Form(values={"base_language": "da"}))
    texts: dict[int, Form] = field(default_factory=dict)  # item id → the text form
    files: dict[int, Form] = field(default_factory=dict)  # item id → the upload form


# --- reading forms ---------------------------------------------------------------------------


def form_text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError(name, message)])


def parse_local_time(text: str) -> datetime | None:
    """A datetime-local value, meant in Copenhagen time, as UTC; None when empty.

    Raises ValueError when the text is not a date and time a campaign could use."""
    text = text.strip()
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if not 2000 <= value.year <= 2200:
        raise ValueError(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_ZONE)
    return value.astimezone(UTC)


def local_input_value(moment: datetime | None) -> str:
    """A stored time as a datetime-local value in Copenhagen time."""
    return moment.astimezone(LOCAL_ZONE).strftime(LOCAL_INPUT_FORMAT) if moment else ""


def parse_day(text: str) -> date | None:
    if not text:
        return None
    day = date.fromisoformat(text)
    if not 2000 <= day.year <= 2200:
        raise ValueError(text)
    return day


def format_day(day: date | None) -> str:
    return format_date(day, "medium", locale=current_language()) if day else ""


def language_choices(extra: list[str] | None = None) -> list[tuple[str, str]]:
    """The common content languages first, then any other the campaign uses already."""
    codes = list(COMMON_LANGUAGES) + [c for c in extra or [] if c not in COMMON_LANGUAGES]
    return [(code, display_name(code, current_language())) for code in codes]


def campaign_form(form: FormData, campaign: Campaign | None) -> tuple[Form, dict[str, Any]]:
    """The campaign form's values and errors, and the changes it asks for."""
    names = ("title", "purpose", "starts_on", "ends_on")
    values: dict[str, Any] = {name: form_text(form, name) for name in names}
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {"title": values["title"], "purpose": values["purpose"]}
    for name in ("starts_on", "ends_on"):
        try:
            changes[name] = parse_day(values[name])
        except ValueError:
            errors[name] = _("Enter a date, e.g. 2025-10-01.")
    choice = form.get("audience_id")
    # A published campaign's form has no audience field: its audience is fixed.
    if isinstance(choice, str):
        choice = choice.strip()
        values["audience_id"] = choice
        if choice != OWN_AUDIENCE or campaign is None:
            audience_id = parse_id(choice) if choice else None
            if choice and audience_id is None:
                errors["audience_id"] = _("Choose an audience from the list.")
            elif campaign is None:
                changes["audience_id"] = audience_id
            elif audience_id != campaign.audience_id or (
                audience_id is None and campaign.audience_spec is not None
            ):
                changes["audience_id"] = audience_id
                if audience_id is None:
                    changes["audience_spec"] = None
    return Form(values=values, errors=errors), changes


def campaign_values(campaign: Campaign) -> dict[str, Any]:
    audience = str(campaign.audience_id) if campaign.audience_id is not None else ""
    if campaign.audience_id is None and campaign.audience_spec is not None:
        audience = OWN_AUDIENCE
    return {
        "title": campaign.title,
        "purpose": campaign.purpose,
        "audience_id": audience,
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
    }


def item_form(form: FormData, item: CampaignItem | None = None) -> tuple[Form, dict[str, Any]]:
    """The item form's values and errors, and the service arguments it asks for.

    Event fields are passed on only for events, or when filled in for another kind (the
    service then says they belong to events)."""
    names = ("kind", "title", "base_language", "fallback_language")
    values: dict[str, Any] = {
        name: form_text(form, name) for name in (*names, *EVENT_TIME_FIELDS, *EVENT_TEXT_FIELDS)
    }
    errors: dict[str, str] = {}
    arguments: dict[str, Any] = {
        "title": values["title"],
        "base_language": values["base_language"] or "da",
        "fallback_language": values["fallback_language"] or None,
    }
    kind: ItemKind | None = ItemKind(item.kind) if item is not None else None
    if item is None:
        if values["kind"] in {k.value for k in ItemKind}:
            kind = ItemKind(values["kind"])
            arguments["kind"] = kind
        else:
            errors["kind"] = _("Choose what kind of item this is.")
    event: dict[str, Any] = {}
    for name in EVENT_TIME_FIELDS:
        try:
            event[name] = parse_local_time(values[name])
        except ValueError:
            errors[name] = _("Enter a date and time, e.g. 2025-10-01 17:30.")
    for name in EVENT_TEXT_FIELDS:
        event[name] = values[name] or None
    if kind is ItemKind.event or item is None:
        arguments.update(event)
    else:
        arguments.update({k: v for k, v in event.items() if v is not None})
    return Form(values=values, errors=errors), arguments


def item_values(item: CampaignItem) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": str(item.kind),
        "title": item.title,
        "base_language": item.base_language,
        "fallback_language": item.fallback_language or "",
    }
    for name in EVENT_TIME_FIELDS:
        values[name] = local_input_value(getattr(item, name))
    for name in EVENT_TEXT_FIELDS:
        values[name] = getattr(item, name) or ""
    return values


def form_status(exc: HubError) -> int:
    """A form's error status: 400 for what the officer typed, else the error's own (409...)."""
    return 400 if isinstance(exc, InvalidInput) else exc.status


def composer_url(campaign: Campaign, done: str = "", anchor: str = "") -> str:
    url = f"/campaigns/{campaign.id}"
    if done:
        url += f"?done={quote(done)}"
    return url + (f"#{anchor}" if anchor else "")
