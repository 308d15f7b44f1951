"""Storing uploads: one copy per content, even when the same file arrives twice at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from sqlmodel import select

from hub.db import Database, unit_of_work
from hub.materials import service
from hub.materials.storage import LocalStorage
from hub.materials.upload import ReceivedUpload, receive_upload
from hub.models import Material
from tests.materials import samples
from tests.materials.conftest import CONTENT_TYPE, files_in, multipart


async def received(storage: LocalStorage, name: str, content: bytes) -> ReceivedUpload:
    async def body() -> AsyncIterator[bytes]:
        yield multipart(name, content)

    return await receive_upload(
        CONTENT_TYPE["Content-Type"], body(), storage=storage, max_bytes=10 * 1024 * 1024
    )


async def test_the_same_file_stored_twice_at_once_is_kept_once(
    db: Database, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "media")
    content = samples.mp4(b"\x01" * 1000)
    first = await received(storage, "a.mp4", content)
    second = await received(storage, "b.mp4", content)
    assert len(storage.temp_files()) == 2
    first_flushed = asyncio.Event()
    release_first = asyncio.Event()

    async def store_first() -> tuple[Material, bool]:
        async with unit_of_work(db, None) as session:
            result = await service.store_material(session, first, storage=storage, uploaded_by=None)
            first_flushed.set()
            await release_first.wait()  # still uncommitted while the second one arrives
            return result

    async def store_second() -> tuple[Material, bool]:
        await first_flushed.wait()
        async with unit_of_work(db, None) as session:
            return await service.store_material(session, second, storage=storage, uploaded_by=None)

    first_task = asyncio.create_task(store_first())
    second_task = asyncio.create_task(store_second())
    await first_flushed.wait()
    await asyncio.sleep(0.2)  # let the second one reach the database and wait there
    release_first.set()
    (material_a, created_a), (material_b, created_b) = await asyncio.gather(first_task, second_task)

    assert (created_a, created_b) == (True, False)
    assert material_a.id == material_b.id
    async with unit_of_work(db, None, write=False) as session:
        assert len((await session.exec(select(Material))).all()) == 1
    assert files_in(storage.root) == [storage.path(material_a.storage_key)]
    assert storage.path(material_a.storage_key).read_bytes() == content
