"""Reading the organisation and contact forms (HTML) into service arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from hub.forms import parse_count, parse_id
from hub.i18n import _
from hub.models import Channel, NotifyBy, OrganisationKind, OrganisationStatus, OrgRole
from hub.partners.service import MAX_AUDIENCE_ESTIMATE, OrganisationView

_SPLIT = re.compile(r"[\s,;|/]+")


@dataclass
class OrganisationForm:
    """What the form said (kept to show it again) and what it means (for the service)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: OrganisationView) -> OrganisationForm:
        o = view.organisation
        values: dict[str, Any] = {
            "name": o.name,
            "kind": str(o.kind),
            "status": str(o.status),
            "description": o.description,
            "notes": o.notes,
            "external_id": o.external_id or "",
            "languages": " ".join(view.languages),
            "area_ids": [str(a) for a in view.area_ids],
        }
        for channel in Channel:
            if channel in view.channels:
                estimate = view.channels[channel]
                values[f"use_{channel.value}"] = True
                values[f"estimate_{channel.value}"] = "" if estimate is None else str(estimate)
        return cls(values=values)


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def parse_organisation(form: FormData, *, partner_fields_only: bool = False) -> OrganisationForm:
    """Parse the organisation form; partners' form has description, languages and channels."""
    result = OrganisationForm()
    values, errors, changes = result.values, result.errors, result.changes
    for name in ("description", "languages"):
        values[name] = _text(form, name)
    changes["description"] = values["description"]
    changes["languages"] = [c for c in _SPLIT.split(values["languages"]) if c]

    channels: list[tuple[Channel, int | None]] = []
    for channel in Channel:
        used = form.get(f"use_{channel.value}") == "yes"
        raw = _text(form, f"estimate_{channel.value}")
        values[f"use_{channel.value}"] = used
        values[f"estimate_{channel.value}"] = raw
        if not used and not raw:
            continue
        estimate: int | None = None
        if raw:
            estimate = parse_count(raw, maximum=MAX_AUDIENCE_ESTIMATE)
            if estimate is None:
                errors[f"estimate_{channel.value}"] = _(
                    "Write a whole number of people (at most 100,000,000)."
                )
                continue
        channels.append((channel, estimate))
    changes["channels"] = channels
    if partner_fields_only:
        return result

    for name in ("name", "kind", "status", "notes", "external_id"):
        values[name] = _text(form, name)
    values["area_ids"] = [v for v in form.getlist("area_ids") if isinstance(v, str)]
    if not values["name"]:
        errors["name"] = _("Give the organisation a name.")
    if values["kind"] not in {k.value for k in OrganisationKind}:
        errors["kind"] = _("Choose a kind of organisation.")
    if values["status"] not in {s.value for s in OrganisationStatus}:
        errors["status"] = _("Choose a status.")
    area_ids = []
    for raw_id in values["area_ids"]:
        parsed = parse_id(raw_id)
        if parsed is None:
            errors["area_ids"] = _("Choose areas from the list.")
        else:
            area_ids.append(parsed)
    changes.update(
        name=values["name"],
        kind=values["kind"] or None,
        status=values["status"] or None,
        notes=values["notes"],
        external_id=values["external_id"] or None,
        area_ids=area_ids,
    )
    return result


@dataclass
class ContactForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_contact(form: FormData, *, allow_coordinator: bool) -> ContactForm:
    result = ContactForm()
    for name in ("email", "name", "phone", "language", "notify_by", "org_role"):
        result.values[name] = _text(form, name)
    values = result.values
    values["language"] = values["language"].lower() or "da"
    if values["notify_by"] not in {n.value for n in NotifyBy}:
        values["notify_by"] = NotifyBy.email.value
    if values["org_role"] not in {r.value for r in OrgRole} or not allow_coordinator:
        values["org_role"] = OrgRole.member.value
    if not values["email"]:
        result.errors["email"] = _("Enter a valid e-mail address.")
    return result
