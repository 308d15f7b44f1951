"""The media store's contract, kept by local disk and by an S3 bucket alike (moto's S3 server,
over HTTP), and the whole hub on a bucket: uploads, downloads, film processing, backup and
restore; files streamed through without being held in memory; a bucket out of reach is a 503
that leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlmodel import select

from hub.config import Settings
from hub.db import Database
from hub.main import create_app
from hub.materials.s3 import S3Storage
from hub.materials.storage import (
    InvalidKey,
    LocalStorage,
    ObjectMissing,
    Storage,
    storage_for,
)
from hub.models import Material, Role
from hub.system import backup
from tests.conftest import _free_port
from tests.factories import api_token, bearer, make_user
from tests.materials import samples
from tests.materials.conftest import UPLOAD_URL, stored
from tests.s3_server import MotoServer, s3_storage
from tests.test_worker_e2e import run_burst_worker

MiB = 1024 * 1024


def _read(storage: Storage, key: str, first: int, last: int, chunk: int = 1000) -> bytes:
    reader = storage.open_range(key, first, last)
    try:
        parts = []
        while part := reader.read(chunk):
            parts.append(part)
        return b"".join(parts)
    finally:
        reader.close()


# --- the contract ----------------------------------------------------------------------------


def test_a_committed_object_reads_back_whole_and_in_ranges(media_store: Storage) -> None:
    content = os.urandom(10_000)
    stored(media_store, "abc123.pdf", content)

    assert media_store.exists("abc123.pdf")
    assert media_store.stat("abc123.pdf").size == 10_000
    assert _read(media_store, "abc123.pdf", 0, 9_999) == content
    assert _read(media_store, "abc123.pdf", 1234, 5678, chunk=333) == content[1234:5679]
    copy = media_store.local_copy("abc123.pdf")
    try:
        assert copy.path.read_bytes() == content
    finally:
        copy.close()
    assert list(media_store.keys()) == ["abc123.pdf"]
    assert media_store.temp_files() == []  # committed: nothing left in the staging area

    media_store.delete("abc123.pdf")
    media_store.delete("abc123.pdf")  # twice is harmless
    assert not media_store.exists("abc123.pdf")
    assert list(media_store.keys()) == []


def test_a_discarded_upload_leaves_nothing(media_store: Storage) -> None:
    temp = media_store.open_temp()
    temp.write([b"half a film"])
    media_store.discard(temp)
    media_store.discard(temp)
    assert media_store.temp_files() == []
    assert list(media_store.keys()) == []
    with pytest.raises(RuntimeError):
        media_store.commit(temp, "abc123.mp4")


def test_a_missing_object_is_missing_everywhere(media_store: Storage) -> None:
    assert not media_store.exists("nothing.mp4")
    with pytest.raises(ObjectMissing):
        media_store.stat("nothing.mp4")
    with pytest.raises(ObjectMissing):
        media_store.open_range("nothing.mp4", 0, 10)
    with pytest.raises(ObjectMissing):
        media_store.local_copy("nothing.mp4")
    assert media_store.temp_files() == []  # the failed copy left nothing either


def test_keys_the_server_did_not_make_are_refused(media_store: Storage) -> None:
    for key in ("../etc/passwd", ".hidden", "a/b", ""):
        with pytest.raises(InvalidKey):
            media_store.exists(key)


def test_a_prefix_shares_a_bucket_without_mixing(s3_server: MotoServer, tmp_path: Path) -> None:
    first = s3_storage(s3_server, tmp_path)
    second = S3Storage(
        bucket=first.bucket,
        prefix="other-hub/",
        staging=tmp_path,
        endpoint_url=s3_server.endpoint_url,
        region=first.client.meta.region_name,
        access_key_id="testing",
        secret_access_key="testing-secret",
    )
    stored(first, "aaa111.pdf", b"first")
    stored(second, "bbb222.pdf", b"second")
    assert list(first.keys()) == ["aaa111.pdf"]  # no "other-hub/..." read as a key
    assert list(second.keys()) == ["bbb222.pdf"]
    names = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=first.bucket)["Contents"]}
    assert names == {"aaa111.pdf", "other-hub/bbb222.pdf"}


def test_settings_choose_the_store(settings: Settings, s3_server: MotoServer) -> None:
    assert isinstance(storage_for(settings), LocalStorage)
    on_s3 = s3_server.settings_for(settings, "some-bucket")
    store = storage_for(on_s3)
    assert isinstance(store, S3Storage)
    assert store.bucket == "some-bucket"
    assert storage_for(on_s3) is store  # one client per configuration and process
    with pytest.raises(ValueError, match="HUB_S3_BUCKET"):
        Settings(_env_file=None, media_store="s3")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="local media only"):
        Settings(  # type: ignore[call-arg]
            _env_file=None, media_store="s3", s3_bucket="b", media_accel_redirect="/_media/"
        )


# --- streaming -------------------------------------------------------------------------------


def test_large_files_go_up_and_come_down_without_being_held_in_memory(
    s3_server: MotoServer, tmp_path: Path
) -> None:
    store = s3_storage(s3_server, tmp_path)
    size = 96 * MiB
    block = os.urandom(MiB)
    temp = store.open_temp()
    for _ in range(size // MiB):
        temp.write([block])

    tracemalloc.start()
    try:
        store.commit(temp, "bigfilm.mp4")  # in parts, from disk
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        reader = store.open_range("bigfilm.mp4", 0, size - 1)
        digest, read = hashlib.sha256(), 0
        while chunk := reader.read(MiB):
            digest.update(chunk)
            read += len(chunk)
        reader.close()
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert read == size
    assert digest.hexdigest() == hashlib.sha256(block * (size // MiB)).hexdigest()
    # Parts of 16 MiB, four at a time at most, read from disk as they go: far below the film.
    assert upload_peak < size / 3, f"upload held {upload_peak / MiB:.0f} MiB"
    assert download_peak < 8 * MiB, f"download held {download_peak / MiB:.0f} MiB"
    assert store.temp_files() == []


# --- the hub on a bucket ------------------------------------------------------------------


@pytest.fixture
def s3_settings(settings: Settings, s3_server: MotoServer) -> Settings:
    return s3_server.settings_for(settings, s3_server.new_bucket(), prefix="media/")


@pytest.fixture
async def s3_client(s3_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(s3_settings)
    async with LifespanManager(application) as manager:
        app: FastAPI = manager.app  # type: ignore[assignment]
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _small_film(dest: Path) -> bytes:
    subprocess.run(
        [
            *(imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"),
            *("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", str(dest)),
        ],
        check=True,
        timeout=60,
    )
    return dest.read_bytes()


def _bucket_keys(settings: Settings) -> set[str]:
    return set(storage_for(settings).keys())


@pytest.mark.slow
async def test_the_hub_keeps_its_files_in_the_bucket(
    s3_client: httpx.AsyncClient,
    s3_settings: Settings,
    db: Database,
    tmp_path: Path,
) -> None:
    officer = await make_user(db, role=Role.officer, password=None)
    headers = {**bearer(await api_token(s3_client, db, officer)), "Accept-Language": "en"}
    content = _small_film(tmp_path / "film.mp4")

    uploaded = await s3_client.post(
        UPLOAD_URL, headers=headers, files={"file": ("vaccine.mp4", content, "video/mp4")}
    )
    assert uploaded.status_code == 201, uploaded.text
    material = uploaded.json()
    sha = material["sha256"]
    assert _bucket_keys(s3_settings) == {f"{sha}.mp4"}
    # Local disk only staged the upload: no objects there, no temporary file left.
    media = Path(s3_settings.media_root)
    assert not (media / "objects").exists()
    assert list((media / "tmp").glob("*")) == []

    url = f"/api/v1/materials/{material['id']}/download"
    ranged = await s3_client.get(url, headers={**headers, "Range": "bytes=100-1099"})
    assert ranged.status_code == 206
    assert ranged.content == content[100:1100]
    assert ranged.headers["content-range"] == f"bytes 100-1099/{len(content)}"
    whole = await s3_client.get(url, headers=headers)
    assert whole.content == content
    again = await s3_client.get(url, headers={**headers, "If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304

    # The worker fetches the film from the bucket, and stores its renditions there.
    await run_burst_worker(s3_settings)
    done = (await s3_client.get(f"/api/v1/materials/{material['id']}", headers=headers)).json()
    assert done["processing_status"] == "done", done
    assert _bucket_keys(s3_settings) == {f"{sha}.mp4", f"{sha}-poster.jpg", f"{sha}-whatsapp.mp4"}
    whatsapp = await s3_client.get(url, params={"rendition": "whatsapp"}, headers=headers)
    assert whatsapp.status_code == 200
    assert whatsapp.content[4:8] == b"ftyp"
    assert list((media / "tmp").glob("*")) == []  # the local copy for ffmpeg is gone

    # A backup takes the bucket's objects; a restore puts them into another, empty bucket.
    archive = tmp_path / "backup.tar.gz"
    summary = backup.backup(s3_settings, archive)
    assert summary.media_files == 3
    server_settings = s3_settings.model_copy(update={"s3_prefix": "restored/"})
    restored = backup.restore(server_settings, archive, force=True, has_users=True)
    assert restored.media_files == 3
    restored_store = storage_for(server_settings)
    assert set(restored_store.keys()) == _bucket_keys(s3_settings)
    copy = restored_store.local_copy(f"{sha}.mp4")
    try:
        assert copy.path.read_bytes() == content
    finally:
        copy.close()


async def test_readiness_reports_the_bucket(s3_client: httpx.AsyncClient) -> None:
    ready = (await s3_client.get("/readyz")).json()["checks"]["media"]
    assert ready["ok"] is True
    assert ready["detail"].startswith("s3 bucket hub-")


async def test_a_bucket_out_of_reach_is_a_503_that_leaves_nothing(
    settings: Settings, s3_server: MotoServer, db: Database
) -> None:
    nowhere = s3_server.settings_for(settings, "any-bucket").model_copy(
        update={"s3_endpoint_url": f"http://127.0.0.1:{_free_port()}"}  # nothing listens
    )
    missing_bucket = s3_server.settings_for(settings, "no-such-bucket")
    for broken in (nowhere, missing_bucket):
        application = create_app(broken)
        async with LifespanManager(application) as manager:
            transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                officer = await make_user(db, role=Role.officer, password=None)
                headers = {**bearer(await api_token(client, db, officer)), "Accept-Language": "en"}
                answer = await client.post(
                    UPLOAD_URL, headers=headers, files={"file": ("a.pdf", samples.pdf())}
                )
                media = (await client.get("/readyz")).json()["checks"]["media"]
        assert answer.status_code == 503, answer.text
        assert media["ok"] is False  # and readiness says why
        assert answer.headers["content-type"] == "application/problem+json"
        assert "storage cannot be reached" in answer.json()["detail"]
        async with db.session(write=False) as session:
            assert (await session.exec(select(Material))).all() == []
        assert list((Path(broken.media_root) / "tmp").glob("*")) == []
