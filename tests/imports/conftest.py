"""Fixtures for the import tests: English messages, the sample files, an app with the routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub import i18n
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.imports import service
from hub.imports.schemas import ImportPlan
from hub.models import User

DATA = Path(__file__).resolve().parent.parent / "data"
# The tables an import writes (and must leave alone when it refuses a file).
IMPORT_TABLES = (
    "area",
    "area_uptake",
    "organisation",
    "organisation_language",
    "organisation_area",
    "organisation_channel",
    "user",
    "one_time_token",
)


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages in English whatever the Danish catalog holds (the default language is da)."""
    with i18n.use_language("en"):
        yield


@pytest.fixture
async def hub_db(db: Database, settings: Settings) -> Database:
    """The database, emptied after the test (``settings`` marks the test as one that writes)."""
    return db


async def plan(db: Database, fmt: str, content: bytes) -> ImportPlan:
    async with unit_of_work(db, None) as session:
        result: ImportPlan = await getattr(service, f"plan_{fmt}")(session, content)
        return result


async def apply(
    db: Database, fmt: str, content: bytes, principal: User | None = None
) -> ImportPlan:
    async with unit_of_work(db, None) as session:
        result: ImportPlan = await getattr(service, f"apply_{fmt}")(
            session, content, principal=principal
        )
        return result


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, to compare before and after."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as connection:
        for name in IMPORT_TABLES:
            # The names are this module's constants, not input.
            result = await connection.execute(sa.text(f'SELECT * FROM "{name}"'))  # noqa: S608
            rows[name] = sorted((tuple(r) for r in result.all()), key=repr)
    return rows


def counts(result: ImportPlan) -> dict[str, tuple[int, int, int]]:
    """(create, update, skip) per object type."""
    return {obj: (c.create, c.update, c.skip) for obj, c in result.counts.items()}


def error_cells(result: ImportPlan) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in result.errors]
