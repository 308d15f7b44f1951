"""CSV imports of partner organisations (with their contacts) and of areas (with uptake).

Every import is planned first: ``plan_partners``/``plan_areas`` read the file and the database
and say, for each object, whether it would be created, updated (which fields) or left unchanged,
and list every bad row with its line, column and reason, without writing anything.
``apply_partners``/``apply_areas`` plan again and, only if there is no error at all, write
everything through the registry's own services in the caller's unit of work (which commits, so an
import is all or nothing). Importing the same file twice changes nothing the second time.

The partners file
-----------------
One row per contact person; the organisation's columns repeat on each of its rows, which are
grouped by ``external_id`` (required; it is how a re-import finds the organisation again).

============== ==================================================================================
column         value
============== ==================================================================================
external_id    required; at most 100 characters. An organisation exported without one is written
               as ``hub-<id>`` and found again by that id.
name           required
kind           association, faith_community, housing_organisation, civil_society,
               resource_person, public_institution, other (or forening, trossamfund,
               boligorganisation, civilsamfundsorganisation, ressourceperson, offentlig
               institution, andet)
description    text
languages      ISO 639-1 codes (or language names in English or Danish) separated by spaces,
               commas, ``|`` or ``/``: ``da ar so``
areas          area codes, separated the same way; the areas must exist (import them first)
channels       ``whatsapp:250|facebook:1200|poster``: a channel, optionally ``:`` and how many
               people it reaches there; Danish words welcome (nyhedsbrev, plakat, løbeseddel,
               møde, fredagsbøn, dør-til-dør, ...)
status         invited, active, paused, offboarded (inviteret, aktiv, pause, afsluttet)
notes          text (officers only)
contact_*      the row's contact person: contact_name, contact_email (required when any other
               contact column is filled in), contact_phone, contact_language (a language code,
               default da), contact_notify (email, sms, both, none; e-mail, begge, ingen),
               contact_role (coordinator, member; koordinator, medlem). A row may have no contact.
============== ==================================================================================

Only ``external_id``, ``name`` and ``kind`` must be columns; a column left out of the file is left
alone in the hub, while a column in the file is the truth: an empty description clears the
description. Empty name, kind, status, contact language, notify and role mean "as it is" (for a
new organisation name and kind are required; the others take their defaults). Of the rows of one
organisation, the first non-empty value of each organisation column counts; a later row with a
*different* non-empty value is an error on that later row, so repeating the values or leaving them
empty on the further rows both work.

Contacts are matched by e-mail. New contacts become partner users **without** an invitation:
an officer invites them later. Known contacts of the same organisation are updated; an address
that belongs to a staff user or to another organisation's contact is an error. Contacts that
are not in the file are left as they are.

The areas file
--------------
``code`` (required, the key), ``name``, ``kind`` (municipality, district, parish, housing_area;
kommune, bydel, sogn, boligområde), ``parent_code`` (an area in the hub or anywhere in the same
file, also further down; empty: a top-level area), ``population``, and optionally uptake:
``uptake_date``, ``uptake_percent`` (0-100, ``72,5`` or ``72,5 %``), ``age_band`` (empty or
"alle" for all ages). Several rows of one area give its uptake time series; the area's columns
follow the same agree-or-leave-empty rule as an organisation's, and an empty name or kind of a
known area means "as it is". Uptake figures not in the file
are kept.

See ``hub.imports.csvfile`` for encodings, delimiters, numbers and dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, TypeVar

from babel import Locale
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas import service as areas_service
from hub.audit import service as audit
from hub.auth import service as auth
from hub.errors import FieldError, Forbidden, InvalidInput
from hub.i18n import _, ngettext
from hub.imports import words
from hub.imports.csvfile import (
    BadValue,
    FileRejected,
    Row,
    choose,
    parse_date,
    parse_decimal,
    parse_int,
    read_table,
    split_list,
    word_key,
)
from hub.imports.schemas import ImportPlan, PlannedChange, RowError, build_counts, error_text
from hub.languages import COMMON_LANGUAGES, is_language
from hub.models import (
    Area,
    AreaKind,
    AreaUptake,
    AuditAction,
    Channel,
    NotifyBy,
    Organisation,
    OrganisationArea,
    OrganisationChannel,
    OrganisationKind,
    OrganisationLanguage,
    OrganisationStatus,
    OrgRole,
    Role,
    User,
)
from hub.partners import service as partners

PARTNER_COLUMNS = (
    "external_id",
    "name",
    "kind",
    "description",
    "languages",
    "areas",
    "channels",
    "status",
    "notes",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_language",
    "contact_notify",
    "contact_role",
)
PARTNER_REQUIRED = ("external_id", "name", "kind")
ORGANISATION_COLUMNS = PARTNER_COLUMNS[1:9]
CONTACT_COLUMNS = PARTNER_COLUMNS[9:]

AREA_COLUMNS = (
    "code",
    "name",
    "kind",
    "parent_code",
    "population",
    "uptake_date",
    "uptake_percent",
    "age_band",
)
AREA_REQUIRED = ("code", "name", "kind")
AREA_FIELDS = ("name", "kind", "parent_code", "population")

# An organisation exported without an external id gets this one, so a re-import finds it.
HUB_ID = re.compile(r"^hub-(\d{1,9})$")  # ids are 32-bit integers in PostgreSQL
MAX_COUNT = 100_000_000  # people reached or living somewhere; above is a typo
# Longest text the tables hold (PostgreSQL refuses longer; check before writing).
MAX_LENGTH = {
    "external_id": 100,
    "name": 200,
    "description": 4000,
    "notes": 4000,
    "contact_name": 200,
    "contact_phone": 40,
    "code": 40,
    "parent_code": 40,
    "age_band": 20,
}
_QUERY_CHUNK = 1000

T = TypeVar("T")


class ImportRejected(InvalidInput):
    """The file has errors; nothing was written. ``plan`` has every error."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__(
            ngettext(
                "The file has %(num)d error; nothing was imported.",
                "The file has %(num)d errors; nothing was imported.",
                len(plan.errors),
            )
            % {"num": len(plan.errors)},
            errors=[FieldError(e.column or "file", error_text(e)) for e in plan.errors],
        )
        self.plan = plan


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), _QUERY_CHUNK):
        yield items[start : start + _QUERY_CHUNK]


def _require_staff(principal: User | None) -> User:
    """The acting user; None is the command line, which acts as an administrator."""
    if principal is None:
        return User(email="command-line@hub.invalid", role=Role.admin)
    if not partners.is_staff(principal):
        raise Forbidden(_("Only the municipality's staff can import."))
    return principal


class _Problems:
    """Errors collected while planning, sorted by line and column in the end."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.items: list[RowError] = []
        self._order = {name: i for i, name in enumerate(columns)}

    def add(self, line: int, column: str, reason: str) -> None:
        self.items.append(RowError(line=line, column=column, reason=reason))

    def sorted(self) -> list[RowError]:
        return sorted(self.items, key=lambda e: (e.line, self._order.get(e.column, -1)))


def _rejected_plan(fmt: Any, exc: FileRejected) -> ImportPlan:
    return ImportPlan(
        format=fmt,
        counts=build_counts(fmt, []),
        errors=[RowError(line=exc.line, column="", reason=exc.reason)],
    )


def _text(row: Row, column: str, problems: _Problems) -> str | None:
    """The cell's text, or None (and an error) when it is too long for the table."""
    value = row.get(column)
    limit = MAX_LENGTH.get(column)
    if limit is not None and len(value) > limit:
        problems.add(
            row.line,
            column,
            _("At most %(num)d characters (this has %(length)d).")
            % {"num": limit, "length": len(value)},
        )
        return None
    return value


def _count(text: str) -> int | None:
    """A whole number of people, 0 to MAX_COUNT."""
    number = parse_int(text)
    if number is not None and number < 0:
        raise BadValue(_("The number cannot be negative: %(value)s") % {"value": text})
    if number is not None and number > MAX_COUNT:
        raise BadValue(_("The number is too large: %(value)s") % {"value": text})
    return number


@cache
def _language_names() -> dict[str, str]:
    """Language names in English and Danish (lower-case) to codes, for "arabisk", "Somali"."""
    names: dict[str, str] = {}
    for ui_language in ("en", "da"):
        for code, name in Locale.parse(ui_language).languages.items():
            if len(code) == 2 and is_language(code):
                names.setdefault(word_key(name), code)
    for code in COMMON_LANGUAGES:  # the common ones win a clash of names
        for ui_language in ("en", "da"):
            names[word_key(Locale.parse(ui_language).languages.get(code, code))] = code
    return names


def _language(item: str) -> str | None:
    code = item.strip().lower()
    if is_language(code):
        return code
    return _language_names().get(word_key(item))


def _languages(text: str) -> tuple[str, ...]:
    found: list[str] = []
    bad: list[str] = []
    for item in split_list(text):
        code = _language(item)
        if code is None:
            bad.append(item)
        elif code not in found:
            found.append(code)
    if bad:
        raise BadValue(
            _("Not a language code (ISO 639-1, e.g. da, ar, so): %(codes)s")
            % {"codes": ", ".join(bad)}
        )
    return tuple(sorted(found))


def _one_language(text: str) -> str | None:
    if not text.strip():
        return None
    code = _language(text)
    if code is None:
        raise BadValue(
            _("Not a language code (ISO 639-1, e.g. da, ar, so): %(codes)s") % {"codes": text}
        )
    return code


_CHANNEL_SPLIT = re.compile(r"[|;/\n]+|,(?=\s*[^\d\s])")
_CHANNEL_ITEM = re.compile(r"^(?P<name>.*?)(?:\s*[:=]\s*|\s+)(?P<number>[-−+]?[\d.,'\s]*\d)$")


def _channels(text: str) -> dict[Channel, int | None]:
    channels: dict[Channel, int | None] = {}
    for raw in _CHANNEL_SPLIT.split(text):
        item = raw.strip()
        if not item:
            continue
        match = _CHANNEL_ITEM.match(item)
        name, number = (match.group("name"), match.group("number")) if match else (item, "")
        channel = words.CHANNELS.get(word_key(name))
        if channel is None:
            raise BadValue(
                _("Unknown channel %(value)s; use one of: %(choices)s")
                % {"value": name.strip(), "choices": ", ".join(c.value for c in Channel)}
            )
        estimate = parse_int(number)
        if estimate is not None and estimate < 0:
            raise BadValue(_("An audience estimate cannot be negative."))
        if estimate is not None and estimate > MAX_COUNT:
            raise BadValue(_("The number is too large: %(value)s") % {"value": number})
        if channel in channels:
            raise BadValue(
                _("Each channel once: %(channel)s is listed twice.") % {"channel": channel.value}
            )
        channels[channel] = estimate
    return dict(sorted(channels.items(), key=lambda kv: list(Channel).index(kv[0])))


async def _area_codes(session: AsyncSession) -> tuple[dict[str, int], dict[str, str]]:
    """(code -> id, lower-case code -> code when unique) of every area."""
    rows = (await session.exec(select(Area.code, Area.id))).all()
    by_code = {code: area_id for code, area_id in rows if area_id is not None}
    lower: dict[str, str] = {}
    clashes: set[str] = set()
    for code in by_code:
        key = code.lower()
        if key in lower:
            clashes.add(key)
        lower[key] = code
    return by_code, {k: v for k, v in lower.items() if k not in clashes}


def _resolve_code(code: str, by_code: dict[str, int], lower: dict[str, str]) -> str | None:
    if code in by_code:
        return code
    return lower.get(code.lower())


@dataclass
class _Draft:
    """An organisation or area as the file has it: values of its non-empty cells."""

    key: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    # Columns with a non-empty cell on any row, valid or not.
    filled: set[str] = field(default_factory=set)
    bad: bool = False

    def note_filled(self, row: Row, columns: Iterable[str]) -> None:
        self.filled.update(c for c in columns if row.get(c))

    def merge(self, line: int, column: str, value: Any, shown: str, problems: _Problems) -> None:
        if column not in self.values:
            self.values[column] = value
            self.lines[column] = line
            self.shown[column] = shown
        elif self.values[column] != value:
            problems.add(
                line,
                column,
                _("Differs from line %(line)d, which has %(value)s for %(key)s.")
                % {"line": self.lines[column], "value": self.shown[column], "key": self.key},
            )
            self.bad = True


# --- partners --------------------------------------------------------------------------------


@dataclass
class _OrgPlan:
    draft: _Draft
    existing: Organisation | None = None
    action: str = "create"
    changes: dict[str, Any] = field(default_factory=dict)
    organisation: Organisation | None = None  # after apply


@dataclass
class _ContactPlan:
    line: int
    external_id: str
    email: str
    values: dict[str, Any]
    existing: User | None = None
    action: str = "create"
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class _PartnerWork:
    plan: ImportPlan
    organisations: list[_OrgPlan] = field(default_factory=list)
    contacts: list[_ContactPlan] = field(default_factory=list)


def _organisation_cells(
    row: Row,
    columns: Sequence[str],
    area_ids: tuple[dict[str, int], dict[str, str]],
    problems: _Problems,
) -> tuple[dict[str, tuple[Any, str]], bool]:
    """The row's non-empty organisation cells parsed ({column: (value, as written)}), ok."""
    parsed: dict[str, tuple[Any, str]] = {}
    ok = True
    for column in ORGANISATION_COLUMNS:
        if column not in columns:
            continue
        text = _text(row, column, problems)
        if text is None:
            ok = False
            continue
        if not text:
            continue
        try:
            value: Any
            if column == "kind":
                value = choose(text, words.ORGANISATION_KINDS)
            elif column == "status":
                value = choose(text, words.ORGANISATION_STATUSES)
            elif column == "languages":
                value = _languages(text)
            elif column == "channels":
                value = _channels(text)
            elif column == "areas":
                by_code, lower = area_ids
                codes = split_list(text)
                unknown = [c for c in codes if _resolve_code(c, by_code, lower) is None]
                if unknown:
                    raise BadValue(
                        _("Unknown area codes: %(codes)s") % {"codes": ", ".join(unknown)}
                    )
                value = tuple(sorted({_resolve_code(c, by_code, lower) or c for c in codes}))
            else:
                value = text
        except BadValue as exc:
            problems.add(row.line, column, str(exc))
            ok = False
            continue
        parsed[column] = (value, text)
    return parsed, ok


def _contact_cells(row: Row, columns: Sequence[str], problems: _Problems) -> _ContactPlan | None:
    if not any(row.get(c) for c in CONTACT_COLUMNS):
        return None
    values: dict[str, Any] = {}
    ok = True
    email = row.get("contact_email")
    if not email:
        problems.add(row.line, "contact_email", _("A contact needs an e-mail address."))
        ok = False
    else:
        try:
            email = auth.check_email(email, field="contact_email")
        except InvalidInput:
            problems.add(
                row.line,
                "contact_email",
                _("Not a valid e-mail address: %(value)s") % {"value": email},
            )
            ok = False
    for column in ("contact_name", "contact_phone"):
        if column in columns:
            text = _text(row, column, problems)
            if text is None:
                ok = False
            else:
                values[column] = text if column == "contact_name" else (text or None)
    parsers: dict[str, Any] = {
        "contact_language": _one_language,
        "contact_notify": lambda t: choose(t, words.NOTIFY_BY),
        "contact_role": lambda t: choose(t, words.ORG_ROLES),
    }
    for column, parse in parsers.items():
        if column in columns:
            try:
                values[column] = parse(row.get(column))
            except BadValue as exc:
                problems.add(row.line, column, str(exc))
                ok = False
    if not ok:
        return None
    return _ContactPlan(
        line=row.line, external_id=row.get("external_id"), email=email, values=values
    )


async def _organisations_by_key(session: AsyncSession, keys: list[str]) -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    for chunk in _chunks(keys):
        rows = await session.exec(
            select(Organisation).where(col(Organisation.external_id).in_(chunk))
        )
        found.update({o.external_id: o for o in rows.all() if o.external_id})
    by_hub_id = {
        int(m.group(1)): key for key in keys if key not in found and (m := HUB_ID.match(key))
    }
    for chunk_ids in _chunks(list(by_hub_id)):
        rows = await session.exec(
            select(Organisation).where(
                col(Organisation.id).in_(chunk_ids), col(Organisation.external_id).is_(None)
            )
        )
        found.update({by_hub_id[o.id]: o for o in rows.all() if o.id is not None})
    return found


async def _users_by_email(session: AsyncSession, emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(emails):
        rows = await session.exec(select(User).where(col(User.email).in_(chunk)))
        found.update({u.email: u for u in rows.all()})
    return found


def _organisation_changes(
    plan: _OrgPlan,
    view: partners.OrganisationView,
    columns: Sequence[str],
    area_ids: dict[str, int],
) -> dict[str, Any]:
    organisation = view.organisation
    values = plan.draft.values
    changes: dict[str, Any] = {}
    for column in ("description", "notes"):
        if column in columns and values.get(column, "") != getattr(organisation, column):
            changes[column] = values.get(column, "")
    for column in ("name", "kind", "status"):
        if values.get(column) is not None and values[column] != getattr(organisation, column):
            changes[column] = values[column]
    if "languages" in columns and set(values.get("languages", ())) != set(view.languages):
        changes["languages"] = list(values.get("languages", ()))
    if "areas" in columns:
        wanted = {area_ids[code] for code in values.get("areas", ())}
        if wanted != set(view.area_ids):
            changes["areas"] = sorted(wanted)
    if "channels" in columns and values.get("channels", {}) != view.channels:
        changes["channels"] = values.get("channels", {})
    return changes


def _contact_changes(contact: _ContactPlan, user: User) -> dict[str, Any]:
    wanted = {
        "name": contact.values.get("contact_name"),
        "phone": contact.values.get("contact_phone", user.phone),
        "language": contact.values.get("contact_language"),
        "notify_by": contact.values.get("contact_notify"),
        "org_role": contact.values.get("contact_role"),
    }
    changes: dict[str, Any] = {}
    for name, value in wanted.items():
        if name == "name" and "contact_name" not in contact.values:
            continue
        if value is None and name != "phone":
            continue  # empty: as it is
        if value != getattr(user, name):
            changes[name] = value
    return changes


_CONTACT_FIELD_COLUMNS = {
    "name": "contact_name",
    "phone": "contact_phone",
    "language": "contact_language",
    "notify_by": "contact_notify",
    "org_role": "contact_role",
}


async def _plan_partners(session: AsyncSession, content: bytes) -> _PartnerWork:
    try:
        table = read_table(content, columns=PARTNER_COLUMNS, required=PARTNER_REQUIRED)
    except FileRejected as exc:
        return _PartnerWork(plan=_rejected_plan("partners", exc))
    problems = _Problems(PARTNER_COLUMNS)
    area_ids = await _area_codes(session)
    drafts: dict[str, _Draft] = {}
    contacts: list[_ContactPlan] = []

    for row in table.rows:
        if row.overflow:
            problems.add(
                row.line,
                "",
                _(
                    "The row has more values than the header has columns (a delimiter inside a "
                    "value without quotes?)."
                ),
            )
        external_id = _text(row, "external_id", problems)
        cells, cells_ok = _organisation_cells(row, table.columns, area_ids, problems)
        contact = _contact_cells(row, table.columns, problems)
        if external_id == "":
            problems.add(
                row.line, "external_id", _("Every row needs the organisation's external id.")
            )
        if not external_id:
            continue
        draft = drafts.get(external_id)
        if draft is None:
            draft = drafts[external_id] = _Draft(key=external_id, line=row.line)
        draft.bad = draft.bad or not cells_ok
        draft.note_filled(row, ORGANISATION_COLUMNS)
        for column, (value, shown) in cells.items():
            draft.merge(row.line, column, value, shown, problems)
        if contact is not None:
            contacts.append(contact)

    existing = await _organisations_by_key(session, list(drafts))
    views = {
        v.organisation.id: v for v in await partners.load_views(session, list(existing.values()))
    }
    org_plans: dict[str, _OrgPlan] = {}
    changes: list[PlannedChange] = []
    for key, draft in drafts.items():
        org_plan = org_plans[key] = _OrgPlan(draft=draft, existing=existing.get(key))
        if org_plan.existing is None and "name" not in draft.filled:
            problems.add(draft.line, "name", _("Give the organisation a name."))
            draft.bad = True
        if org_plan.existing is None and "kind" not in draft.filled:
            problems.add(draft.line, "kind", _("Choose the kind of organisation."))
            draft.bad = True
        if draft.bad:
            continue
        if org_plan.existing is not None:
            org_plan.changes = _organisation_changes(
                org_plan, views[org_plan.existing.id], table.columns, area_ids[0]
            )
            org_plan.action = "update" if org_plan.changes else "skip"
        changes.append(
            PlannedChange(
                object="organisation",
                action=org_plan.action,
                key=key,
                line=draft.line,
                fields=list(org_plan.changes),
            )
        )

    users = await _users_by_email(session, sorted({c.email for c in contacts}))
    first_line: dict[str, int] = {}
    contact_plans: list[_ContactPlan] = []
    for contact in contacts:
        if contact.email in first_line:
            problems.add(
                contact.line,
                "contact_email",
                _("This e-mail address is on line %(line)d already.")
                % {"line": first_line[contact.email]},
            )
            continue
        first_line[contact.email] = contact.line
        org_plan = org_plans[contact.external_id]
        organisation = org_plan.existing
        user = users.get(contact.email)
        if user is not None:
            if user.role != Role.partner:
                problems.add(
                    contact.line, "contact_email", _("This e-mail address belongs to a staff user.")
                )
                continue
            if organisation is None or user.organisation_id != organisation.id:
                problems.add(
                    contact.line,
                    "contact_email",
                    _("This e-mail address belongs to a contact of another organisation."),
                )
                continue
            contact.existing = user
            contact.changes = _contact_changes(contact, user)
            contact.action = "update" if contact.changes else "skip"
        else:
            status = org_plan.draft.values.get("status") or (
                organisation.status if organisation else OrganisationStatus.active
            )
            if status == OrganisationStatus.offboarded:
                problems.add(
                    contact.line,
                    "contact_email",
                    _("The organisation is offboarded; new contacts cannot be added."),
                )
                continue
        contact_plans.append(contact)
        changes.append(
            PlannedChange(
                object="contact",
                action=contact.action,
                key=contact.email,
                line=contact.line,
                fields=[_CONTACT_FIELD_COLUMNS[f] for f in contact.changes],
            )
        )

    notes = []
    if any(c.action == "create" for c in contact_plans):
        notes.append(
            _(
                "New contacts get no e-mail from the import: invite them from their "
                "organisation when you are ready."
            )
        )
    plan = ImportPlan(
        format="partners",
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows=len(table.rows),
        counts=build_counts("partners", changes),
        changes=changes,
        errors=problems.sorted(),
        ignored_columns=table.ignored_columns,
        notes=notes,
    )
    return _PartnerWork(plan=plan, organisations=list(org_plans.values()), contacts=contact_plans)


async def plan_partners(session: AsyncSession, content: bytes) -> ImportPlan:
    """What importing this partners file would do (a dry run: nothing is written)."""
    return (await _plan_partners(session, content)).plan


async def apply_partners(
    session: AsyncSession, content: bytes, *, principal: User | None
) -> ImportPlan:
    """Import a partners file in the caller's unit of work; ImportRejected if any row is bad."""
    actor = _require_staff(principal)
    work = await _plan_partners(session, content)
    if work.plan.errors:
        raise ImportRejected(work.plan)
    area_ids, _lower = await _area_codes(session)
    # New rows are written in bulk: one service call per row costs a few queries each, which
    # makes a 10,000-row file take minutes. The plan has checked every value by the services'
    # rules (names, kinds, language codes, areas, channels, e-mail addresses, uniqueness).
    # Changes to what exists go through the services.
    new = [p for p in work.organisations if p.action == "create"]
    for org_plan in new:
        values = org_plan.draft.values
        org_plan.organisation = Organisation(
            name=values["name"],
            kind=OrganisationKind(values["kind"]),
            status=values.get("status") or OrganisationStatus.active,
            description=values.get("description", ""),
            notes=values.get("notes", ""),
            external_id=org_plan.draft.key,
        )
    session.add_all(p.organisation for p in new if p.organisation is not None)
    await session.flush()
    reach: list[OrganisationLanguage | OrganisationArea | OrganisationChannel] = []
    for org_plan in new:
        values = org_plan.draft.values
        assert org_plan.organisation is not None
        organisation_id = org_plan.organisation.id
        assert organisation_id is not None
        reach.extend(
            OrganisationLanguage(organisation_id=organisation_id, language=code)
            for code in values.get("languages", ())
        )
        reach.extend(
            OrganisationArea(organisation_id=organisation_id, area_id=area_ids[code])
            for code in values.get("areas", ())
        )
        reach.extend(
            OrganisationChannel(
                organisation_id=organisation_id, channel=channel, audience_estimate=estimate
            )
            for channel, estimate in values.get("channels", {}).items()
        )
    session.add_all(reach)
    await session.flush()

    by_key: dict[str, Organisation] = {}
    for org_plan in work.organisations:
        if org_plan.organisation is not None:  # new
            by_key[org_plan.draft.key] = org_plan.organisation
            if org_plan.organisation.status == OrganisationStatus.offboarded:
                await partners.offboard_organisation(session, org_plan.organisation)
            continue
        assert org_plan.existing is not None
        by_key[org_plan.draft.key] = org_plan.existing
        if org_plan.action == "update":
            changes = dict(org_plan.changes)
            if "areas" in changes:
                changes["area_ids"] = changes.pop("areas")
            if "channels" in changes:
                changes["channels"] = list(changes["channels"].items())
            await partners.update_organisation(
                session, principal=actor, organisation=org_plan.existing, changes=changes
            )

    session.add_all(
        User(
            email=contact.email,
            name=contact.values.get("contact_name", ""),
            role=Role.partner,
            organisation_id=by_key[contact.external_id].id,
            language=contact.values.get("contact_language") or "da",
            phone=contact.values.get("contact_phone"),
            notify_by=contact.values.get("contact_notify") or NotifyBy.email,
            org_role=contact.values.get("contact_role") or OrgRole.member,
        )
        for contact in work.contacts
        if contact.action == "create"
    )
    await session.flush()
    for contact in work.contacts:
        if contact.action == "update":
            assert contact.existing is not None
            await partners.update_contact(
                session, principal=actor, contact=contact.existing, changes=contact.changes
            )
    return await _committed(session, work.plan, AuditAction.import_partners)


# --- areas -----------------------------------------------------------------------------------


@dataclass
class _UptakeDraft:
    code: str
    measured_on: date
    age_band: str
    share_percent: float
    line: int
    action: str = "create"

    @property
    def key(self) -> str:
        return " ".join(p for p in (self.code, self.measured_on.isoformat(), self.age_band) if p)


@dataclass
class _AreaPlan:
    draft: _Draft
    existing: Area | None = None
    action: str = "create"
    changes: dict[str, Any] = field(default_factory=dict)
    depth: int = 0


@dataclass
class _AreaWork:
    plan: ImportPlan
    areas: list[_AreaPlan] = field(default_factory=list)
    uptake: list[_UptakeDraft] = field(default_factory=list)


def _area_cells(
    row: Row, columns: Sequence[str], problems: _Problems
) -> tuple[dict[str, tuple[Any, str]], bool]:
    parsed: dict[str, tuple[Any, str]] = {}
    ok = True
    for column in AREA_FIELDS:
        if column not in columns:
            continue
        text = _text(row, column, problems)
        if text is None:
            ok = False
            continue
        if not text:
            continue
        try:
            value: Any = text
            if column == "kind":
                value = choose(text, words.AREA_KINDS)
            elif column == "population":
                value = _count(text)
        except BadValue as exc:
            problems.add(row.line, column, str(exc))
            ok = False
            continue
        parsed[column] = (value, text)
    return parsed, ok


def _uptake_cells(row: Row, code: str, problems: _Problems) -> _UptakeDraft | None:
    date_text, percent_text = row.get("uptake_date"), row.get("uptake_percent")
    band = _text(row, "age_band", problems)
    if not date_text and not percent_text:
        if band:
            problems.add(row.line, "age_band", _("Give both the date and the uptake."))
        return None
    measured_on: date | None = None
    share: float | None = None
    ok = band is not None
    try:
        measured_on = parse_date(date_text)
    except BadValue as exc:
        problems.add(row.line, "uptake_date", str(exc))
        ok = False
    try:
        share = parse_decimal(percent_text, percent=True)
        if share is not None and not 0 <= share <= 100:
            problems.add(row.line, "uptake_percent", _("Uptake is a share between 0 and 100 %."))
            ok = False
    except BadValue as exc:
        problems.add(row.line, "uptake_percent", str(exc))
        ok = False
    if ok and (measured_on is None or share is None):
        missing = "uptake_date" if measured_on is None else "uptake_percent"
        problems.add(row.line, missing, _("Give both the date and the uptake."))
        ok = False
    if not ok or measured_on is None or share is None or band is None:
        return None
    if word_key(band) in words.ALL_AGES_WORDS:
        band = areas_service.ALL_AGES
    return _UptakeDraft(
        code=code, measured_on=measured_on, age_band=band, share_percent=share, line=row.line
    )


async def _plan_areas(session: AsyncSession, content: bytes) -> _AreaWork:
    try:
        table = read_table(content, columns=AREA_COLUMNS, required=AREA_REQUIRED)
    except FileRejected as exc:
        return _AreaWork(plan=_rejected_plan("areas", exc))
    problems = _Problems(AREA_COLUMNS)
    drafts: dict[str, _Draft] = {}
    points: dict[tuple[str, date, str], _UptakeDraft] = {}

    for row in table.rows:
        if row.overflow:
            problems.add(
                row.line,
                "",
                _(
                    "The row has more values than the header has columns (a delimiter inside a "
                    "value without quotes?)."
                ),
            )
        code = _text(row, "code", problems)
        cells, cells_ok = _area_cells(row, table.columns, problems)
        point = _uptake_cells(row, code or "", problems)
        if code == "":
            problems.add(row.line, "code", _("Give the area a code."))
        if not code:
            continue
        draft = drafts.get(code)
        if draft is None:
            draft = drafts[code] = _Draft(key=code, line=row.line)
        draft.bad = draft.bad or not cells_ok
        draft.note_filled(row, AREA_FIELDS)
        for column, (value, shown) in cells.items():
            draft.merge(row.line, column, value, shown, problems)
        if point is not None:
            key = (code, point.measured_on, point.age_band)
            earlier = points.get(key)
            if earlier is None:
                points[key] = point
            elif abs(earlier.share_percent - point.share_percent) > 1e-9:
                problems.add(
                    row.line,
                    "uptake_percent",
                    _("Line %(line)d gives another uptake for the same area, date and age band.")
                    % {"line": earlier.line},
                )

    existing = {a.code: a for a in await areas_service.all_areas(session)}
    code_of = {a.id: a.code for a in existing.values()}
    # Where every area will sit once the file is imported: the file's parent where it gives
    # one (or the column is there and empty: top level), the hub's otherwise.
    parent_of: dict[str, str | None] = {
        a.code: code_of.get(a.parent_id) if a.parent_id else None for a in existing.values()
    }
    area_plans: dict[str, _AreaPlan] = {}
    for code, draft in drafts.items():
        area_plan = area_plans[code] = _AreaPlan(draft=draft, existing=existing.get(code))
        if area_plan.existing is None and "name" not in draft.filled:
            problems.add(draft.line, "name", _("Give the area a name."))
            draft.bad = True
        if area_plan.existing is None and "kind" not in draft.filled:
            problems.add(draft.line, "kind", _("Choose the kind of area."))
            draft.bad = True
        if "parent_code" in table.columns or area_plan.existing is None:
            parent = draft.values.get("parent_code")
            if parent is not None and parent not in drafts and parent not in existing:
                problems.add(
                    draft.lines["parent_code"],
                    "parent_code",
                    _("The parent area %(code)s does not exist.") % {"code": parent},
                )
                draft.bad = True
                parent = None
            parent_of[code] = parent
    for code, area_plan in area_plans.items():
        seen = [code]
        current = parent_of.get(code)
        while current is not None and current not in seen:
            seen.append(current)
            current = parent_of.get(current)
        if current == code:  # came back round: the area would lie inside itself
            draft = area_plan.draft
            problems.add(
                draft.lines.get("parent_code", draft.line),
                "parent_code",
                _("An area cannot lie inside itself."),
            )
            draft.bad = True
        area_plan.depth = len(seen)

    changes: list[PlannedChange] = []
    for code, area_plan in area_plans.items():
        draft = area_plan.draft
        if draft.bad:
            continue
        area = area_plan.existing
        if area is not None:
            values = draft.values
            if values.get("name") is not None and values["name"] != area.name:
                area_plan.changes["name"] = values["name"]
            if values.get("kind") is not None and values["kind"] != area.kind:
                area_plan.changes["kind"] = values["kind"]
            if "parent_code" in table.columns and parent_of[code] != parent_of_existing(
                area, code_of
            ):
                area_plan.changes["parent_code"] = parent_of[code]
            if "population" in table.columns and values.get("population") != area.population:
                area_plan.changes["population"] = values.get("population")
            area_plan.action = "update" if area_plan.changes else "skip"
        changes.append(
            PlannedChange(
                object="area",
                action=area_plan.action,
                key=code,
                line=draft.line,
                fields=list(area_plan.changes),
            )
        )

    known: dict[tuple[int, date, str], float] = {}
    ids = [a.id for code, a in existing.items() if code in drafts and a.id is not None]
    for chunk in _chunks(ids):
        rows = await session.exec(select(AreaUptake).where(col(AreaUptake.area_id).in_(chunk)))
        known.update({(u.area_id, u.measured_on, u.age_band): u.share_percent for u in rows.all()})
    uptake = sorted(points.values(), key=lambda p: p.line)
    for point in uptake:
        area = existing.get(point.code)
        old = known.get((area.id, point.measured_on, point.age_band)) if area and area.id else None
        if old is not None:
            point.action = "skip" if abs(old - point.share_percent) < 1e-9 else "update"
        changes.append(
            PlannedChange(
                object="uptake",
                action=point.action,
                key=point.key,
                line=point.line,
                fields=["uptake_percent"] if point.action == "update" else [],
            )
        )

    plan = ImportPlan(
        format="areas",
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows=len(table.rows),
        counts=build_counts("areas", changes),
        changes=changes,
        errors=problems.sorted(),
        ignored_columns=table.ignored_columns,
    )
    ordered = sorted(area_plans.values(), key=lambda p: p.depth)
    return _AreaWork(plan=plan, areas=ordered, uptake=uptake)


def parent_of_existing(area: Area, code_of: dict[int | None, str]) -> str | None:
    return code_of.get(area.parent_id) if area.parent_id else None


async def plan_areas(session: AsyncSession, content: bytes) -> ImportPlan:
    """What importing this areas file would do (a dry run: nothing is written)."""
    return (await _plan_areas(session, content)).plan


async def apply_areas(
    session: AsyncSession, content: bytes, *, principal: User | None
) -> ImportPlan:
    """Import an areas file in the caller's unit of work; ImportRejected if any row is bad."""
    _require_staff(principal)
    work = await _plan_areas(session, content)
    if work.plan.errors:
        raise ImportRejected(work.plan)
    by_code = {a.code: a for a in await areas_service.all_areas(session)}
    # Level by level from the top, so every parent exists before its children, and no state
    # in between has a loop. New rows are written in bulk (see apply_partners); the plan has
    # checked codes, names, kinds, parents and populations by the services' rules.
    for depth in sorted({p.depth for p in work.areas}):
        level = [p for p in work.areas if p.depth == depth]
        new: list[Area] = []
        for area_plan in level:
            values = area_plan.draft.values
            if area_plan.action == "create":
                parent = values.get("parent_code")
                area = Area(
                    code=area_plan.draft.key,
                    name=values["name"],
                    kind=AreaKind(values["kind"]),
                    parent_id=by_code[parent].id if parent else None,
                    population=values.get("population"),
                )
                by_code[area.code] = area
                new.append(area)
        session.add_all(new)
        await session.flush()
        for area_plan in level:
            if area_plan.action == "update":
                assert area_plan.existing is not None
                changes = dict(area_plan.changes)
                if "parent_code" in changes:
                    code = changes.pop("parent_code")
                    changes["parent_id"] = by_code[code].id if code else None
                await areas_service.update_area(session, area_plan.existing, changes)
    session.add_all(
        AreaUptake(
            area_id=by_code[point.code].id,  # type: ignore[arg-type]
            measured_on=point.measured_on,
            share_percent=point.share_percent,
            age_band=point.age_band,
        )
        for point in work.uptake
        if point.action == "create"
    )
    await session.flush()
    for point in work.uptake:
        if point.action == "update":
            await areas_service.record_uptake(
                session,
                by_code[point.code],
                measured_on=point.measured_on,
                share_percent=point.share_percent,
                age_band=point.age_band,
            )
    return await _committed(session, work.plan, AuditAction.import_areas)


async def _committed(session: AsyncSession, plan: ImportPlan, action: AuditAction) -> ImportPlan:
    """The plan, carried out: noted in the audit log with what it did."""
    done = ", ".join(
        f"{obj}: {counts.create} new, {counts.update} changed"
        for obj, counts in sorted(plan.counts.items())
    )
    await audit.record(session, action, target_type="import", target_id=None, summary=done)
    return plan.model_copy(update={"committed": True})
