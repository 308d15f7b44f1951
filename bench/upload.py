"""Upload benchmark: a large film through the real server, against `cp && sync` of the same file.

    .venv/bin/python bench/upload.py          (BENCH_UPLOAD_MB=1024, BENCH_UPLOAD_RUNS=3)

Everything lives in one temp directory, so the source file, the copy and the media root share
one disk. Each run copies the file with ``cp`` and flushes it (``sync`` on the copy: the
server fsyncs what it stored, and a system-wide sync would also charge this run for everybody
else's dirty pages), and uploads a variant of it (a few bytes changed, so each run stores a new
object) to a real ``uvicorn hub.main:create_app`` over loopback, as a browser does: one
multipart/form-data body with a Content-Length. The client streams the body from the file.

Printed: the median MB/s of both and their ratio (goal >= 0.40), the server's RSS before the
uploads and at its peak (goal: growth < 50 MB), and the bytes under the media root at their
peak during each upload (goal: never more than one copy of the file being uploaded).

This machine is shared and its disk is noisy: read the ratio, not the absolute numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SIZE_MB = int(os.environ.get("BENCH_UPLOAD_MB", "1024"))
RUNS = int(os.environ.get("BENCH_UPLOAD_RUNS", "3"))
CHUNK = 1024 * 1024
MB = 1_000_000
MiB = 1024 * 1024
TIMEOUT_SECONDS = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_film(path: Path, size: int) -> None:
    """Random bytes behind an MP4 ``ftyp`` box and a 64-bit ``mdat`` header: sniffs as MP4."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1"
    mdat = b"\x00\x00\x00\x01mdat" + (size - len(ftyp)).to_bytes(8, "big")
    with path.open("wb") as out:
        out.write(ftyp + mdat)
        remaining = size - len(ftyp) - len(mdat)
        block = os.urandom(16 * MiB)
        counter = 0
        while remaining > 0:
            # A fresh prefix per block, so no two blocks are alike.
            piece = counter.to_bytes(8, "big") + block[8 : min(len(block), remaining)]
            out.write(piece[:remaining])
            remaining -= len(piece[:remaining])
            counter += 1
        out.flush()
        os.fsync(out.fileno())  # not left for the measured runs to write back


def vary(path: Path, run: int) -> None:
    """Change a few bytes inside the mdat box, so each run uploads a new object."""
    with path.open("r+b") as film:
        film.seek(64)
        film.write(secrets.token_bytes(16) + run.to_bytes(4, "big"))


def cp_and_sync(source: Path, target: Path) -> float:
    # The copies are removed only at the end: freeing blocks (the disk is mounted with
    # "discard") would otherwise slow down whatever is measured next.
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True, timeout=TIMEOUT_SECONDS)
    subprocess.run(["sync", str(target)], check=True, timeout=TIMEOUT_SECONDS)
    return time.perf_counter() - start


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def bytes_under(directory: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # renamed since it was listed
                total += os.stat(os.path.join(dirpath, name)).st_size
    return total


class Sampler(threading.Thread):
    """The server's RSS and the bytes under the media root, every 20 ms."""

    def __init__(self, pid: int, media: Path) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.media = media
        self.peak_rss_kb = 0
        self.peak_media_bytes = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_rss_kb = max(self.peak_rss_kb, rss_kb(self.pid))
            self.peak_media_bytes = max(self.peak_media_bytes, bytes_under(self.media))
            self.done.wait(0.02)


def multipart_body(path: Path, boundary: str) -> tuple[int, Iterator[bytes]]:
    """The length and the chunks of a browser-style multipart body carrying the file."""
    preamble = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    epilogue = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield preamble
        with path.open("rb") as film:
            while chunk := film.read(CHUNK):
                yield chunk
        yield epilogue

    return len(preamble) + path.stat().st_size + len(epilogue), chunks()


def upload(client: httpx.Client, path: Path, token: str) -> tuple[float, httpx.Response]:
    boundary = "----WebKitFormBoundary" + secrets.token_hex(8)
    length, chunks = multipart_body(path, boundary)
    start = time.perf_counter()
    response = client.post(
        "/api/v1/materials",
        content=chunks,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        },
    )
    return time.perf_counter() - start, response


async def make_officer_token(database_url: str) -> str:
    from hub.auth import service
    from hub.db import Database, unit_of_work
    from hub.models import Role

    db = Database.from_url(database_url)
    try:
        async with unit_of_work(db, None) as session:
            officer = await service.create_user(
                session, email="bench-officer@example.org", role=Role.officer, name="Bench"
            )
            _token, raw = await service.create_api_token(session, user=officer, name="bench")
    finally:
        await db.dispose()
    return raw


async def drop_redis_keys(redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"*{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    size = SIZE_MB * MiB
    with tempfile.TemporaryDirectory(prefix="hub-bench-upload-") as tmp:
        workdir = Path(tmp)
        media = workdir / "media"
        media.mkdir()
        free = shutil.disk_usage(workdir).free
        if free < (2 * RUNS + 2) * size + 512 * MiB:
            sys.exit(f"bench/upload: {free // MiB} MiB free in {workdir}; set BENCH_UPLOAD_MB")
        film = workdir / "film.mp4"
        make_film(film, size)
        assert film.stat().st_dev == media.stat().st_dev, "source and media on one disk"

        redis_url = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        prefix = f"hubbench:{secrets.token_hex(3)}:"
        database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(
            {
                "HUB_ENV": "test",
                "HUB_SECRET_KEY": secrets.token_urlsafe(48),
                "HUB_DATABASE_URL": database_url,
                "HUB_REDIS_URL": redis_url,
                "HUB_REDIS_PREFIX": prefix,
                "HUB_VAR_DIR": str(workdir / "var"),
                "HUB_MEDIA_ROOT": str(media),
                "HUB_MAX_UPLOAD_MB": "2048",
                "PYTHONPATH": str(ROOT),
            }
        )
        from hub.migrate import upgrade

        upgrade(database_url)
        token = asyncio.run(make_officer_token(database_url))

        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hub.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        copies: list[float] = []
        uploads: list[float] = []
        media_peaks: list[int] = []
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/healthz", server)
            with httpx.Client(base_url=base, timeout=TIMEOUT_SECONDS) as client:
                warm = workdir / "warm-up.mp4"
                make_film(warm, MiB)
                assert upload(client, warm, token)[1].status_code == 201
                rss_before = rss_kb(server.pid)
                sampler = Sampler(server.pid, media)
                sampler.start()
                for run in range(RUNS):
                    vary(film, run)
                    # The disk (a VM's) writes bursts fast and then slows down: alternate
                    # which of the two goes first, so neither always gets the fresh burst.
                    if run % 2 == 0:
                        copies.append(cp_and_sync(film, workdir / f"copy-{run}.mp4"))
                    stored_before = bytes_under(media)
                    sampler.peak_media_bytes = 0
                    elapsed, response = upload(client, film, token)
                    assert response.status_code == 201, response.text
                    uploads.append(elapsed)
                    media_peaks.append(sampler.peak_media_bytes - stored_before)
                    if run % 2 == 1:
                        copies.append(cp_and_sync(film, workdir / f"copy-{run}.mp4"))
                    body = response.json()
                    stored = media / "objects" / body["sha256"][:2] / f"{body['sha256']}.mp4"
                    assert stored.stat().st_size == size == body["size"]
                    assert not list((media / "tmp").glob("*.part")), "a temp file was left"
                sampler.done.set()
                sampler.join()
                rss_peak = max(sampler.peak_rss_kb, rss_kb(server.pid, "VmHWM"))
                objects = [p for p in (media / "objects").rglob("*") if p.is_file()]
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
            asyncio.run(drop_redis_keys(redis_url, prefix))

    cp_rate = size / MB / statistics.median(copies)
    upload_rate = size / MB / statistics.median(uploads)
    print(f"upload  {SIZE_MB} MiB film, {RUNS} runs (cp and upload in turns), medians")
    print(
        f"upload  cp && sync              {cp_rate:8.0f} MB/s   (baseline; runs: "
        + ", ".join(f"{size / MB / t:.0f}" for t in copies)
        + ")"
    )
    print(
        f"upload  POST /api/v1/materials  {upload_rate:8.0f} MB/s   "
        f"ratio {upload_rate / cp_rate:.2f}  (goal >= 0.40; runs: "
        + ", ".join(f"{size / MB / t:.0f}" for t in uploads)
        + ")"
    )
    print(
        "upload  ratio per run: "
        + ", ".join(f"{c / u:.2f}" for c, u in zip(copies, uploads, strict=True))
        + "  (a fast cp means a disk burst: then the upload is bound by the CPU, not the disk)"
    )
    growth = (rss_peak - rss_before) / 1024
    print(
        f"upload  server RSS  before {rss_before / 1024:.0f} MiB, peak {rss_peak / 1024:.0f} MiB, "
        f"growth {growth:.1f} MiB (goal < 50)"
    )
    worst = max(media_peaks) / size
    print(
        f"upload  disk: peak bytes under the media root during an upload = {worst:.3f} x the "
        f"file (goal <= 1.0); {len(objects)} objects for {RUNS + 1} uploads; no .part left"
    )


if __name__ == "__main__":
    main()
