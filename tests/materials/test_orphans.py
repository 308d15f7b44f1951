"""An upload's object is stored before its row; objects no row names are swept a day later."""

from __future__ import annotations

import os
import time

import pytest

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.materials import service
from hub.materials.storage import LocalStorage, Storage, storage_for
from hub.materials.upload import ReceivedUpload
from hub.models import Material, MaterialKind, ProcessingStatus
from hub.state import HubState
from tests.materials.conftest import stored
from tests.s3_server import MotoServer
from workers import materials as material_jobs

SHA_NAMED, SHA_ORPHAN, SHA_FRESH = "a" * 64, "b" * 64, "c" * 64


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "local":
        return settings
    server: MotoServer = request.getfixturevalue("s3_server")
    return server.settings_for(settings, server.new_bucket(), prefix="media/")


def _age(storage: Storage, key: str, seconds: float) -> None:
    """Make a local object look ``seconds`` old (a bucket's times cannot be set)."""
    assert isinstance(storage, LocalStorage)
    then = time.time() - seconds
    os.utime(storage.path(key), (then, then))


async def _sweep(settings: Settings) -> int:
    state = await HubState.open(settings)
    try:
        return await material_jobs.clean_orphan_objects({"hub": state})
    finally:
        await state.close()


async def _material(db: Database, sha: str, *, film: bool = False) -> Material:
    async with unit_of_work(db, None) as session:
        material = Material(
            sha256=sha,
            size=13,
            content_type="video/mp4" if film else "application/pdf",
            kind=MaterialKind.film if film else MaterialKind.document,
            extension="mp4" if film else "pdf",
            storage_key=f"{sha}.{'mp4' if film else 'pdf'}",
            original_filename="x",
            processing_status=ProcessingStatus.done if film else ProcessingStatus.none,
            poster_key=f"{sha}-poster.jpg" if film else None,
            whatsapp_key=f"{sha}-whatsapp.mp4" if film else None,
        )
        session.add(material)
    return material


async def test_objects_no_material_names_are_swept_after_a_day(
    store_settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = storage_for(store_settings)
    await _material(db, SHA_NAMED, film=True)
    named = {f"{SHA_NAMED}.mp4", f"{SHA_NAMED}-poster.jpg", f"{SHA_NAMED}-whatsapp.mp4"}
    orphans = {f"{SHA_ORPHAN}.pdf", f"{SHA_ORPHAN}-poster.jpg"}
    for key in named | orphans:
        stored(storage, key, b"%PDF-1.7 test")

    # Nothing is a day old yet: nothing goes, named or not.
    assert await _sweep(store_settings) == 0
    assert set(storage.keys()) == named | orphans

    # A day later the objects no material names go, and only those.
    monkeypatch.setattr(material_jobs, "ORPHAN_AGE_SECONDS", -60)
    assert await _sweep(store_settings) == len(orphans)
    assert set(storage.keys()) == named
    assert await _sweep(store_settings) == 0


async def test_a_young_orphan_is_kept_and_an_old_one_goes(settings: Settings) -> None:
    storage = storage_for(settings)
    stored(storage, f"{SHA_ORPHAN}.pdf", b"%PDF-1.7 test")
    stored(storage, f"{SHA_FRESH}.pdf", b"%PDF-1.7 test")
    _age(storage, f"{SHA_ORPHAN}.pdf", material_jobs.ORPHAN_AGE_SECONDS + 60)
    _age(storage, f"{SHA_FRESH}.pdf", material_jobs.ORPHAN_AGE_SECONDS - 600)
    assert await _sweep(settings) == 1
    assert list(storage.keys()) == [f"{SHA_FRESH}.pdf"]


def _received(storage: Storage, sha: str, extension: str) -> ReceivedUpload:
    temp = storage.open_temp()
    temp.write([b"%PDF-1.7 the same bytes"])
    temp.close(sync=False)
    return ReceivedUpload(
        temp=temp,
        sha256=sha,
        size=23,
        content_type="application/pdf",
        kind=MaterialKind.document,
        extension=extension,
        original_filename=f"plakat.{extension}",
    )


async def test_the_object_is_stored_before_its_row(
    store_settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = storage_for(store_settings)
    upload = _received(storage, SHA_FRESH, "pdf")
    seen: list[bool] = []
    real_add = service.AsyncSession.add

    def add(session: service.AsyncSession, instance: object, *args: object) -> None:
        if isinstance(instance, Material):
            seen.append(storage.exists(instance.storage_key))
        real_add(session, instance, *args)

    monkeypatch.setattr(service.AsyncSession, "add", add)
    async with unit_of_work(db, None) as session:
        material, created = await service.store_material(
            session, upload, storage=storage, uploaded_by=None
        )
    assert created and seen == [True]
    assert list(storage.keys()) == [material.storage_key]
    assert storage.temp_files() == []


async def test_the_same_file_at_the_same_moment_under_another_name_leaves_one_object(
    store_settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = storage_for(store_settings)
    first = await _material(db, SHA_FRESH)  # stored first, as .pdf, by someone else
    stored(storage, first.storage_key, b"%PDF-1.7 test")
    # This upload looked before the other's row was there, and names its copy by another
    # extension.
    looked = False

    async def not_yet(session: object, sha256: str) -> Material | None:
        nonlocal looked
        if not looked:
            looked = True
            return None
        return await real_lookup(session, sha256)  # type: ignore[arg-type]

    real_lookup = service.material_by_sha256
    monkeypatch.setattr(service, "material_by_sha256", not_yet)
    upload = _received(storage, SHA_FRESH, "pdfx")
    async with unit_of_work(db, None) as session:
        material, created = await service.store_material(
            session, upload, storage=storage, uploaded_by=None
        )
    assert not created and material.id == first.id
    assert list(storage.keys()) == [first.storage_key]
    assert storage.temp_files() == []
