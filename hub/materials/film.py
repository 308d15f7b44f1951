"""Film processing with the ffmpeg binary that the imageio-ffmpeg package ships.

What a stored film gets: its duration and picture size, a poster frame (JPEG) and a
"WhatsApp-ready" MP4 (H.264 + AAC, at most 16 MB, 720p or 480p) that a partner can forward as
it is. There is no ffprobe in that package, so :func:`probe` reads what ``ffmpeg -i`` reports.

ffmpeg runs as a child process with its arguments as a list (never a shell), no standard
input, its own process group and a time limit; it is killed when the limit passes, when the
job is cancelled and (on Linux) when the worker dies, even killed hard. Untrusted files are
opened with the demuxer their (sniffed) extension names and may only read local files, so a
film cannot make ffmpeg fetch a URL. Outputs are written to storage temp files and committed
under keys the server makes from the film's sha256; on any failure the temp files are removed
and this run's committed outputs deleted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import re
import signal
import sys
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import imageio_ffmpeg

from hub.i18n import _, lazy
from hub.materials.storage import ObjectMissing, Storage, TempFile

# WhatsApp refuses videos above 16 MB; aim below it so the MP4 container and the rate
# control's slack still fit.
WHATSAPP_LIMIT_BYTES = 16 * 1000 * 1000
WHATSAPP_TARGET_BYTES = 15 * 1000 * 1000
AUDIO_BITRATE = 96_000
LOW_AUDIO_BITRATE = 64_000  # once the video has less than VIDEO_BITRATE_MIN[720] to spend
# Per output height: a ceiling (short films need no more) and a floor (below it the picture
# is mush, so 720p steps down to 480p, and 480p gives up: the film is too long).
VIDEO_BITRATE_MAX = {720: 2_500_000, 480: 1_200_000}
VIDEO_BITRATE_MIN = {720: 1_000_000, 480: 200_000}
CRF = 23
MAX_FPS = 30
POSTER_MAX_WIDTH = 1280
POSTER_AT_FRACTION = 0.10
POSTER_AT_MOST_SECONDS = 3.0
# Time limits for one ffmpeg run. A transcode at "veryfast" runs several times faster than
# real time; the limit allows it to run at a third of real time plus a minute.
PROBE_TIMEOUT = 60.0
POSTER_TIMEOUT = 60.0
TRANSCODE_TIMEOUT_BASE = 60.0
TRANSCODE_TIMEOUT_PER_SECOND = 3.0
TRANSCODE_TIMEOUT_CAP = 1500.0
# One film takes at most two probes, two poster tries and two transcodes.
WORK_TIME_LIMIT = 2 * (PROBE_TIMEOUT + POSTER_TIMEOUT + TRANSCODE_TIMEOUT_CAP)
# Transcodes use every core: a few at a time per worker process, the rest wait their turn.
MAX_PARALLEL = 2
# Only the start of what ffmpeg reports is parsed; only its end explains a failure.
_STDERR_HEAD = 1024 * 1024
_STDERR_TAIL = 16 * 1024

# The demuxer for each film extension the upload accepts (see hub.materials.sniff).
DEMUXERS = {"mp4": "mp4", "mov": "mov", "webm": "webm"}

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_TIME = re.compile(r"time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (.*)")
_SIZE = re.compile(r"[ ,](\d{1,5})x(\d{1,5})(?=[ ,\[]|$)")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: ")
_ROTATION = re.compile(r"display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_LOG_PREFIX = re.compile(r"^\[[^\]]*@ ?0x[0-9a-fA-F]+\]\s*")
# Lines that only say that something failed, not what.
_GENERIC_LINES = ("Conversion failed!", "Error opening input file", "Error opening output file")


# Recorded when a job gives up for a reason that is not the film's (translated when stored).
INTERRUPTED = lazy("Processing the film stopped unexpectedly. Upload it again or ask an admin.")


class FilmError(Exception):
    """Processing cannot succeed for this film; ``reason`` says why, for people."""

    def __init__(self, reason: str, *, info: FilmInfo | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.info = info


@dataclass(frozen=True)
class FilmInfo:
    duration_seconds: float
    width: int  # as displayed: rotation and non-square pixels applied
    height: int
    has_audio: bool


@dataclass(frozen=True)
class WhatsAppPlan:
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int  # 0: the film has no sound


@dataclass(frozen=True)
class FilmOutputs:
    info: FilmInfo
    poster_key: str
    whatsapp_key: str
    whatsapp_size: int
    whatsapp_width: int
    whatsapp_height: int


def poster_key(sha256: str) -> str:
    return f"{sha256}-poster.jpg"


def whatsapp_key(sha256: str) -> str:
    return f"{sha256}-whatsapp.mp4"


# --- running ffmpeg ------------------------------------------------------------------------


async def ffmpeg_exe() -> str:
    # The first call checks the binary by running it; later calls are cached.
    return await asyncio.to_thread(imageio_ffmpeg.get_ffmpeg_exe)


@dataclass(frozen=True)
class _Run:
    returncode: int
    stderr: str

    def last_error(self, *, hide: Sequence[str] = ()) -> str:
        """The last line of ffmpeg's report that says what went wrong, without file paths."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        meaningful = [line for line in lines if not line.startswith(_GENERIC_LINES)]
        line = (meaningful or lines or [f"ffmpeg exited with status {self.returncode}"])[-1]
        line = _LOG_PREFIX.sub("", line)
        for text in hide:
            line = line.replace(text, "")
        return line.strip(" :")[:300] or f"ffmpeg exited with status {self.returncode}"


async def _read_stderr(stream: asyncio.StreamReader) -> str:
    head = bytearray()
    tail = bytearray()
    while chunk := await stream.read(64 * 1024):
        room = _STDERR_HEAD - len(head)
        if room > 0:
            head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            tail += chunk
            del tail[:-_STDERR_TAIL]
    joined = bytes(head) + (b"\n" if tail else b"") + bytes(tail)
    return joined.decode("utf-8", errors="replace")


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return cast("Callable[[int, int], int]", prctl)


_prctl = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _dies_with_this_process() -> Callable[[], None] | None:
    """On Linux: what makes ffmpeg get SIGKILL as soon as the process that started it dies. A
    worker killed hard (SIGKILL, the OOM killer) runs no cleanup, and its ffmpeg, in a
    session of its own, would go on transcoding for nobody next to the retry of its job."""
    if _prctl is None:
        return None
    prctl, parent = _prctl, os.getpid()

    def in_child() -> None:
        # Between fork and exec: one system call, no lock taken, nothing imported.
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the call took effect
            os._exit(1)

    return in_child


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def run_ffmpeg(args: Sequence[str], *, time_limit: float) -> _Run:
    """Run ffmpeg with ``args``; FilmError when it outlives ``time_limit`` seconds (it is
    killed then, as it is when the caller is cancelled)."""
    process = await asyncio.create_subprocess_exec(
        await ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        # Its own process group: a Ctrl-C meant for the worker must not make ffmpeg write a
        # cut-off file and exit as if the film were broken; the worker's shutdown cancels the
        # job, and the job kills ffmpeg.
        start_new_session=True,
        preexec_fn=_dies_with_this_process(),
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(time_limit):
            stderr = await _read_stderr(process.stderr)
            returncode = await process.wait()
    except TimeoutError:
        await _kill(process)
        raise FilmError(_("Processing the film took too long and was stopped.")) from None
    except BaseException:
        await _kill(process)
        raise
    return _Run(returncode, stderr)


def _input(src: Path, container: str | None) -> list[str]:
    forced = ["-f", container] if container else []
    return ["-protocol_whitelist", "file", *forced, "-i", str(src)]


def _undecodable(run: _Run, src: Path, info: FilmInfo | None = None) -> FilmError:
    detail = run.last_error(hide=(str(src), src.name))
    return FilmError(_("The film could not be decoded: %(detail)s") % {"detail": detail}, info=info)


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(MAX_PARALLEL)
    return _slots[loop]


# --- what a film is ------------------------------------------------------------------------


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_info(report: str) -> tuple[float | None, int, int, bool] | None:
    """(duration or None, display width, display height, has audio) from ``ffmpeg -i``'s
    report, or None when it shows no video stream."""
    video = next(
        (
            m.group(1)
            for m in _VIDEO.finditer(report)
            if "attached pic" not in m.group(1)  # cover art in an MP4 is not the film
        ),
        None,
    )
    size = _SIZE.search(video) if video else None
    if video is None or size is None:
        return None
    width, height = int(size.group(1)), int(size.group(2))
    sar = _SAR.search(video)
    if sar and int(sar.group(1)) > 0 and int(sar.group(2)) > 0:
        width = round(width * int(sar.group(1)) / int(sar.group(2)))
    # Phones store portrait films as landscape pictures with a rotation to apply.
    rotation = _ROTATION.search(report[report.find(video) :])
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width
    duration_match = _DURATION.search(report)
    duration = _seconds(duration_match) if duration_match else None
    return duration, width, height, bool(_AUDIO.search(report))


async def probe(path: Path, *, container: str | None = None) -> FilmInfo:
    """Duration, displayed size and whether there is sound; FilmError when ffmpeg cannot read
    the file as a film."""
    run = await run_ffmpeg(_input(path, container), time_limit=PROBE_TIMEOUT)
    # Without an output ffmpeg always exits with an error; what it read is in the report.
    if "Input #0" not in run.stderr:
        raise _undecodable(run, path)
    parsed = parse_info(run.stderr)
    if parsed is None:
        raise FilmError(_("The file holds no moving picture, so it is not a film."))
    duration, width, height, has_audio = parsed
    if duration is None:
        # Some recorders (a browser's MediaRecorder) leave the length out: read the packets.
        counted = await run_ffmpeg(
            [*_input(path, container), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
            time_limit=PROBE_TIMEOUT,
        )
        times = list(_TIME.finditer(counted.stderr))
        if counted.returncode != 0 or not times:
            raise _undecodable(counted, path)
        duration = _seconds(times[-1])
    if duration <= 0 or width < 2 or height < 2:
        raise FilmError(
            _("The film could not be decoded: %(detail)s")
            % {"detail": f"{width}x{height}, {duration:.2f} s"}
        )
    return FilmInfo(duration, width, height, has_audio)


# --- what is made of it --------------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, math.floor(value / 2) * 2)


def plan_whatsapp(info: FilmInfo, *, smaller: bool = False) -> WhatsAppPlan:
    """Size and bitrates of the WhatsApp version: 720p when the film has 720 lines or more and
    the size limit leaves a good bitrate for it, else 480p; never larger than the film.
    ``smaller`` is the second try when the first came out too large."""
    budget = WHATSAPP_TARGET_BYTES * 8 / max(info.duration_seconds, 1.0)
    if smaller:
        budget *= 0.75
    audio = 0
    if info.has_audio:
        rich = budget - AUDIO_BITRATE >= VIDEO_BITRATE_MIN[720]
        audio = AUDIO_BITRATE if rich else LOW_AUDIO_BITRATE
    video_budget = budget - audio
    short_side = min(info.width, info.height)
    lines = 720 if short_side >= 720 and not smaller else 480
    if lines == 720 and video_budget < VIDEO_BITRATE_MIN[720]:
        lines = 480
    if video_budget < VIDEO_BITRATE_MIN[480]:
        least = VIDEO_BITRATE_MIN[480] + (LOW_AUDIO_BITRATE if info.has_audio else 0)
        fits = WHATSAPP_TARGET_BYTES * 8 / least
        raise FilmError(
            _(
                "The film is too long for a WhatsApp version of at most 16 MB: it lasts "
                "%(minutes)d minutes, and about %(fits)d minutes fit. Shorten it or split it "
                "into parts."
            )
            % {"minutes": math.ceil(info.duration_seconds / 60), "fits": int(fits // 60)},
            info=info,
        )
    scale = min(1.0, lines / short_side)
    return WhatsAppPlan(
        width=_even(info.width * scale),
        height=_even(info.height * scale),
        video_bitrate=int(min(video_budget, VIDEO_BITRATE_MAX[lines])),
        audio_bitrate=audio,
    )


def transcode_timeout(info: FilmInfo) -> float:
    return min(
        TRANSCODE_TIMEOUT_BASE + TRANSCODE_TIMEOUT_PER_SECOND * info.duration_seconds,
        TRANSCODE_TIMEOUT_CAP,
    )


async def poster_frame(
    src: Path, dest: Path, info: FilmInfo, *, container: str | None = None
) -> None:
    """Write a JPEG of the picture at 10 % of the film (at most 3 s in), at most 1280 wide."""
    width = min(info.width, POSTER_MAX_WIDTH)
    height = _even(info.height * width / info.width)
    at = min(info.duration_seconds * POSTER_AT_FRACTION, POSTER_AT_MOST_SECONDS)
    for seek in (at, 0.0) if at > 0 else (0.0,):
        run = await run_ffmpeg(
            [
                *("-nostats", "-loglevel", "error", "-y"),
                *("-ss", f"{seek:.3f}"),
                *_input(src, container),
                *("-map", "0:v:0", "-frames:v", "1"),
                *("-vf", f"scale={_even(width)}:{height},setsar=1"),
                *("-map_metadata", "-1", "-c:v", "mjpeg", "-q:v", "3"),
                *("-f", "image2", "-update", "1", str(dest)),
            ],
            time_limit=POSTER_TIMEOUT,
        )
        if run.returncode != 0:
            raise _undecodable(run, src, info)
        # A seek past the last decodable picture writes nothing: take the first one then.
        if (await asyncio.to_thread(dest.stat)).st_size > 0:
            return
    raise FilmError(
        _("The film could not be decoded: %(detail)s") % {"detail": "no picture"}, info=info
    )


async def whatsapp_version(
    src: Path,
    dest: Path,
    info: FilmInfo,
    *,
    smaller: bool = False,
    container: str | None = None,
) -> WhatsAppPlan:
    """Write the H.264/AAC MP4 for WhatsApp (see :func:`plan_whatsapp`); what it planned."""
    plan = plan_whatsapp(info, smaller=smaller)
    video_rate = f"{plan.video_bitrate // 1000}k"
    if plan.audio_bitrate:
        audio = ["-c:a", "aac", "-b:a", f"{plan.audio_bitrate // 1000}k", "-ac", "2"]
    else:
        audio = ["-an"]
    run = await run_ffmpeg(
        [
            *("-nostats", "-loglevel", "error", "-y"),
            *_input(src, container),
            *("-map", "0:v:0", "-map", "0:a:0?"),
            # No metadata: a phone's film carries where it was recorded.
            *("-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"),
            *("-vf", f"scale={plan.width}:{plan.height},setsar=1,format=yuv420p"),
            *("-fpsmax", str(MAX_FPS)),
            *("-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-level:v", "3.1"),
            *("-crf", str(CRF), "-maxrate", video_rate, "-bufsize", video_rate),
            *audio,
            *("-movflags", "+faststart", "-f", "mp4", str(dest)),
        ],
        time_limit=transcode_timeout(info),
    )
    if run.returncode != 0:
        raise _undecodable(run, src, info)
    return plan


# --- the whole job -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _temp_file(storage: Storage) -> AsyncIterator[TempFile]:
    temp = await asyncio.to_thread(storage.open_temp)
    try:
        yield temp
    finally:
        await asyncio.to_thread(storage.discard, temp)  # nothing to do once committed


@contextlib.asynccontextmanager
async def _local_copy(storage: Storage, key: str) -> AsyncIterator[Path]:
    """The stored film as a file ffmpeg can read (fetched from a bucket, if that is where it
    is), removed again afterwards."""
    try:
        copy = await asyncio.to_thread(storage.local_copy, key)
    except ObjectMissing:
        raise FilmError(_("The film's file is missing from the media storage.")) from None
    try:
        yield copy.path
    finally:
        await asyncio.to_thread(copy.close)


async def make_renditions(
    storage: Storage, *, sha256: str, source_key: str, extension: str
) -> FilmOutputs:
    """Probe a stored film and store its poster frame and WhatsApp version (replacing those of
    an earlier run); FilmError with the reason when the film cannot be processed, and then
    nothing made by this run is left in storage."""
    container = DEMUXERS.get(extension.lower())
    async with _slot(), _local_copy(storage, source_key) as src:
        try:
            info = await probe(src, container=container)
            plan_whatsapp(info)  # too long: say so before any work is done

            async with _temp_file(storage) as temp:
                await poster_frame(src, temp.path, info, container=container)
                await asyncio.to_thread(storage.commit, temp, poster_key(sha256))

            for smaller in (False, True):
                async with _temp_file(storage) as temp:
                    plan = await whatsapp_version(
                        src, temp.path, info, smaller=smaller, container=container
                    )
                    size = (await asyncio.to_thread(os.stat, temp.path)).st_size
                    if size <= WHATSAPP_LIMIT_BYTES:
                        await asyncio.to_thread(storage.commit, temp, whatsapp_key(sha256))
                        return FilmOutputs(
                            info=info,
                            poster_key=poster_key(sha256),
                            whatsapp_key=whatsapp_key(sha256),
                            whatsapp_size=size,
                            whatsapp_width=plan.width,
                            whatsapp_height=plan.height,
                        )
            raise FilmError(
                _("The WhatsApp version of the film came out larger than 16 MB."), info=info
            )
        except BaseException:
            # What this run committed, and what an earlier run that crashed left behind.
            for key in (poster_key(sha256), whatsapp_key(sha256)):
                await asyncio.to_thread(storage.delete, key)
            raise
