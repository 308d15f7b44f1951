"""PostgreSQL stopped for ten seconds under API traffic: the API answers 503 with problem+json
(never a 500, never a hang), nothing is half-written, and the hub recovers by itself once the
database is back. A PostgreSQL cluster of our own (initdb) on a loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlmodel import func, select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.migrate import upgrade
from hub.models import Campaign, Role
from tests.browser.conftest import HubServer, _free_port
from tests.conftest import DB_KIND

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(240)]

OUTAGE_SECONDS = 10.0
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*runner, *command], capture_output=True, text=True, timeout=60, check=False
    )


@dataclass
class Cluster:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/hub"

    def start(self) -> None:
        assert PG_BIN is not None
        done = _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.directory),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1",
            "-w",
            "-l",
            str(self.directory / "server.log"),
            "start",
        )
        assert done.returncode == 0, done.stderr

    def stop(self) -> None:
        assert PG_BIN is not None
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.directory), "-m", "fast", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if DB_KIND != "postgresql" or PG_BIN is None or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's server programs (make check-reliability on PostgreSQL)")
    directory = postgres_owned_dir()
    done = _as_postgres(
        str(PG_BIN / "initdb"), "-D", str(directory), "-A", "trust", "-U", "postgres"
    )
    assert done.returncode == 0, done.stderr
    own = Cluster(directory=directory, port=_free_port())
    own.start()
    try:
        yield own
    finally:
        own.stop()
        shutil.rmtree(directory, ignore_errors=True)


def postgres_owned_dir() -> Path:
    """A fresh directory the postgres user owns, outside pytest's root-only temp tree
    (initdb refuses anything else)."""
    data = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    return data


async def _create_database(cluster: Cluster) -> None:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres")
    try:
        await connection.execute("CREATE DATABASE hub")
    finally:
        await connection.close()


async def test_the_api_says_503_and_recovers_when_postgresql_stops(
    cluster: Cluster, settings: Settings, tmp_path: Path
) -> None:
    await _create_database(cluster)
    await asyncio.to_thread(upgrade, cluster.url)
    settings = settings.model_copy(update={"database_url": cluster.url})
    db = Database.from_url(cluster.url)
    try:
        from hub.auth import service as auth

        async with unit_of_work(db, None) as session:
            officer = await auth.create_user(
                session, email="officer@kommune.example", role=Role.officer, password=None
            )
            _token, raw = await auth.create_api_token(session, user=officer, name="load")
        server = HubServer(settings, tmp_path / "hub.log")
        created = 0
        try:
            server.wait_ready()
            headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=15) as c:

                async def create(title: str) -> httpx.Response:
                    return await c.post("/api/v1/campaigns", json={"title": title})

                for n in range(5):
                    answer = await create(f"Before {n}")
                    assert answer.status_code == 201, answer.text
                    created += 1

                cluster.stop()
                started = time.monotonic()
                refused = 0
                while time.monotonic() - started < OUTAGE_SECONDS:
                    for answer in (await c.get("/api/v1/campaigns"), await create("During")):
                        assert answer.status_code == 503, answer.text
                        assert answer.headers["content-type"] == "application/problem+json"
                        refused += 1
                    await asyncio.sleep(0.25)
                assert refused >= 10
                cluster.start()

                # Back without a restart: within a few seconds every call works again.
                deadline = time.monotonic() + 20
                while (await c.get("/api/v1/campaigns")).status_code != 200:
                    assert time.monotonic() < deadline, server.log_tail()
                    await asyncio.sleep(0.25)
                for n in range(5):
                    answer = await create(f"After {n}")
                    assert answer.status_code == 201, answer.text
                    created += 1
        finally:
            server.kill()
        async with unit_of_work(db, None, write=False) as session:
            titles = (await session.exec(select(Campaign.title))).all()
            count = (await session.exec(select(func.count()).select_from(Campaign))).one()
        # Nothing half-written: exactly the campaigns whose creation was answered 201.
        assert count == created == 10
        assert "During" not in titles
    finally:
        await db.dispose()
