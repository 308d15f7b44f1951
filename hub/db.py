"""The async engine and the unit of work (one session per request or job).

SQLite needs care to stay free of "database is locked" under concurrent writers: in WAL mode a
deferred transaction that reads first and writes later cannot wait for the write lock (SQLite
gives up at once instead of honouring ``busy_timeout``). So every session that may write begins
with ``BEGIN IMMEDIATE``, which takes the write lock up front and *does* wait; read-only sessions
(GET requests) begin deferred and never block writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import jobs

SQLITE_BUSY_TIMEOUT_MS = 15_000
_BEGIN_OPTION = "hub_sqlite_begin"


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite with WAL, busy timeout, foreign keys and explicit BEGIN."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's lower() only knows ASCII; searches for "Ældre" or "Øst" need Unicode.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class Database:
    """The engine and its session factories; lives in the app's (or worker's) lifespan."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        write_engine = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._read = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._write = async_sessionmaker(write_engine, class_=AsyncSession, expire_on_commit=False)

    @classmethod
    def from_url(cls, database_url: str) -> Database:
        return cls(create_engine(database_url))

    def session(self, *, write: bool = True) -> AsyncSession:
        return (self._write if write else self._read)()

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def unit_of_work(
    db: Database, queue: jobs.JobQueue | None, *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    """Commit on success and then enqueue the jobs the work asked for; roll back and drop
    them on error. Services inside only ``flush()``."""
    async with db.session(write=write) as session:
        buffer = jobs.attach_buffer(session)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            buffer.clear()
            raise
    if queue is not None:
        await queue.enqueue_all(buffer)


async def rollback(session: AsyncSession) -> None:
    """Undo the work so far and forget the jobs it asked for (e.g. before re-showing a form).

    The objects loaded before (the signed-in user, the thing being edited) are reloaded, so a
    page can still show them: a rollback expires them, and an expired attribute cannot load
    lazily inside a template.
    """
    loaded = list(session.identity_map.values())
    await session.rollback()
    jobs.discard(session)
    for obj in loaded:
        if obj in session:
            try:
                await session.refresh(obj)
            except InvalidRequestError:  # its row was created in the undone work
                session.expunge(obj)
