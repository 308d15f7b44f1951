"""Loader: an area by id, or 404 (every signed-in user may read areas)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.dependencies import SessionDep
from hub.errors import NotFound
from hub.i18n import _
from hub.models import Area
from hub.schemas import IdPath


async def area_or_404(area_id: IdPath, session: SessionDep) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound(_("No such area."))
    return area


AreaDep = Annotated[Area, Depends(area_or_404)]
