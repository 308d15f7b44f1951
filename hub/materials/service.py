"""The materials library: files stored once by content, described by a Material row."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import jobs
from hub.errors import NotFound
from hub.i18n import _
from hub.materials.storage import Storage
from hub.materials.upload import ReceivedUpload
from hub.models import Material, MaterialKind, ProcessingStatus, User

PROCESS_FILM_JOB = "materials.process_film"


def storage_key(upload: ReceivedUpload) -> str:
    """The server-made name of an object: its content hash, never the uploaded name."""
    return f"{upload.sha256}.{upload.extension}"


async def material_by_sha256(session: AsyncSession, sha256: str) -> Material | None:
    result = await session.exec(select(Material).where(Material.sha256 == sha256))
    return result.first()


async def get_material(session: AsyncSession, material_id: int) -> Material:
    """The material, or NotFound."""
    material = await session.get(Material, material_id)
    if material is None:
        raise NotFound(_("The material does not exist."))
    return material


async def store_material(
    session: AsyncSession,
    upload: ReceivedUpload,
    *,
    storage: Storage,
    uploaded_by: User | None,
) -> tuple[Material, bool]:
    """Store a received upload once per content: the new Material and True, or the existing
    one with the same sha256 and False (then the upload's temp file is discarded)."""
    existing = await material_by_sha256(session, upload.sha256)
    if existing is not None:
        await _keep_existing(storage, upload, existing)
        return existing, False

    # The object goes in first, before any row is written: a large file on its way to a bucket
    # holds no write lock or open write transaction. Its key is its content hash, so a
    # repeated or simultaneous upload of the same file puts the same bytes under the same key;
    # an object whose row never comes (the database went away) is removed by a nightly sweep.
    key = storage_key(upload)
    await asyncio.to_thread(storage.commit, upload.temp, key)
    is_film = upload.kind == MaterialKind.film
    material = Material(
        sha256=upload.sha256,
        size=upload.size,
        content_type=upload.content_type,
        kind=upload.kind,
        extension=upload.extension,
        storage_key=key,
        original_filename=upload.original_filename,
        uploaded_by_id=uploaded_by.id if uploaded_by else None,
        processing_status=ProcessingStatus.pending if is_film else ProcessingStatus.none,
    )
    try:
        async with session.begin_nested():
            session.add(material)
    except IntegrityError:
        # The same file arrived at the same moment from someone else, and was stored first.
        existing = await material_by_sha256(session, upload.sha256)
        if existing is None:
            raise
        if existing.storage_key != key:  # named by another extension: this copy is not needed
            await asyncio.to_thread(storage.delete, key)
        return existing, False

    if is_film:
        assert material.id is not None
        jobs.defer(session, PROCESS_FILM_JOB, material.id)
    return material, True


async def _keep_existing(storage: Storage, upload: ReceivedUpload, existing: Material) -> None:
    if await asyncio.to_thread(storage.exists, existing.storage_key):
        await asyncio.to_thread(storage.discard, upload.temp)
    else:
        # Its file went missing (media not restored with the database): this upload is it.
        await asyncio.to_thread(storage.commit, upload.temp, existing.storage_key)
