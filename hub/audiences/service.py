"""Audiences: which partners (and contacts) a campaign addresses, from a spec.

A spec combines partner kinds, areas (a parent includes its children), languages, "areas whose
latest uptake is below X %", explicit includes and excludes, and "only active". Filters narrow
(AND); inside a filter the values widen (OR); includes are added after filtering and excludes
removed last.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import Field, field_validator
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas import service as areas
from hub.errors import Conflict, FieldError, InvalidInput
from hub.i18n import _
from hub.languages import normalise_languages
from hub.models import (
    Area,
    Audience,
    Campaign,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    User,
    utcnow,
)
from hub.partners import service as partners
from hub.schemas import ApiInput, DbId
from hub.text import clean, search_text


class AudienceSpec(ApiInput):
    kinds: list[OrganisationKind] = Field(default_factory=list, max_length=10)
    area_ids: list[DbId] = Field(
        default_factory=list, max_length=500, description="Areas; each includes the areas below it"
    )
    languages: list[str] = Field(default_factory=list, max_length=50)
    uptake_below: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Only partners serving areas whose latest uptake is below this percent",
    )
    include_ids: list[DbId] = Field(default_factory=list, max_length=1000)
    exclude_ids: list[DbId] = Field(default_factory=list, max_length=1000)
    only_active: bool = True

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        valid, bad = normalise_languages(value)
        if bad:
            raise ValueError(f"not language codes: {', '.join(bad)}")
        return valid


@dataclass
class AudienceResult:
    organisations: list[Organisation]
    contacts: list[User]
    by_kind: dict[str, int] = field(default_factory=dict)
    by_area: dict[int, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    uncovered_languages: list[str] = field(default_factory=list)
    target_area_ids: list[DbId] = field(default_factory=list)


async def _target_areas(session: AsyncSession, spec: AudienceSpec) -> set[int] | None:
    """The areas the spec aims at, or None when it does not filter by area."""
    targets: set[int] | None = None
    if spec.area_ids:
        known = set(
            (await session.exec(select(Area.id).where(col(Area.id).in_(spec.area_ids)))).all()
        )
        missing = [a for a in spec.area_ids if a not in known]
        if missing:
            message = _("Unknown areas: %(ids)s") % {"ids": ", ".join(map(str, missing))}
            raise InvalidInput(message, errors=[FieldError("area_ids", message)])
        targets = await areas.expand_areas(session, set(spec.area_ids))  # type: ignore[arg-type]
    if spec.uptake_below is not None:
        # Children inherit a parent's figure only when they have none of their own.
        low = await areas.areas_below(session, spec.uptake_below)
        targets = low if targets is None else targets & low
    return targets


async def resolve(session: AsyncSession, spec: AudienceSpec) -> AudienceResult:
    """The partners and contacts a spec addresses, with counts and languages not covered."""
    from hub.models import OrganisationArea, OrganisationLanguage

    query = select(Organisation).where(Organisation.status != OrganisationStatus.offboarded)
    if spec.only_active:
        query = query.where(Organisation.status == OrganisationStatus.active)
    if spec.kinds:
        query = query.where(col(Organisation.kind).in_(spec.kinds))
    targets = await _target_areas(session, spec)
    if targets is not None:
        query = query.where(
            col(Organisation.id).in_(
                select(OrganisationArea.organisation_id).where(
                    col(OrganisationArea.area_id).in_(targets or {-1})
                )
            )
        )
    if spec.languages:
        query = query.where(
            col(Organisation.id).in_(
                select(OrganisationLanguage.organisation_id).where(
                    col(OrganisationLanguage.language).in_(spec.languages)
                )
            )
        )
    chosen = {o.id: o for o in (await session.exec(query)).all()}
    if spec.include_ids:
        included = await session.exec(
            select(Organisation).where(
                col(Organisation.id).in_(spec.include_ids),
                Organisation.status != OrganisationStatus.offboarded,
            )
        )
        chosen.update({o.id: o for o in included.all()})
    for excluded in spec.exclude_ids:
        chosen.pop(excluded, None)
    organisations = sorted(chosen.values(), key=lambda o: (o.name.lower(), o.id))
    views = await partners.load_views(session, organisations)
    contacts = list(
        (
            await session.exec(
                select(User)
                .where(
                    col(User.organisation_id).in_(list(chosen) or [-1]),
                    User.role == Role.partner,
                    col(User.is_active).is_(True),
                    col(User.erased_at).is_(None),
                )
                .order_by(col(User.organisation_id), col(User.id))
            )
        ).all()
    )

    by_kind = Counter(str(o.kind) for o in organisations)
    by_area: Counter[int] = Counter()
    by_language: Counter[str] = Counter()
    for view in views:
        for area_id in view.area_ids:
            if targets is None or area_id in targets:
                by_area[area_id] += 1
        for language in view.languages:
            by_language[language] += 1
    uncovered = [lang for lang in spec.languages if by_language[lang] == 0]
    return AudienceResult(
        organisations=organisations,
        contacts=contacts,
        by_kind=dict(sorted(by_kind.items())),
        by_area=dict(sorted(by_area.items())),
        by_language=dict(sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0]))),
        uncovered_languages=uncovered,
        target_area_ids=sorted(targets) if targets is not None else [],
    )


# --- saved audiences -------------------------------------------------------------------------


async def list_audiences(session: AsyncSession) -> list[Audience]:
    return list(
        (await session.exec(select(Audience).order_by(func.lower(col(Audience.name))))).all()
    )


async def find_audiences(
    session: AsyncSession, *, search: str = "", limit: int = 25, offset: int = 0
) -> tuple[list[Audience], int]:
    """One page of the saved audiences by name, those whose name holds ``search``."""
    query = select(Audience)
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        query = query.where(func.lower(col(Audience.name)).like(pattern))
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(
        query.order_by(func.lower(col(Audience.name)), col(Audience.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total)


async def save_audience(
    session: AsyncSession,
    *,
    name: str,
    spec: AudienceSpec,
    created_by: User,
    audience: Audience | None = None,
) -> Audience:
    """Create (or, given ``audience``, replace) a named audience."""
    name = clean(name, field="name", max_length=200)
    if not name:
        raise InvalidInput(
            _("Give the audience a name."),
            errors=[FieldError("name", _("Give the audience a name."))],
        )
    clash = (await session.exec(select(Audience).where(Audience.name == name))).first()
    if clash is not None and (audience is None or clash.id != audience.id):
        message = _("An audience with this name exists already.")
        raise Conflict(message, errors=[FieldError("name", message)])
    await _target_areas(session, spec)  # unknown areas are refused when saved, too
    if audience is None:
        audience = Audience(
            name=name, spec=spec.model_dump(mode="json"), created_by_id=created_by.id
        )
    else:
        audience.name = name
        audience.spec = spec.model_dump(mode="json")
        audience.updated_at = utcnow()
    session.add(audience)
    await session.flush()
    return audience


async def delete_audience(session: AsyncSession, audience: Audience) -> None:
    """Delete a saved audience that no campaign addresses."""
    used = (
        await session.exec(
            select(func.count()).select_from(Campaign).where(Campaign.audience_id == audience.id)
        )
    ).one()
    if used:
        raise Conflict(_("Campaigns address this audience. Change their audience first."))
    await session.delete(audience)
    await session.flush()


def spec_of(audience: Audience) -> AudienceSpec:
    return AudienceSpec.model_validate(audience.spec)
