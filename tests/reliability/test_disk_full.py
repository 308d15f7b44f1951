"""The media disk fills up during an upload: a clear 507, nothing half-stored, and the next
upload that fits goes through. The media root is a small tmpfs of its own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import select

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.main import create_app
from hub.models import Material, Role
from tests.factories import api_token, bearer, make_user
from tests.materials import samples

pytestmark = [pytest.mark.reliability]

DISK_BYTES = 2 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only: CI runs as root; elsewhere the test is skipped)."""
    mount_point = tmp_path / "media"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False, capture_output=True)


@pytest.fixture
async def full_client(settings: Settings, small_disk: Path) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings.model_copy(update={"media_root": small_disk}))
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def files_in(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


async def test_a_full_disk_refuses_the_upload_cleanly(
    full_client: httpx.AsyncClient, small_disk: Path, db: Database
) -> None:
    officer = await make_user(db, role=Role.officer, password=None)
    headers = {**bearer(await api_token(full_client, db, officer)), "Accept-Language": "en"}
    too_big = samples.mp4(payload=os.urandom(3 * 1024 * 1024))
    answer = await full_client.post(
        "/api/v1/materials",
        files={"file": ("film.mp4", too_big, "video/mp4")},
        headers=headers,
    )
    assert answer.status_code == 507, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "storage is full" in answer.json()["detail"]
    # Nothing half-stored: no row, no object, no temporary file left filling the disk.
    async with unit_of_work(db, None, write=False) as session:
        assert (await session.exec(select(Material))).all() == []
    assert files_in(small_disk) == []

    fits = await full_client.post(
        "/api/v1/materials",
        files={"file": ("poster.png", samples.png(64, 64), "image/png")},
        headers=headers,
    )
    assert fits.status_code == 201, fits.text
