"""JSON routes for audiences: resolve a spec, save named ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from hub.audiences import service
from hub.audiences.service import AudienceSpec
from hub.auth.dependencies import ApiStaffDep
from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import Audience
from hub.schemas import ApiInput, IdPath, problems

router = APIRouter(prefix="/api/v1/audiences", tags=["audiences"])


class PartnerRef(BaseModel):
    id: int
    name: str
    kind: str


class ContactRef(BaseModel):
    id: int
    organisation_id: int
    name: str
    language: str
    notify_by: str


class AudienceResolved(BaseModel):
    partners: list[PartnerRef]
    contacts: list[ContactRef]
    partner_count: int
    contact_count: int
    by_kind: dict[str, int]
    by_area: dict[int, int]
    by_language: dict[str, int]
    uncovered_languages: list[str] = Field(
        description="Languages asked for that no partner in the audience serves"
    )


class AudienceWrite(ApiInput):
    name: str = Field(min_length=1, max_length=200)
    spec: AudienceSpec


class AudienceRead(BaseModel):
    id: int
    name: str
    spec: AudienceSpec


def _read(audience: Audience) -> AudienceRead:
    return AudienceRead(
        id=audience.id,
        name=audience.name,  # type: ignore[arg-type]
        spec=service.spec_of(audience),
    )


async def audience_or_404(
    audience_id: IdPath, _staff: ApiStaffDep, session: SessionDep
) -> Audience:
    audience = await session.get(Audience, audience_id)
    if audience is None:
        raise NotFound(_("No such audience."))
    return audience


AudienceDep = Annotated[Audience, Depends(audience_or_404)]
# Digits only, so that /audiences/resolve is never taken for an audience's id: a GET of it
# answers 405 (it takes POST), not 422 for an id that is not a number.
AUDIENCE = "/{audience_id:int}"


async def _resolved(session: SessionDep, spec: AudienceSpec) -> AudienceResolved:
    result = await service.resolve(session, spec)
    return AudienceResolved(
        partners=[
            PartnerRef(id=o.id, name=o.name, kind=o.kind)  # type: ignore[arg-type]
            for o in result.organisations
        ],
        contacts=[
            ContactRef(
                id=c.id,
                organisation_id=c.organisation_id,
                name=c.name,  # type: ignore[arg-type]
                language=c.language,
                notify_by=c.notify_by,
            )
            for c in result.contacts
        ],
        partner_count=len(result.organisations),
        contact_count=len(result.contacts),
        by_kind=result.by_kind,
        by_area=result.by_area,
        by_language=result.by_language,
        uncovered_languages=result.uncovered_languages,
    )


@router.post("/resolve", response_model=AudienceResolved)
async def resolve_audience(
    spec: AudienceSpec, _staff: ApiStaffDep, session: SessionDep
) -> AudienceResolved:
    """The partners and contact persons a spec addresses, with counts."""
    return await _resolved(session, spec)


@router.get("", response_model=list[AudienceRead])
async def list_audiences(_staff: ApiStaffDep, session: SessionDep) -> list[AudienceRead]:
    return [_read(a) for a in await service.list_audiences(session)]


@router.post(
    "", response_model=AudienceRead, status_code=status.HTTP_201_CREATED, responses=problems(409)
)
async def create_audience(
    body: AudienceWrite, staff: ApiStaffDep, session: SessionDep
) -> AudienceRead:
    return _read(
        await service.save_audience(session, name=body.name, spec=body.spec, created_by=staff)
    )


@router.get(AUDIENCE, response_model=AudienceRead, responses=problems(404))
async def read_audience(audience: AudienceDep) -> AudienceRead:
    return _read(audience)


@router.get("/{audience_id}/resolve", response_model=AudienceResolved, responses=problems(404))
async def resolve_saved_audience(audience: AudienceDep, session: SessionDep) -> AudienceResolved:
    """Who a saved audience addresses today (the registry may have changed since)."""
    return await _resolved(session, service.spec_of(audience))


@router.put(AUDIENCE, response_model=AudienceRead, responses=problems(404, 409))
async def replace_audience(
    body: AudienceWrite, audience: AudienceDep, staff: ApiStaffDep, session: SessionDep
) -> AudienceRead:
    return _read(
        await service.save_audience(
            session, name=body.name, spec=body.spec, created_by=staff, audience=audience
        )
    )


@router.delete(AUDIENCE, status_code=status.HTTP_204_NO_CONTENT, responses=problems(404, 409))
async def delete_audience(audience: AudienceDep, session: SessionDep) -> None:
    await service.delete_audience(session, audience)
