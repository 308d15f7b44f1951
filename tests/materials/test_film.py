"""Film processing: films the test makes with the bundled ffmpeg are uploaded through the API,
processed by a burst arq worker, and their poster and WhatsApp version checked as a partner
would get them."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from arq import Retry

from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.materials import film
from hub.materials.storage import LocalStorage
from hub.models import Material, MaterialKind, ProcessingStatus, Role
from hub.state import HubState
from tests.factories import api_token, bearer, make_contact, make_partner, make_user
from tests.materials import samples
from tests.materials.conftest import UPLOAD_URL, files_in
from tests.test_worker_e2e import run_burst_worker
from workers import materials as material_jobs

JPEG_MAGIC = b"\xff\xd8\xff"


def _make_film(dest: Path, *args: str) -> Path:
    subprocess.run(
        [
            *(imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"),
            *args,
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", str(dest)),
        ],
        check=True,
        timeout=60,
    )
    return dest


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("films")
    made = {
        # 720p with sound, 3 s.
        "hd": _make_film(
            folder / "hd.mp4",
            *("-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"),
            *("-t", "3", "-c:a", "aac"),
        ),
        # 360p without sound, 3 s: must not be enlarged.
        "small": _make_film(
            folder / "small.mp4",
            *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "3"),
        ),
        # 20 minutes of a tiny picture at one frame a second: cheap, but too long for 16 MB.
        "long": _make_film(
            folder / "long.mp4",
            *("-f", "lavfi", "-i", "color=c=blue:size=64x64:rate=1", "-t", "1200"),
        ),
    }
    return {name: path.read_bytes() for name, path in made.items()}


@pytest.fixture
async def hub_state(settings: Settings) -> AsyncIterator[HubState]:
    state = await HubState.open(settings)
    yield state
    await state.close()


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, content: bytes
) -> dict[str, Any]:
    response = await client.post(
        UPLOAD_URL, headers=headers, files={"file": (name, content, "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _material(db: Database, material_id: int) -> Material:
    async with db.session(write=False) as session:
        material = await session.get(Material, material_id)
    assert material is not None
    return material


async def _describe(path: Path) -> str:
    """What ffmpeg says a file holds (its streams, codecs and sizes)."""
    run = await film.run_ffmpeg(["-i", str(path)], time_limit=30)
    return run.stderr


def _job_ctx(state: HubState, attempt: int = 1) -> dict[str, Any]:
    return {"hub": state, "job_try": attempt}


@pytest.mark.slow
async def test_uploaded_films_get_a_poster_and_a_whatsapp_version(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    staff_headers: dict[str, str],
    films: dict[str, bytes],
    tmp_path: Path,
) -> None:
    hd = await _upload(client, staff_headers, "vaccination.mp4", films["hd"])
    small = await _upload(client, staff_headers, "lille.mp4", films["small"])
    assert hd["processing_status"] == small["processing_status"] == "pending"

    started = time.monotonic()
    await run_burst_worker(settings)
    assert time.monotonic() - started < 30

    storage = LocalStorage(settings.media_root)
    expected = {
        hd["id"]: ((1280, 720), "1280x720", True),
        small["id"]: ((640, 360), "640x360", False),  # 360 lines stay 360: never enlarged
    }
    for material_id, ((width, height), whatsapp_size, has_sound) in expected.items():
        read = await client.get(f"/api/v1/materials/{material_id}", headers=staff_headers)
        assert read.json()["processing_status"] == "done"
        material = await _material(db, material_id)
        assert material.processing_error is None
        assert material.duration_seconds == pytest.approx(3.0, abs=0.1)
        assert (material.width, material.height) == (width, height)

        url = f"/api/v1/materials/{material_id}/download"
        poster = await client.get(url, params={"rendition": "poster"}, headers=staff_headers)
        assert poster.status_code == 200, poster.text
        assert poster.headers["content-type"] == "image/jpeg"
        assert poster.content.startswith(JPEG_MAGIC)

        whatsapp = await client.get(url, params={"rendition": "whatsapp"}, headers=staff_headers)
        assert whatsapp.status_code == 200, whatsapp.text
        assert whatsapp.headers["content-type"] == "video/mp4"
        assert len(whatsapp.content) == material.whatsapp_size <= film.WHATSAPP_LIMIT_BYTES
        saved = tmp_path / f"{material_id}.mp4"
        saved.write_bytes(whatsapp.content)
        report = await _describe(saved)
        video = re.search(r"Video: (.*)", report)
        assert video and video.group(1).startswith("h264") and "yuv420p" in video.group(1)
        assert f" {whatsapp_size} " in video.group(1) or f" {whatsapp_size}," in video.group(1)
        assert ("Audio: aac" in report) is has_sound
        assert re.search(r"Duration: 00:00:0(2\.9|3\.0)", report), report
        # The "moov" index comes first, so a phone starts playing before the download ends.
        assert whatsapp.content.find(b"moov") < whatsapp.content.find(b"mdat")

    # Only the originals and their renditions, under keys the server made; no temp files.
    assert storage.temp_files() == []
    hd_sha = hd["sha256"]
    assert {p.name for p in files_in(settings.media_root) if p.name.startswith(hd_sha)} == {
        f"{hd_sha}.mp4",
        f"{hd_sha}-poster.jpg",
        f"{hd_sha}-whatsapp.mp4",
    }


@pytest.mark.slow
async def test_partner_downloads_the_whatsapp_version_of_a_published_film(
    client: httpx.AsyncClient, db: Database, settings: Settings, films: dict[str, bytes]
) -> None:
    officer = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    somali = await make_partner(db, name="Somali", languages=["so"])
    partner = bearer(await api_token(client, db, await make_contact(db, somali)))
    campaign = (
        await client.post(
            "/api/v1/campaigns",
            json={"title": "Vinter", "audience_spec": {"languages": ["so"]}},
            headers=officer,
        )
    ).json()
    item = (
        await client.post(
            f"/api/v1/campaigns/{campaign['id']}/items",
            json={"kind": "film", "title": "Vaccination"},
            headers=officer,
        )
    ).json()
    material = await _upload(client, officer, "film.mp4", films["small"])
    variant = (
        await client.put(
            f"/api/v1/items/{item['id']}/variants/so",
            json={"material_id": material["id"]},
            headers=officer,
        )
    ).json()
    published = await client.post(f"/api/v1/campaigns/{campaign['id']}/publish", headers=officer)
    assert published.status_code == 200, published.text
    url = f"/api/v1/variants/{variant['id']}/download"

    # Until the worker has made it, there is none to fetch.
    early = await client.get(url, params={"rendition": "whatsapp"}, headers=partner)
    assert early.status_code == 404

    await run_burst_worker(settings)

    response = await client.get(url, params={"rendition": "whatsapp"}, headers=partner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    assert "(WhatsApp).mp4" in response.headers["content-disposition"]
    stored = await _material(db, material["id"])
    assert len(response.content) == stored.whatsapp_size


async def test_a_broken_film_fails_with_the_reason_and_leaves_only_the_original(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    staff_headers: dict[str, str],
) -> None:
    # An MP4 header followed by garbage: it passes the upload's sniffing, not ffmpeg.
    broken = await _upload(client, staff_headers, "broken.mp4", samples.mp4(b"garbage" * 4000))
    await run_burst_worker(settings)

    read = await client.get(f"/api/v1/materials/{broken['id']}", headers=staff_headers)
    assert read.json()["processing_status"] == "failed"
    material = await _material(db, broken["id"])
    assert material.processing_error is not None
    assert material.processing_error.startswith("The film could not be decoded: ")
    assert "Invalid data" in material.processing_error
    assert str(settings.media_root) not in material.processing_error  # no server paths
    assert material.poster_key is None and material.whatsapp_key is None
    assert files_in(settings.media_root) == [
        LocalStorage(settings.media_root).path(material.storage_key)
    ]
    whatsapp = await client.get(
        f"/api/v1/materials/{broken['id']}/download",
        params={"rendition": "whatsapp"},
        headers=staff_headers,
    )
    assert whatsapp.status_code == 404


async def test_a_film_too_long_for_whatsapp_fails_before_any_work(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    staff_headers: dict[str, str],
    films: dict[str, bytes],
) -> None:
    uploaded = await _upload(client, staff_headers, "lang.mp4", films["long"])
    await run_burst_worker(settings)

    material = await _material(db, uploaded["id"])
    assert material.processing_status is ProcessingStatus.failed
    assert material.processing_error == (
        "The film is too long for a WhatsApp version of at most 16 MB: it lasts 20 minutes, "
        "and about 10 minutes fit. Shorten it or split it into parts."
    )
    # What could be read is still shown.
    assert material.duration_seconds == pytest.approx(1200, abs=1)
    assert (material.width, material.height) == (64, 64)
    assert len(files_in(settings.media_root)) == 1


@pytest.mark.slow
async def test_the_job_skips_done_films_and_redoes_one_left_running_by_a_crash(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    staff_headers: dict[str, str],
    films: dict[str, bytes],
    hub_state: HubState,
) -> None:
    uploaded = await _upload(client, staff_headers, "lille.mp4", films["small"])
    await run_burst_worker(settings)
    done = await _material(db, uploaded["id"])
    assert done.processing_status is ProcessingStatus.done and done.whatsapp_key
    storage = LocalStorage(settings.media_root)
    whatsapp = storage.path(done.whatsapp_key)
    before = whatsapp.stat().st_mtime_ns

    result = await material_jobs.process_film(_job_ctx(hub_state), uploaded["id"])
    assert result == "skipped: already done"
    assert whatsapp.stat().st_mtime_ns == before

    # A worker that died mid-way left it "running", and half its output.
    async with unit_of_work(db, None) as session:
        material = await session.get(Material, uploaded["id"])
        assert material is not None
        material.processing_status = ProcessingStatus.running
    whatsapp.unlink()

    result = await material_jobs.process_film(_job_ctx(hub_state, attempt=2), uploaded["id"])
    assert result.startswith("done: 640x360")
    redone = await _material(db, uploaded["id"])
    assert redone.processing_status is ProcessingStatus.done
    assert redone.whatsapp_key == done.whatsapp_key and redone.poster_key == done.poster_key
    assert whatsapp.is_file() and redone.whatsapp_size == whatsapp.stat().st_size
    assert storage.temp_files() == []


async def _stored_film(db: Database, *, status: ProcessingStatus) -> int:
    async with unit_of_work(db, None) as session:
        material = Material(
            sha256="f" * 64,
            size=10,
            content_type="video/mp4",
            kind=MaterialKind.film,
            extension="mp4",
            storage_key=f"{'f' * 64}.mp4",
            processing_status=status,
        )
        session.add(material)
        await session.flush()
        assert material.id is not None
        return material.id


async def test_an_unexpected_error_retries_and_never_leaves_the_film_running(
    db: Database, hub_state: HubState, monkeypatch: pytest.MonkeyPatch
) -> None:
    material_id = await _stored_film(db, status=ProcessingStatus.pending)

    async def disk_full(*args: object, **kwargs: object) -> film.FilmOutputs:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(film, "make_renditions", disk_full)

    with pytest.raises(Retry):
        await material_jobs.process_film(_job_ctx(hub_state, attempt=1), material_id)
    assert (await _material(db, material_id)).processing_status is ProcessingStatus.pending

    with pytest.raises(OSError):
        await material_jobs.process_film(
            _job_ctx(hub_state, attempt=material_jobs.MAX_TRIES), material_id
        )
    material = await _material(db, material_id)
    assert material.processing_status is ProcessingStatus.failed
    assert material.processing_error == (
        "Processing the film stopped unexpectedly. Upload it again or ask an admin."
    )


async def test_a_missing_file_or_other_material_is_handled(
    db: Database, hub_state: HubState
) -> None:
    material_id = await _stored_film(db, status=ProcessingStatus.pending)
    result = await material_jobs.process_film(_job_ctx(hub_state), material_id)
    assert result == "failed: The film's file is missing from the media storage."
    assert (await _material(db, material_id)).processing_status is ProcessingStatus.failed

    assert await material_jobs.process_film(_job_ctx(hub_state), 999_999) == (
        "skipped: material gone"
    )
    async with unit_of_work(db, None) as session:
        document = await session.get(Material, material_id)
        assert document is not None
        document.kind = MaterialKind.document
        document.processing_status = ProcessingStatus.none
    assert await material_jobs.process_film(_job_ctx(hub_state), material_id) == (
        "skipped: not a film"
    )


async def test_the_reason_is_written_in_the_hubs_language(
    db: Database, settings: Settings, hub_state: HubState
) -> None:
    hub_state.settings = settings.model_copy(update={"default_language": "da"})
    material_id = await _stored_film(db, status=ProcessingStatus.pending)
    await material_jobs.process_film(_job_ctx(hub_state), material_id)
    material = await _material(db, material_id)
    assert material.processing_error == "Filmens fil mangler i mediearkivet."


# --- ffmpeg itself -------------------------------------------------------------------------


@dataclass
class Spawned:
    """The processes run_ffmpeg starts, to see that none outlives it."""

    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Spawned:
    spawned = Spawned()
    original = asyncio.create_subprocess_exec

    async def spy(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await original(*args, **kwargs)
        spawned.processes.append(process)
        spawned.started.set()
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    return spawned


ENDLESS = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "null", "-"]


async def test_ffmpeg_is_killed_when_it_takes_too_long(spawned: Spawned) -> None:
    with pytest.raises(film.FilmError, match="took too long"):
        await film.run_ffmpeg(ENDLESS, time_limit=0.5)
    [process] = spawned.processes
    assert process.returncode == -signal.SIGKILL


async def test_ffmpeg_is_killed_when_the_job_is_cancelled(spawned: Spawned) -> None:
    task = asyncio.create_task(film.run_ffmpeg(ENDLESS, time_limit=60))
    await spawned.started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [process] = spawned.processes
    assert process.returncode == -signal.SIGKILL


def _info(width: int, height: int, seconds: float, audio: bool = True) -> film.FilmInfo:
    return film.FilmInfo(duration_seconds=seconds, width=width, height=height, has_audio=audio)


@pytest.mark.parametrize(
    ("info", "size"),
    [
        (_info(1920, 1080, 60), (1280, 720)),
        (_info(1280, 720, 60), (1280, 720)),
        (_info(1080, 1920, 60), (720, 1280)),  # a phone held upright
        (_info(1000, 700, 60), (684, 480)),
        (_info(640, 360, 60), (640, 360)),
        (_info(1920, 1080, 240), (852, 480)),  # 720p would be mush at 16 MB for 4 minutes
    ],
)
def test_whatsapp_size_is_720p_or_480p_and_never_enlarged(
    info: film.FilmInfo, size: tuple[int, int]
) -> None:
    plan = film.plan_whatsapp(info)
    assert (plan.width, plan.height) == size
    total = (plan.video_bitrate + plan.audio_bitrate) * info.duration_seconds / 8
    assert total <= film.WHATSAPP_TARGET_BYTES


def test_a_silent_film_gets_no_sound_track_and_the_retry_is_smaller() -> None:
    first = film.plan_whatsapp(_info(1920, 1080, 60, audio=False))
    second = film.plan_whatsapp(_info(1920, 1080, 60, audio=False), smaller=True)
    assert first.audio_bitrate == second.audio_bitrate == 0
    assert second.height == 480 and second.video_bitrate <= first.video_bitrate


def test_parse_info_applies_rotation_and_pixel_shape() -> None:
    report = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 192 kb/s
  Stream #0:0[0x1](und): Video: mjpeg (Baseline), yuvj420p, 300x300 (attached pic)
  Stream #0:1[0x2](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), \
1440x1080 [SAR 4:3 DAR 16:9], 111 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Side data:
      Display Matrix: rotation of -90.00 degrees
  Stream #0:2[0x3](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp
"""
    assert film.parse_info(report) == (62.5, 1080, 1920, True)
    assert film.parse_info("Input #0\n  Stream #0:0: Audio: mp3, 44100 Hz") is None


async def test_stale_temp_files_are_swept_and_fresh_ones_kept(settings: Settings) -> None:
    import os
    import time

    from hub.materials.storage import LocalStorage
    from hub.state import HubState
    from workers import materials as material_jobs

    storage = LocalStorage(settings.media_root)
    stale, fresh = storage.open_temp(), storage.open_temp()
    for temp in (stale, fresh):
        temp.close(sync=False)
    old = time.time() - material_jobs.STALE_TEMP_SECONDS - 60
    os.utime(stale.path, (old, old))
    state = await HubState.open(settings)
    try:
        assert await material_jobs.clean_temp_files({"hub": state}) == 1
    finally:
        await state.close()
    assert storage.temp_files() == [fresh.path]
