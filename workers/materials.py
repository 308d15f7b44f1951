"""Jobs of the materials domain: thin wrappers around `hub.materials.film`."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from arq import Retry
from sqlmodel import col, select

from hub import i18n, jobs
from hub.db import unit_of_work
from hub.i18n import _
from hub.materials import film
from hub.materials.service import PROCESS_FILM_JOB
from hub.materials.storage import ObjectMissing, storage_for
from hub.models import Material, MaterialKind, ProcessingStatus, utcnow
from hub.state import HubState

log = logging.getLogger("hub.materials")

MAX_TRIES = 3
# Only arq's backstop: every ffmpeg run has its own time limit (film.WORK_TIME_LIMIT for one
# film in all), but a job may first wait for a transcode slot behind other films. A job that
# arq stops at this limit is not retried (and would be left "pending").
JOB_TIMEOUT = int(3 * film.WORK_TIME_LIMIT)
RETRY_DELAY = timedelta(seconds=30)


async def process_film(ctx: dict[str, Any], material_id: int) -> str:
    """Probe an uploaded film and make its poster frame and WhatsApp version; the outcome
    (done, or failed with the reason) is recorded on the material for people to see."""
    state: HubState = ctx["hub"]
    attempt: int = ctx.get("job_try", 1)
    async with unit_of_work(state.db, state.queue) as session:
        material = await session.get(Material, material_id)
        if material is None:
            return "skipped: material gone"
        if material.kind is not MaterialKind.film:
            return "skipped: not a film"
        if material.processing_status is ProcessingStatus.done:
            return "skipped: already done"
        # "running" too: a worker that died mid-way left it so, and this is the retry.
        material.processing_status = ProcessingStatus.running
        material.processing_error = None
        sha256, source_key, extension = material.sha256, material.storage_key, material.extension

    # The reasons are stored, so they are written in the hub's language, not a request's.
    with i18n.use_language(state.settings.default_language):
        settled = False
        started = time.monotonic()
        try:
            try:
                # ffmpeg runs outside any transaction: no connection (or SQLite lock) is held.
                outputs = await film.make_renditions(
                    storage_for(state.settings),
                    sha256=sha256,
                    source_key=source_key,
                    extension=extension,
                )
            except film.FilmError as exc:
                await _record_failure(state, material_id, exc.reason, exc.info)
                settled = True
                log.warning(
                    "materials.film_failed",
                    extra={"material_id": material_id, "reason": exc.reason},
                )
                return f"failed: {exc.reason}"
            stored = await _record_success(state, material_id, outputs)
            settled = True
        except Exception as exc:  # a bug, a full disk, the database away for a moment
            if attempt < MAX_TRIES:
                raise Retry(defer=RETRY_DELAY * attempt) from exc
            raise
        finally:
            if not settled:
                # Raised or cancelled (a worker shutting down): never leave it "running".
                await _release(state, material_id, will_retry=attempt < MAX_TRIES)
    if not stored:
        return "skipped: material gone"
    seconds = time.monotonic() - started
    log.info(
        "materials.film_processed",
        extra={"material_id": material_id, "seconds": round(seconds, 2)},
    )
    info = outputs.info
    return (
        f"done: {info.width}x{info.height}, {info.duration_seconds:.1f} s; WhatsApp "
        f"{outputs.whatsapp_width}x{outputs.whatsapp_height}, {outputs.whatsapp_size} bytes, "
        f"in {seconds:.1f} s"
    )


async def _record_success(state: HubState, material_id: int, outputs: film.FilmOutputs) -> bool:
    async with unit_of_work(state.db, state.queue) as session:
        material = await session.get(Material, material_id)
        if material is not None:
            material.processing_status = ProcessingStatus.done
            material.processing_error = None
            material.duration_seconds = outputs.info.duration_seconds
            material.width = outputs.info.width
            material.height = outputs.info.height
            material.poster_key = outputs.poster_key
            material.whatsapp_key = outputs.whatsapp_key
            material.whatsapp_size = outputs.whatsapp_size
            return True
    # Deleted while it was processed: its renditions belong to nobody.
    storage = storage_for(state.settings)
    for key in (outputs.poster_key, outputs.whatsapp_key):
        await asyncio.to_thread(storage.delete, key)
    return False


async def _record_failure(
    state: HubState, material_id: int, reason: str, info: film.FilmInfo | None
) -> None:
    async with unit_of_work(state.db, state.queue) as session:
        material = await session.get(Material, material_id)
        if material is None:
            return
        material.processing_status = ProcessingStatus.failed
        material.processing_error = reason[:2000]
        # What could be read is still worth showing ("it lasts 40 minutes").
        material.duration_seconds = info.duration_seconds if info else None
        material.width = info.width if info else None
        material.height = info.height if info else None
        material.poster_key = None
        material.whatsapp_key = None
        material.whatsapp_size = None


async def _release(state: HubState, material_id: int, *, will_retry: bool) -> None:
    try:
        if will_retry:
            async with unit_of_work(state.db, state.queue) as session:
                material = await session.get(Material, material_id)
                if material is not None and material.processing_status is ProcessingStatus.running:
                    material.processing_status = ProcessingStatus.pending
        else:
            await _record_failure(state, material_id, _(film.INTERRUPTED), None)
    except Exception:
        # The database itself is away: the next try (or a sweep) sets it right.
        log.exception("materials.film_release_failed", extra={"material_id": material_id})


# Uploads in progress write their temp file continuously; one untouched this long was left by a
# crash (a failed upload removes its own at once).
STALE_TEMP_SECONDS = 6 * 3600


async def clean_temp_files(ctx: dict[str, Any]) -> int:
    """Delete temp files that crashed uploads or film jobs left behind (hourly)."""
    state: HubState = ctx["hub"]
    storage = storage_for(state.settings)

    def sweep() -> int:
        cutoff = time.time() - STALE_TEMP_SECONDS
        removed = 0
        for path in storage.temp_files():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # finished or cleaned up meanwhile
        return removed

    removed = await asyncio.to_thread(sweep)
    if removed:
        log.info("materials.temp_files_removed", extra={"count": removed})
    return removed


# An upload puts its object in storage a moment before its row is written (see
# hub.materials.service.store_material): an object no row names after this long never got one.
ORPHAN_AGE_SECONDS = 24 * 3600


async def clean_orphan_objects(ctx: dict[str, Any]) -> int:
    """Delete stored objects that no material names, a day after they were stored (nightly):
    an upload whose row never came because the database went away, or a film's rendition
    made by a job that was killed before it wrote its row."""
    state: HubState = ctx["hub"]
    storage = storage_for(state.settings)
    async with unit_of_work(state.db, state.queue, write=False) as session:
        rows = await session.exec(
            select(Material.storage_key, Material.poster_key, Material.whatsapp_key)
        )
        named = {key for row in rows for key in row if key}

    def sweep() -> int:
        cutoff = time.time() - ORPHAN_AGE_SECONDS
        removed = 0
        unnamed = set(storage.keys()) - named
        for key in sorted(unnamed):
            try:
                if storage.stat(key).modified < cutoff:
                    storage.delete(key)
                    removed += 1
            except ObjectMissing:
                continue  # removed meanwhile
        return removed

    removed = await asyncio.to_thread(sweep)
    if removed:
        log.info("materials.orphan_objects_removed", extra={"count": removed})
    return removed


# A film's job is normally done within minutes; one still pending or running after this long
# may have lost its job (Redis flushed; arq gave up after workers were killed in every try: a
# worker killed once is covered by its lease, see workers/lease.py).
STALLED_FILM_AGE = timedelta(minutes=10)


async def resume_films(ctx: dict[str, Any]) -> int:
    """Enqueue again the film jobs of films still pending or running after a while (every ten
    minutes). The job id is the same as the first time, so a job that is still queued, running
    or being retried by arq is not doubled: only a lost one comes back."""
    state: HubState = ctx["hub"]
    cutoff = utcnow() - STALLED_FILM_AGE
    async with unit_of_work(state.db, state.queue, write=False) as session:
        stalled = (
            await session.exec(
                select(Material.id)
                .where(
                    Material.kind == MaterialKind.film,
                    col(Material.processing_status).in_(
                        [ProcessingStatus.pending, ProcessingStatus.running]
                    ),
                    col(Material.created_at) < cutoff,
                )
                .order_by(col(Material.id))
            )
        ).all()
        for material_id in stalled:
            jobs.defer(session, PROCESS_FILM_JOB, material_id)  # type: ignore[arg-type]
    if stalled:
        log.info("materials.films_resumed", extra={"material_ids": list(stalled)})
    return len(stalled)
