"""A standalone worker killed (SIGKILL) while ffmpeg transcodes a film: its ffmpeg dies with
it instead of running on as an orphan, the next worker takes the job again within seconds (not
after arq's hours-long job timeout), and the film ends done with a valid poster and WhatsApp
version, one material, and no temporary file of its own left behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import imageio_ffmpeg
import pytest
from arq.jobs import Job
from sqlmodel import func, select

from hub import jobs
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.materials import film
from hub.materials.storage import LocalStorage
from hub.models import Material, ProcessingStatus, Role
from hub.state import HubState
from tests.browser.conftest import ROOT, hub_environment
from tests.factories import api_token, bearer, make_user
from workers import materials as material_jobs

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(180)]

# 360p with sound: its WhatsApp transcode takes a few seconds here, long enough that the kill
# surely lands in the middle of it, short enough that the retry is quick.
FILM_SECONDS = 30
FILM_SIZE = (640, 360)
JPEG_MAGIC = b"\xff\xd8\xff"
T = TypeVar("T")


@pytest.fixture(scope="module")
def film_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    dest = tmp_path_factory.mktemp("film") / "film.mp4"
    width, height = FILM_SIZE
    # fmt: off
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(FILM_SECONDS), "-c:a", "aac",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", str(dest),
        ],
        check=True,
        timeout=60,
    )
    # fmt: on
    return dest.read_bytes()


@pytest.fixture
async def hub_state(settings: Settings) -> AsyncIterator[HubState]:
    state = await HubState.open(settings)
    yield state
    await state.close()


# --- processes, as /proc shows them ----------------------------------------------------------


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    return int(fields[1]), fields[0]


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] not in {"Z", "X"}  # a zombie has finished running


def _transcoders(parent: int) -> list[int]:
    """The live ffmpeg processes of ``parent`` that make a WhatsApp version."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[0] != parent or not _alive(int(entry.name)):
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"libx264" in command and "ffmpeg" in Path(os.fsdecode(command[0])).name:
            found.append(int(entry.name))
    return found


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "worker"],
            cwd=ROOT,
            env=hub_environment(settings, base_url="http://127.0.0.1"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _until(check: Callable[[], T], seconds: float, failure: Callable[[], str]) -> T:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, failure()
        await asyncio.sleep(0.05)
    return found


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def _exit_code(process: subprocess.Popen[bytes], seconds: float, log: Path) -> int:
    try:
        return await asyncio.to_thread(process.wait, seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not exit in {seconds} s:\n{_tail(log)}") from None


async def _material(db: Database, material_id: int) -> Material:
    async with unit_of_work(db, None, write=False) as session:
        material = await session.get(Material, material_id)
    assert material is not None
    return material


async def _status_until(
    db: Database, material_id: int, wanted: ProcessingStatus, seconds: float, log: Path
) -> Material:
    deadline = time.monotonic() + seconds
    while (material := await _material(db, material_id)).processing_status is not wanted:
        assert time.monotonic() < deadline, (
            f"the film is {material.processing_status.value}, not {wanted.value}, after "
            f"{seconds} s:\n{_tail(log)}"
        )
        await asyncio.sleep(0.1)
    return material


async def _describe(path: Path) -> str:
    """What ffmpeg reads in a file (it has no ffprobe): streams, codecs, sizes, duration."""
    return (await film.run_ffmpeg(["-i", str(path)], time_limit=30)).stderr


# --- the test ---------------------------------------------------------------------------------


async def test_a_worker_stopped_or_killed_mid_transcode_leaves_no_ffmpeg_and_the_film_gets_done(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    hub_state: HubState,
    film_bytes: bytes,
    tmp_path: Path,
) -> None:
    officer = bearer(await api_token(client, db, await make_user(db, role=Role.officer)))
    uploaded = await client.post(
        "/api/v1/materials",
        headers=officer,
        files={"file": ("vaccination.mp4", film_bytes, "application/octet-stream")},
    )
    assert uploaded.status_code == 201, uploaded.text
    material_id, sha256 = uploaded.json()["id"], uploaded.json()["sha256"]
    storage = LocalStorage(settings.media_root)
    log = tmp_path / "workers.log"
    started: list[subprocess.Popen[bytes]] = []
    seen: list[int] = []  # every ffmpeg we saw, killed in the end should one outlive the test

    async def transcoding(worker: subprocess.Popen[bytes]) -> int:
        """The worker's ffmpeg, once it is writing the WhatsApp version."""
        await _status_until(db, material_id, ProcessingStatus.running, 30, log)
        [pid] = await _until(
            lambda: _transcoders(worker.pid), 30, lambda: f"no transcode:\n{_tail(log)}"
        )
        seen.append(pid)
        await _until(
            lambda: any(p.stat().st_size > 0 for p in storage.temp_files()),
            30,
            lambda: "ffmpeg wrote nothing",
        )
        assert _alive(pid), "the transcode ended before the signal: make the film longer"
        return pid

    try:
        # SIGTERM: the job is cancelled as arq does, its ffmpeg killed and its temporary file
        # removed, the film is pending again, and the worker exits 0.
        stopped = start_worker(settings, log)
        started.append(stopped)
        transcoder = await transcoding(stopped)
        stopped.send_signal(signal.SIGTERM)
        assert await _exit_code(stopped, 10, log) == 0, _tail(log)
        assert not _alive(transcoder)
        assert storage.temp_files() == []
        assert (await _material(db, material_id)).processing_status is ProcessingStatus.pending

        # SIGKILL: no cleanup runs at all.
        killed = start_worker(settings, log)
        started.append(killed)
        transcoder = await transcoding(killed)
        killed.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert await _exit_code(killed, 10, log) == -signal.SIGKILL
        # Its ffmpeg dies with it: an orphan would transcode on for nobody, next to the retry.
        await _until(
            lambda: not _alive(transcoder),
            5,
            lambda: (
                f"ffmpeg {transcoder} outlived its killed worker (its parent is now "
                f"{(_stat(transcoder) or (0, ''))[0]})"
            ),
        )
        left = {path: path.stat().st_size for path in storage.temp_files()}
        assert left, "the killed transcode left its partial file (which the sweep removes)"
        # Cut off, not finished: ffmpeg writes the MP4's index last.
        assert not any(b"moov" in path.read_bytes() for path in left), "ffmpeg ran to the end"
        assert (await _material(db, material_id)).processing_status is ProcessingStatus.running

        # The next worker takes the job again within seconds, and finishes it.
        last = start_worker(settings, log)
        started.append(last)
        seen += await _until(
            lambda: _transcoders(last.pid), 30, lambda: f"nobody took the job again:\n{_tail(log)}"
        )
        done = await _status_until(db, material_id, ProcessingStatus.done, 60, log)
        recovered = time.monotonic() - killed_at
        last.send_signal(signal.SIGTERM)
        assert await _exit_code(last, 10, log) == 0, _tail(log)
        assert not any(_alive(pid) for pid in seen)
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        for pid in seen:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    # Taken three times (stopped, killed, done), and done once.
    job_id = hub_state.queue.job_id(f"materials.process_film:{material_id}")
    result = await Job(
        job_id,
        hub_state.queue.pool,
        _queue_name=settings.queue_name,
        _deserializer=jobs.deserialize,
    ).result_info()
    assert result is not None and result.success, result
    assert result.job_try == 3 and str(result.result).startswith("done: 640x360"), result
    assert recovered < 60

    # Done, with what the film is and both renditions.
    assert done.processing_error is None
    assert done.duration_seconds == pytest.approx(FILM_SECONDS, abs=0.2)
    assert (done.width, done.height) == FILM_SIZE
    assert done.poster_key == film.poster_key(sha256)
    assert done.whatsapp_key == film.whatsapp_key(sha256)
    poster = storage.path(done.poster_key)
    assert poster.read_bytes().startswith(JPEG_MAGIC)
    assert re.search(r"Video: mjpeg.* 640x360", await _describe(poster))
    whatsapp = storage.path(done.whatsapp_key)
    content = whatsapp.read_bytes()
    assert len(content) == (done.whatsapp_size or 0) <= film.WHATSAPP_LIMIT_BYTES
    assert content[4:8] == b"ftyp" and content.find(b"moov") < content.find(b"mdat")
    report = await _describe(whatsapp)
    video = re.search(r"Video: (.*)", report)
    assert video and video.group(1).startswith("h264") and " 640x360" in video.group(1), report
    assert "Audio: aac" in report
    assert re.search(r"Duration: 00:00:(29\.9\d|30\.0\d)", report), report

    # One material; in storage only the original and its two renditions.
    async with unit_of_work(db, None, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Material)) == 1
    objects = {p.name for p in (settings.media_root / "objects").rglob("*") if p.is_file()}
    assert objects == {f"{sha256}.mp4", f"{sha256}-poster.jpg", f"{sha256}-whatsapp.mp4"}

    # The retry left no temporary file; the killed one's partial file stopped growing, and the
    # hourly sweep removes it once it is stale (six hours on, here at once).
    assert {path: path.stat().st_size for path in storage.temp_files()} == left
    stale = time.time() - material_jobs.STALE_TEMP_SECONDS - 60
    for path in left:
        os.utime(path, (stale, stale))
    assert await material_jobs.clean_temp_files({"hub": hub_state}) == len(left)
    assert storage.temp_files() == []
