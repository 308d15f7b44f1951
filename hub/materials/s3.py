"""Material files in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), shared by every web
and worker process, so that the hub runs on more than one machine.

The same contract as :class:`hub.materials.storage.LocalStorage`, with boto3 (whose client is
safe to share between threads; every method here blocks, so callers use a thread):

* An upload is staged in a temporary file on local disk (``<media_root>/tmp``) while it
  arrives and is hashed; committing uploads that file in parts of :data:`PART_SIZE`, read from
  disk a part at a time, and removes it. A PUT makes the object appear whole or not at all.
* Downloads read the byte range they send as a stream (``GetObject`` with ``Range``), a chunk
  at a time: a film is never held in memory, whatever its size.
* ffmpeg needs a file: :meth:`S3Storage.local_copy` downloads the object to the staging
  directory and removes the copy when closed.

A missing object is :class:`~hub.materials.storage.ObjectMissing`; a bucket that cannot be
reached (or refuses) is :class:`StorageUnavailable`, a 503 for the person waiting.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hub.errors import ServiceUnavailable
from hub.i18n import _, lazy
from hub.materials.storage import (
    KEY_PATTERN,
    LocalCopy,
    ObjectMissing,
    ObjectReader,
    StagingArea,
    StoredObject,
    TempFile,
    check_key,
    disk_full_refused,
)

log = logging.getLogger("hub.materials")

# Large files go up and come down in parts of this size, a few at a time: memory stays at
# about PART_SIZE x CONCURRENCY per transfer at most, whatever the file's size.
PART_SIZE = 16 * 1024 * 1024
CONCURRENCY = 4
_TRANSFER = TransferConfig(
    multipart_threshold=PART_SIZE,
    multipart_chunksize=PART_SIZE,
    max_concurrency=CONCURRENCY,
    io_chunksize=256 * 1024,
)
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

UNAVAILABLE = lazy("The hub's file storage cannot be reached just now. Try again in a moment.")


class StorageUnavailable(ServiceUnavailable):
    """The bucket did not answer, or refused (wrong credentials, no such bucket)."""


@contextlib.contextmanager
def _answers(key: str) -> Iterator[None]:
    """Turn boto3's errors into the storage's: missing, or unavailable."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            raise ObjectMissing(key) from None
        log.error("materials.s3_refused", extra={"code": code, "error": str(exc)})
        raise StorageUnavailable(_(UNAVAILABLE)) from exc
    except (BotoCoreError, Boto3Error) as exc:  # Boto3Error: a managed transfer that failed
        log.error("materials.s3_unreachable", extra={"error": str(exc)})
        raise StorageUnavailable(_(UNAVAILABLE)) from exc


class _ObjectRange:
    """A ``GetObject`` body, read a chunk at a time."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def read(self, size: int) -> bytes:
        with _answers(self._key):
            return bytes(self._body.read(size))

    def close(self) -> None:
        self._body.close()


class _Downloaded:
    """A local copy in the staging directory, removed when closed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


_SESSION_LOCK = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One boto3 session per process: it reads S3's service description (a large JSON file)
    once, not again for every client."""
    return boto3.session.Session()


class S3Storage(StagingArea):
    local = False

    def __init__(
        self,
        *,
        bucket: str,
        staging: Path,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.tmp_dir = staging
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            # Servers other than AWS (MinIO, Ceph, moto) address buckets by path.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        with _SESSION_LOCK:  # a session is not thread-safe; the clients it makes are
            self.client = _session().client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=config,
            )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    # --- writing -----------------------------------------------------------------------

    def commit(self, temp: TempFile, key: str) -> None:
        """Upload the temporary file as the object ``key``, then remove the file."""
        self._still_open(temp)
        name = self._name(key)
        temp.close(sync=False)  # read back from the page cache; the bucket keeps it durably
        with _answers(key):
            self.client.upload_file(str(temp.path), self.bucket, name, Config=_TRANSFER)
        temp.finished = True
        temp.path.unlink(missing_ok=True)

    def put_file(self, source: Path, key: str) -> None:
        with _answers(key):
            self.client.upload_file(str(source), self.bucket, self._name(key), Config=_TRANSFER)

    def delete(self, key: str) -> None:
        with _answers(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    # --- reading -----------------------------------------------------------------------

    def stat(self, key: str) -> StoredObject:
        with _answers(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        return StoredObject(
            size=int(head["ContentLength"]), modified=head["LastModified"].timestamp()
        )

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectMissing:
            return False
        return True

    def open_range(self, key: str, first: int, last: int) -> ObjectReader:
        with _answers(key):
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self._name(key), Range=f"bytes={first}-{last}"
            )
        return _ObjectRange(answer["Body"], key)

    def local_copy(self, key: str) -> LocalCopy:
        temp = self.open_temp()  # a fresh name in the staging directory
        temp.close(sync=False)
        copy = _Downloaded(temp.path)
        try:
            with disk_full_refused(), _answers(key):
                self.client.download_file(self.bucket, self._name(key), str(copy.path))
        except BaseException:
            copy.close()
            raise
        return copy

    def keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        with _answers(self.prefix or "/"):
            for page in pages:
                for entry in page.get("Contents", []):
                    key = str(entry["Key"])[len(self.prefix) :]
                    if KEY_PATTERN.fullmatch(key):
                        yield key

    def check(self) -> str:
        self._check_staging()
        self.client.head_bucket(Bucket=self.bucket)  # the bucket is there and ours to use
        return f"s3 bucket {self.bucket}"

    def relative(self, key: str) -> str:
        raise RuntimeError("nginx cannot send objects from a bucket (X-Accel-Redirect)")
