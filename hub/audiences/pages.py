"""The audience builder: pick partners by kind, area, language and uptake, see who that reaches
right away, and keep the audience under a name.

The builder is a GET form, so it works without JavaScript and its address can be shared or
bookmarked; static/js/audience.js only refreshes the result in place while the officer picks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from hub.areas.pages import area_choices, percent
from hub.areas.service import all_areas
from hub.audiences import service
from hub.audiences.service import AudienceResult, AudienceSpec
from hub.auth.csrf import require_csrf
from hub.auth.dependencies import StaffPageDep
from hub.db import rollback
from hub.dependencies import SessionDep
from hub.errors import HubError, NotFound
from hub.forms import field_errors, parse_id, see_other
from hub.i18n import _, current_language, ngettext
from hub.languages import COMMON_LANGUAGES, display_name, normalise_languages
from hub.models import Area, Audience, OrganisationKind, OrganisationStatus
from hub.partners import service as partners
from hub.schemas import MAX_DB_ID as MAX_ID
from hub.schemas import IdPath
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(require_csrf)
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]
# Enough for any real audience; longer lists are refused before they reach the service.
MAX_KINDS = 20
MAX_AREAS = 500
MAX_LANGUAGES = 60
MAX_NAME = 200
PARTNERS_SHOWN = 200
PAGE_SIZE = 25  # saved audiences on one page
_CODE_SEPARATORS = re.compile(r"[\s,;/]+")
_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)?$")


def partner_kind_labels() -> dict[str, str]:
    return {
        OrganisationKind.association: _("Association"),
        OrganisationKind.faith_community: _("Faith community"),
        OrganisationKind.housing_organisation: _("Housing organisation"),
        OrganisationKind.civil_society: _("Civil-society organisation"),
        OrganisationKind.resource_person: _("Resource person"),
        OrganisationKind.public_institution: _("Public institution"),
        OrganisationKind.other: _("Other"),
    }


def partner_status_labels() -> dict[str, str]:
    return {
        OrganisationStatus.invited: _("Invited"),
        OrganisationStatus.active: _("Active"),
        OrganisationStatus.paused: _("Paused"),
        OrganisationStatus.offboarded: _("Offboarded"),
    }


def language_label(code: str) -> str:
    """The language's name in the UI language, capitalised as a list entry ("Somali")."""
    name = display_name(code, current_language())
    return name[:1].upper() + name[1:]


# --- the builder form ------------------------------------------------------------------------


@dataclass
class BuilderForm:
    """What the officer picked, as typed (so a page with errors shows it unchanged)."""

    kinds: list[str] = field(default_factory=list)
    area_ids: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    other_languages: str = ""
    uptake_below: str = ""
    only_active: bool = True
    # Partners added or left out by hand (e.g. through the API); the form carries them along.
    include_ids: list[str] = field(default_factory=list)
    exclude_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, spec: AudienceSpec) -> BuilderForm:
        common = [code for code in spec.languages if code in COMMON_LANGUAGES]
        return cls(
            kinds=[str(k) for k in spec.kinds],
            area_ids=[str(a) for a in spec.area_ids],
            languages=common,
            other_languages=", ".join(c for c in spec.languages if c not in common),
            uptake_below=_plain_number(spec.uptake_below),
            only_active=spec.only_active,
            include_ids=[str(i) for i in spec.include_ids],
            exclude_ids=[str(i) for i in spec.exclude_ids],
        )


def _ids(values: list[str]) -> list[int] | None:
    found: list[int] = []
    for value in values:
        number = parse_id(value)
        if number is None:
            return None
        if number not in found:
            found.append(number)
    return found


def _plain_number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}".replace(".", "," if current_language() == "da" else ".")


def parse_builder(form: BuilderForm) -> tuple[AudienceSpec | None, dict[str, str]]:
    """The spec the form describes, or the errors to show beside its fields."""
    errors: dict[str, str] = {}
    kinds: list[OrganisationKind] = []
    for value in form.kinds:
        try:
            kind = OrganisationKind(value)
        except ValueError:
            errors["kinds"] = _("Choose kinds of partner from the list.")
            continue
        if kind not in kinds:
            kinds.append(kind)
    area_ids = _ids(form.area_ids)
    if area_ids is None:
        errors["area_ids"] = _("Choose areas from the list.")
    include_ids, exclude_ids = _ids(form.include_ids), _ids(form.exclude_ids)
    if include_ids is None or exclude_ids is None:
        errors["__all__"] = _("The partners added or left out by hand are not valid.")
    checked, bad_checked = normalise_languages(form.languages)
    if bad_checked:
        errors["languages"] = _("Choose languages from the list.")
    typed, bad_typed = normalise_languages(_CODE_SEPARATORS.split(form.other_languages))
    if bad_typed:
        errors["other_languages"] = ngettext(
            "%(codes)s is not a language code. Use two-letter codes such as so, ar or ti.",
            "%(codes)s are not language codes. Use two-letter codes such as so, ar or ti.",
            len(bad_typed),
        ) % {"codes": ", ".join(bad_typed)}
    languages = checked + [code for code in typed if code not in checked]
    uptake_below: float | None = None
    text = form.uptake_below.strip().removesuffix("%").strip()
    if text:
        share = float(text.replace(",", ".")) if _DECIMAL.match(text) else -1.0
        if 0 < share <= 100:
            uptake_below = share
        else:
            errors["uptake_below"] = _("Enter a percentage above 0 and at most 100, e.g. 70.")
    if errors:
        return None, errors
    try:
        spec = AudienceSpec(
            kinds=kinds,
            area_ids=area_ids or [],
            languages=languages,
            uptake_below=uptake_below,
            only_active=form.only_active,
            include_ids=include_ids or [],
            exclude_ids=exclude_ids or [],
        )
    except ValidationError:  # only reachable with lists longer than any real audience
        return None, {"__all__": _("The audience has too many choices. Narrow it down.")}
    return spec, {}


def spec_query(spec: AudienceSpec) -> list[tuple[str, str]]:
    """The builder's query parameters for a spec (a shareable address, or hidden fields)."""
    pairs: list[tuple[str, str]] = [("built", "1")]
    pairs += [("kinds", str(k)) for k in spec.kinds]
    pairs += [("area_ids", str(a)) for a in spec.area_ids]
    pairs += [("languages", code) for code in spec.languages]
    if spec.uptake_below is not None:
        pairs.append(("uptake_below", f"{spec.uptake_below:g}"))
    if spec.only_active:
        pairs.append(("only_active", "1"))
    pairs += [("include_ids", str(i)) for i in spec.include_ids]
    pairs += [("exclude_ids", str(i)) for i in spec.exclude_ids]
    return pairs


def describe(spec: AudienceSpec, area_names: dict[int, str]) -> str:
    """A one-line summary of a spec in the UI language, for the list of saved audiences."""
    kinds = partner_kind_labels()
    parts = []
    if spec.kinds:
        parts.append(", ".join(kinds[k] for k in spec.kinds))
    if spec.area_ids:
        parts.append(", ".join(area_names.get(a, f"#{a}") for a in spec.area_ids))
    if spec.languages:
        parts.append(", ".join(language_label(code) for code in spec.languages))
    if spec.uptake_below is not None:
        parts.append(_("uptake below %(share)s") % {"share": percent(spec.uptake_below)})
    if not spec.only_active:
        parts.append(_("also partners who are not active"))
    if spec.include_ids or spec.exclude_ids:
        parts.append(_("with partners added or left out by hand"))
    return " · ".join(parts) if parts else _("Every active partner")


# --- the page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    label: str
    partners: int


@dataclass(frozen=True)
class PartnerRow:
    id: int
    name: str
    kind: str
    status: str
    languages: str
    contacts: int


@dataclass
class ResultView:
    partners: int
    contacts: int
    by_kind: list[Count]
    by_area: list[Count]
    by_language: list[Count]
    uncovered: list[str]
    rows: list[PartnerRow]
    query: str


async def _result_view(
    result: AudienceResult, spec: AudienceSpec, areas: dict[int, Area], session: SessionDep
) -> ResultView:
    kinds = partner_kind_labels()
    statuses = partner_status_labels()
    shown = result.organisations[:PARTNERS_SHOWN]
    views = {v.organisation.id: v for v in await partners.load_views(session, shown)}
    contacts = Counter(c.organisation_id for c in result.contacts)
    rows = [
        PartnerRow(
            id=o.id,  # type: ignore[arg-type]
            name=o.name,
            kind=kinds[o.kind],
            status=statuses[o.status],
            languages=", ".join(language_label(code) for code in views[o.id].languages),
            contacts=contacts[o.id],
        )
        for o in shown
    ]
    by_area = sorted(
        (Count(areas[a].name if a in areas else f"#{a}", n) for a, n in result.by_area.items()),
        key=lambda c: (-c.partners, c.label.lower()),
    )
    return ResultView(
        partners=len(result.organisations),
        contacts=len(result.contacts),
        by_kind=sorted(
            (Count(kinds[k], n) for k, n in result.by_kind.items()),
            key=lambda c: (-c.partners, c.label.lower()),
        ),
        by_area=by_area,
        by_language=[Count(language_label(code), n) for code, n in result.by_language.items()],
        uncovered=[language_label(code) for code in result.uncovered_languages],
        rows=rows,
        query=urlencode(spec_query(spec)),
    )


async def _builder_page(
    request: Request,
    session: SessionDep,
    form: BuilderForm,
    *,
    editing: Audience | None = None,
    save_name: str = "",
    save_errors: dict[str, str] | None = None,
    saved_search: str = "",
    saved_page: int = 1,
    status_code: int = 200,
) -> Response:
    spec, errors = parse_builder(form)
    areas = await all_areas(session)
    by_id: dict[int, Area] = {a.id: a for a in areas}  # type: ignore[misc]
    result: ResultView | None = None
    if spec is not None:
        try:
            resolved = await service.resolve(session, spec)
        except HubError as exc:  # an area deleted since the form was shown, for one
            await rollback(session)
            errors = field_errors(exc)
        else:
            result = await _result_view(resolved, spec, by_id, session)
    if errors and status_code == 200:
        status_code = 400
    names = {a.id: a.name for a in areas}
    saved, saved_total = await service.find_audiences(
        session, search=saved_search, limit=PAGE_SIZE, offset=(saved_page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "audiences/builder.html",
        {
            "form": form,
            "errors": errors,
            "result": result,
            "spec_fields": spec_query(spec) if spec is not None else [],
            "kind_labels": partner_kind_labels(),
            "area_choices": area_choices(areas),
            "languages": [(code, language_label(code)) for code in COMMON_LANGUAGES],
            "saved": [(a, describe(service.spec_of(a), names)) for a in saved],  # type: ignore[arg-type]
            "saved_total": saved_total,
            "saved_search": saved_search,
            "saved_page": saved_page,
            "saved_pages": max(1, -(-saved_total // PAGE_SIZE)),
            "saved_query": urlencode({"q": saved_search} if saved_search else {}),
            "editing": editing,
            "save_name": save_name or (editing.name if editing else ""),
            "save_errors": save_errors or {},
            "shown_limit": PARTNERS_SHOWN,
        },
        status_code=status_code,
    )


async def _saved_or_404(session: SessionDep, raw_id: str) -> Audience:
    found = parse_id(raw_id)
    audience = await session.get(Audience, found) if found is not None else None
    if audience is None:
        raise NotFound(_("No such audience."))
    return audience


@router.get("/audiences", name="audiences_page")
async def audiences_page(
    request: Request,
    _staff: StaffPageDep,
    session: SessionDep,
    kinds: Annotated[list[str], Query(max_length=MAX_KINDS)] = [],  # noqa: B006
    area_ids: Annotated[list[str], Query(max_length=MAX_AREAS)] = [],  # noqa: B006
    languages: Annotated[list[str], Query(max_length=MAX_LANGUAGES)] = [],  # noqa: B006
    other_languages: Annotated[str, Query(max_length=500)] = "",
    uptake_below: Annotated[str, Query(max_length=20)] = "",
    only_active: Annotated[str, Query(max_length=10)] = "",
    include_ids: Annotated[list[str], Query(max_length=1000)] = [],  # noqa: B006
    exclude_ids: Annotated[list[str], Query(max_length=1000)] = [],  # noqa: B006
    built: Annotated[str, Query(max_length=10)] = "",
    saved: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    editing = await _saved_or_404(session, saved) if saved else None
    if editing is not None and not built:
        form = BuilderForm.of(service.spec_of(editing))
    else:
        form = BuilderForm(
            kinds=kinds,
            area_ids=area_ids,
            languages=languages,
            other_languages=other_languages,
            uptake_below=uptake_below,
            # An unticked checkbox sends nothing: only a submitted form can turn this off.
            only_active=bool(only_active) or not built,
            include_ids=include_ids,
            exclude_ids=exclude_ids,
        )
    return await _builder_page(
        request, session, form, editing=editing, saved_search=q, saved_page=page
    )


@router.post("/audiences", name="save_audience_page", dependencies=[Csrf])
async def save_audience_page(
    request: Request,
    staff: StaffPageDep,
    session: SessionDep,
    name: FormStr = "",
    audience_id: FormStr = "",
    mode: FormStr = "new",
    kinds: FormList = [],  # noqa: B006
    area_ids: FormList = [],  # noqa: B006
    languages: FormList = [],  # noqa: B006
    uptake_below: FormStr = "",
    only_active: FormStr = "",
    include_ids: FormList = [],  # noqa: B006
    exclude_ids: FormList = [],  # noqa: B006
) -> Response:
    form = BuilderForm(
        kinds=kinds,
        area_ids=area_ids,
        languages=languages,
        uptake_below=uptake_below,
        only_active=bool(only_active),
        include_ids=include_ids,
        exclude_ids=exclude_ids,
    )
    editing = await _saved_or_404(session, audience_id) if audience_id else None
    spec, _errors = parse_builder(form)
    if spec is None:  # the hidden fields were tampered with: show the builder's own errors
        return await _builder_page(request, session, form, editing=editing, save_name=name)
    if len(name.strip()) > MAX_NAME:
        save_errors = {"name": _("Use at most %(num)d characters.") % {"num": MAX_NAME}}
        return await _builder_page(
            request,
            session,
            form,
            editing=editing,
            save_name=name,
            save_errors=save_errors,
            status_code=400,
        )
    try:
        audience = await service.save_audience(
            session,
            name=name,
            spec=spec,
            created_by=staff,
            audience=editing if mode == "update" else None,
        )
    except HubError as exc:
        await rollback(session)
        return await _builder_page(
            request,
            session,
            form,
            editing=editing,
            save_name=name,
            save_errors=field_errors(exc),
            status_code=400,
        )
    done = "audience-updated" if editing is not None and mode == "update" else "audience-saved"
    return see_other(f"/audiences?saved={audience.id}&done={done}")


# --- deleting --------------------------------------------------------------------------------


async def page_audience_or_404(
    audience_id: IdPath, _staff: StaffPageDep, session: SessionDep
) -> Audience:
    # An id no table can hold is not asked for: PostgreSQL would refuse the query itself.
    audience = await session.get(Audience, audience_id) if 0 < audience_id <= MAX_ID else None
    if audience is None:
        raise NotFound(_("No such audience."))
    return audience


PageAudienceDep = Annotated[Audience, Depends(page_audience_or_404)]


@router.get("/audiences/{audience_id}/delete", name="confirm_delete_audience")
async def confirm_delete_audience(request: Request, audience: PageAudienceDep) -> Response:
    return render(request, "audiences/confirm_delete.html", {"audience": audience})


@router.post("/audiences/{audience_id}/delete", name="delete_audience_page", dependencies=[Csrf])
async def delete_audience_page(audience: PageAudienceDep, session: SessionDep) -> Response:
    await service.delete_audience(session, audience)
    return see_other("/audiences?done=audience-deleted")
