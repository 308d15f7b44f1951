"""Alembic environment: async engine, the hub's models as the target schema."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import hub.models  # noqa: F401 - registers every table on SQLModel.metadata
from hub.config import Settings
from hub.db import create_engine

config = context.config
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or Settings().resolved_database_url


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
        literal_binds=url is not None,
    )


def run_migrations_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


# Several web processes may start at once and each migrates: on PostgreSQL they take turns.
MIGRATION_LOCK_ID = 7_348_201_455


async def run_migrations_online() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
            await connection.commit()
        try:
            await connection.run_sync(_run_sync)
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))
                await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
