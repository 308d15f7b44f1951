"""The data layer: UTC times, SQLite settings, concurrent writers, the unit of work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlmodel import func, select

from hub.db import Database, unit_of_work
from hub.models import ApiToken, Area, AreaKind, Organisation, OrganisationKind
from tests.factories import api_token, bearer, make_user


async def test_times_come_back_aware_and_in_utc(db: Database) -> None:
    copenhagen = timezone(timedelta(hours=1))
    local = datetime(2026, 11, 21, 12, 0, tzinfo=copenhagen)
    async with unit_of_work(db, None) as session:
        organisation = Organisation(name="Tid", kind=OrganisationKind.other, created_at=local)
        session.add(organisation)
        await session.flush()
        organisation_id = organisation.id
    async with db.session(write=False) as session:
        loaded = await session.get(Organisation, organisation_id)
    assert loaded is not None
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2026, 11, 21, 11, 0, tzinfo=UTC)


async def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with unit_of_work(db, None) as session:
            session.add(
                Organisation(
                    name="Naiv", kind=OrganisationKind.other, created_at=datetime(2026, 1, 1)
                )
            )
            await session.flush()


async def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    async with db.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000


async def test_foreign_keys_are_enforced(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        async with unit_of_work(db, None) as session:
            session.add(
                Area(code="orphan", name="Orphan", kind=AreaKind.district, parent_id=987654)
            )


async def test_concurrent_read_then_write_units_never_hit_a_lock(db: Database) -> None:
    """Each unit reads, waits, then writes: the pattern that makes deferred SQLite
    transactions fail with 'database is locked'. All of them must succeed."""
    async with unit_of_work(db, None) as session:
        session.add(Area(code="counter", name="Counter", kind=AreaKind.district, population=0))

    async def bump() -> None:
        async with unit_of_work(db, None) as session:
            area = (await session.exec(select(Area).where(Area.code == "counter"))).one()
            await asyncio.sleep(0.01)
            area.population = (area.population or 0) + 1
            session.add(area)

    if not db.is_sqlite:
        # PostgreSQL's READ COMMITTED would lose updates here; that is what row locks are
        # for, and services that count use them. What matters here is SQLite's locking.
        pytest.skip("SQLite locking behaviour")
    await asyncio.gather(*(bump() for _ in range(40)))
    async with db.session(write=False) as session:
        area = (await session.exec(select(Area).where(Area.code == "counter"))).one()
    # BEGIN IMMEDIATE serialises writers, so no update is lost either.
    assert area.population == 40


async def test_concurrent_write_requests_all_succeed(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    raw = await api_token(client, db, user)

    async def create(i: int) -> int:
        response = await client.post("/api/v1/tokens", json={"name": f"t{i}"}, headers=bearer(raw))
        return response.status_code

    statuses = await asyncio.gather(*(create(i) for i in range(60)))
    assert statuses == [201] * 60
    async with db.session(write=False) as session:
        count = (await session.exec(select(func.count()).select_from(ApiToken))).one()
    assert count == 61


async def test_unit_of_work_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    async with unit_of_work(db, None) as session:
        session.add(Organisation(name="Committed", kind=OrganisationKind.other))
    with pytest.raises(ValueError):
        async with unit_of_work(db, None) as session:
            session.add(Organisation(name="Rolled back", kind=OrganisationKind.other))
            await session.flush()
            raise ValueError("stop")
    async with db.session(write=False) as session:
        names = [o.name for o in (await session.exec(select(Organisation))).all()]
    assert names == ["Committed"]
