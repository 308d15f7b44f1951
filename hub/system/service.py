"""Liveness and readiness checks, and the dashboard's figures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas import service as areas
from hub.materials.storage import storage_for
from hub.models import Area, Organisation, OrganisationArea, OrganisationStatus, Role, User
from hub.state import HubState

LOW_UPTAKE_PERCENT = 70.0

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def worker_health_key(queue_name: str) -> str:
    # arq's worker refreshes this key (with an expiry) while it runs.
    return f"{queue_name}:health-check"


async def _database(state: HubState) -> Check:
    async with state.db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return Check("database", True, state.db.engine.dialect.name)


async def _redis(state: HubState) -> Check:
    await state.redis.ping()
    return Check("redis", True, "ping")


async def _worker(state: HubState) -> Check:
    beat = await state.redis.get(worker_health_key(state.settings.queue_name))
    if beat is None:
        return Check("worker", False, "no heartbeat from any worker")
    return Check("worker", True, beat.decode(errors="replace") if isinstance(beat, bytes) else beat)


async def _media(state: HubState) -> Check:
    storage = storage_for(state.settings)
    return Check("media", True, await asyncio.to_thread(storage.check))


async def readiness(state: HubState) -> list[Check]:
    """Database, Redis, the media store and a worker heartbeat, each reported on its own."""
    checks = []
    probes = (("database", _database), ("redis", _redis), ("media", _media), ("worker", _worker))
    for name, probe in probes:
        try:
            checks.append(await asyncio.wait_for(probe(state), CHECK_TIMEOUT_SECONDS))
        except Exception as exc:  # a readiness probe reports every failure, it never raises
            checks.append(Check(name, False, f"{type(exc).__name__}: {exc}"[:300]))
    return checks


@dataclass(frozen=True)
class RegistryOverview:
    partners_by_status: dict[str, int]
    contacts: int
    areas: int
    low_uptake_areas: int
    low_uptake_unserved: int


async def registry_overview(session: AsyncSession) -> RegistryOverview:
    """What the officer's dashboard shows: the registry's size and where uptake is low."""
    by_status = dict(
        (
            await session.exec(
                select(Organisation.status, func.count()).group_by(col(Organisation.status))
            )
        ).all()
    )
    contacts = (
        await session.exec(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.partner, col(User.is_active).is_(True))
        )
    ).one()
    area_count = (await session.exec(select(func.count()).select_from(Area))).one()
    low = await areas.areas_below(session, LOW_UPTAKE_PERCENT)
    served = set(
        (
            await session.exec(
                select(OrganisationArea.area_id)
                .join(Organisation, col(Organisation.id) == col(OrganisationArea.organisation_id))
                .where(Organisation.status == OrganisationStatus.active)
            )
        ).all()
    )
    return RegistryOverview(
        partners_by_status={str(k): int(v) for k, v in by_status.items()},
        contacts=int(contacts),
        areas=int(area_count),
        low_uptake_areas=len(low),
        low_uptake_unserved=len(low - served),
    )
