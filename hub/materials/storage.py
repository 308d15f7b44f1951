"""Where material files live, behind one small interface: local disk, or an S3-compatible
bucket (:mod:`hub.materials.s3`) that several machines share. ``HUB_MEDIA_STORE`` chooses.

An upload is written to a temporary file on local disk first and only becomes a stored object
when it is committed under a server-generated key. On local disk both live on the same file
system (``<root>/tmp`` and ``<root>/objects``), so committing is an atomic rename: the file is
never copied a second time and a reader never sees half a file. In a bucket, committing is an
upload from that file (in parts, from disk): the object appears whole or not at all.

Objects are read back as byte ranges (:meth:`Storage.open_range`, what downloads stream) or,
for tools that need a file (ffmpeg), as a local copy (:meth:`Storage.local_copy`), which on
local disk is the object itself.

The media root is never served as static files; downloads go through routes that check who
may see the material.

Every method does blocking file-system or network work: call them from a thread
(``asyncio.to_thread``) in async code. A :class:`TempFile` is written from one thread at a
time.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import secrets
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hub.errors import InsufficientStorage
from hub.i18n import _, lazy

if TYPE_CHECKING:
    from hub.config import Settings

TEMP_SUFFIX = ".part"
# sha256 hex + "." + extension, or any other name the server made up: never a path.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}(\.[a-z0-9]{1,10})?$")
# os.writev takes at most IOV_MAX buffers per call (1024 on Linux).
_MAX_IOV = 512
# Start writing a large file to disk while it is still arriving, this much at a time, so the
# fsync before it is stored has little left to do (and the page cache little dirty to hold).
WRITEBACK_EVERY = 32 * 1024 * 1024
COPY_CHUNK = 1024 * 1024


class InvalidKey(ValueError):
    """A storage key that the server did not make (a path, a dot-file...)."""


class ObjectMissing(FileNotFoundError):
    """No object is stored under the key."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidKey(key)
    return key


@dataclass(frozen=True)
class StoredObject:
    size: int
    modified: float  # POSIX time of the last write


STORAGE_FULL = lazy(
    "The hub's storage is full. Nothing was saved; ask the administrator to make room."
)


@contextlib.contextmanager
def disk_full_refused() -> Iterator[None]:
    """A full disk (or quota) is the storage's answer, not a crash: 507 for the upload, whose
    temporary file the caller discards."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage(_(STORAGE_FULL)) from exc
        raise


class TempFile:
    """A file being written: a temporary name, opened exclusively and readable by us only."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self.size = 0
        self.finished = False  # committed or discarded
        self._written_back = 0

    def write(self, buffers: Sequence[bytes | memoryview]) -> None:
        """Append the buffers, in one system call where the kernel allows."""
        with disk_full_refused():
            self._write(buffers)

    def _write(self, buffers: Sequence[bytes | memoryview]) -> None:
        assert self._fd is not None, "the temporary file is closed"
        for start in range(0, len(buffers), _MAX_IOV):
            batch = list(buffers[start : start + _MAX_IOV])
            expected = sum(len(b) for b in batch)
            written = os.writev(self._fd, batch)
            if written != expected:  # a short write: finish it buffer by buffer
                self._write_rest(batch, written)
            self.size += expected
        if self.size - self._written_back >= WRITEBACK_EVERY:
            self._start_writeback()

    def _start_writeback(self) -> None:
        # On Linux, POSIX_FADV_DONTNEED starts writeback of the dirty range without waiting
        # for it (and drops the pages once they are clean): the data goes to disk as it comes.
        assert self._fd is not None
        if hasattr(os, "posix_fadvise"):
            length = self.size - self._written_back
            os.posix_fadvise(self._fd, self._written_back, length, os.POSIX_FADV_DONTNEED)
        self._written_back = self.size

    def _write_rest(self, batch: list[bytes | memoryview], skip: int) -> None:
        assert self._fd is not None
        for buffer in batch:
            view = memoryview(buffer)
            if skip >= len(view):
                skip -= len(view)
                continue
            view = view[skip:]
            skip = 0
            while view:
                view = view[os.write(self._fd, view) :]

    def sync(self) -> None:
        """Flush what was written so far to the disk (without closing)."""
        if self._fd is not None:
            os.fdatasync(self._fd)

    def close(self, *, sync: bool = True) -> None:
        """Close the file, first making its content durable unless told not to."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if sync:
                with disk_full_refused():
                    os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd is None

    def __repr__(self) -> str:
        return f"TempFile({self.path.name!r}, size={self.size})"


class ObjectReader(Protocol):
    """The bytes of one range of an object, read in order."""

    def read(self, size: int) -> bytes:
        """The next bytes, at most ``size``; fewer only at the range's end."""
        ...

    def close(self) -> None: ...


class LocalCopy(Protocol):
    """An object as a file on local disk, for as long as it is open."""

    path: Path

    def close(self) -> None: ...


class Storage(Protocol):
    """What the hub needs from a place that keeps files."""

    # Whether reading the object's size costs as little as a stat (no network round trip).
    local: bool

    def open_temp(self) -> TempFile: ...

    def commit(self, temp: TempFile, key: str) -> None: ...

    def discard(self, temp: TempFile) -> None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def stat(self, key: str) -> StoredObject:
        """Size and time of the object; ObjectMissing when there is none."""
        ...

    def open_range(self, key: str, first: int, last: int) -> ObjectReader:
        """Bytes ``first``..``last`` (inclusive); ObjectMissing when there is no object."""
        ...

    def local_copy(self, key: str) -> LocalCopy:
        """The object as a local file; ObjectMissing when there is none."""
        ...

    def keys(self) -> Iterator[str]:
        """Every stored key (for backups)."""
        ...

    def put_file(self, source: Path, key: str) -> None:
        """Store a copy of a local file as ``key`` (for restores)."""
        ...

    def relative(self, key: str) -> str:
        """Where nginx finds the object below its internal location (local disk only)."""
        ...

    def check(self) -> str:
        """Raise when files cannot be stored now; say where they go otherwise (readiness)."""
        ...

    def temp_files(self) -> list[Path]: ...


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileRange:
    """A range of a local file, read with ``pread`` (one system call per chunk)."""

    def __init__(self, path: Path, first: int, last: int) -> None:
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectMissing(path.name) from None
        self._position = first
        self._last = last

    def read(self, size: int) -> bytes:
        assert self._fd is not None, "the range is closed"
        size = min(size, self._last - self._position + 1)
        if size <= 0:
            return b""
        chunk = os.pread(self._fd, size, self._position)
        self._position += len(chunk)
        return chunk

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


@dataclass
class _InPlace:
    """A local object is its own local copy: nothing to remove afterwards."""

    path: Path

    def close(self) -> None:
        return None


class StagingArea:
    """Temporary files on local disk (``tmp_dir``), where uploads arrive and renditions are
    made before they are committed to the store; shared by every store."""

    tmp_dir: Path

    def open_temp(self) -> TempFile:
        """A new, empty temporary file (mode 0600; fails rather than reuse an existing name)."""
        self.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.tmp_dir / f"{secrets.token_hex(16)}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        return TempFile(path, os.open(path, flags, 0o600))

    def discard(self, temp: TempFile) -> None:
        """Remove the temporary file; doing it twice, or after a commit, is harmless."""
        if temp.finished:
            return
        temp.finished = True
        try:
            temp.close(sync=False)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.path.unlink()

    def temp_files(self) -> list[Path]:
        """Temporary files left behind (a crash mid-upload); for sweeps and tests."""
        if not self.tmp_dir.is_dir():
            return []
        return sorted(self.tmp_dir.glob(f"*{TEMP_SUFFIX}"))

    def _check_staging(self) -> None:
        self.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(self.tmp_dir, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write to {self.tmp_dir.name}/ of the media root")

    @staticmethod
    def _still_open(temp: TempFile) -> None:
        if temp.finished:
            raise RuntimeError(f"{temp!r} was already committed or discarded")


class LocalStorage(StagingArea):
    """Files under one directory: ``tmp/<random>.part`` while written,
    ``objects/<key[:2]>/<key>`` once committed."""

    local = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.objects_dir = self.root / "objects"

    def commit(self, temp: TempFile, key: str) -> None:
        """Make the temporary file the object ``key``, atomically and durably."""
        self._still_open(temp)
        target = self.path(key)
        temp.close()  # fsync first: a crash must not leave a named but empty object
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(temp.path, target)
        temp.finished = True
        _fsync_dir(target.parent)

    def check(self) -> str:
        self._check_staging()
        self.objects_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(self.objects_dir, os.W_OK | os.X_OK):
            raise PermissionError("cannot write to objects/ of the media root")
        return "local disk"

    def relative(self, key: str) -> str:
        """Where ``key`` lives below ``objects/`` (also the X-Accel-Redirect path)."""
        check_key(key)
        return f"{key[:2]}/{key}"

    def path(self, key: str) -> Path:
        return self.objects_dir / self.relative(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def stat(self, key: str) -> StoredObject:
        # A stat is a few microseconds on a local disk: callers need no thread for it.
        try:
            result = os.stat(self.path(key))
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(key) from None
        if not stat.S_ISREG(result.st_mode):
            raise ObjectMissing(key)
        return StoredObject(size=result.st_size, modified=result.st_mtime)

    def open_range(self, key: str, first: int, last: int) -> ObjectReader:
        return _FileRange(self.path(key), first, last)

    def local_copy(self, key: str) -> LocalCopy:
        path = self.path(key)
        if not path.is_file():
            raise ObjectMissing(key)
        return _InPlace(path)

    def keys(self) -> Iterator[str]:
        if not self.objects_dir.is_dir():
            return
        for path in sorted(self.objects_dir.glob("*/*")):
            if path.is_file() and KEY_PATTERN.fullmatch(path.name):
                yield path.name

    def put_file(self, source: Path, key: str) -> None:
        temp = self.open_temp()
        try:
            with source.open("rb") as reader:
                while chunk := reader.read(COPY_CHUNK):
                    temp.write([chunk])
            self.commit(temp, key)
        finally:
            self.discard(temp)


def storage_for(settings: Settings) -> Storage:
    """The media store the settings name; one per configuration and process (an S3 client is
    costly to make, and safe to share between threads)."""
    if settings.media_store == "s3":
        return _s3_storage(
            settings.s3_bucket,
            settings.s3_prefix,
            settings.s3_endpoint_url,
            settings.s3_region,
            settings.s3_access_key_id,
            settings.s3_secret_access_key,
            Path(settings.media_root).resolve(),
        )
    return LocalStorage(settings.media_root)


@functools.lru_cache(maxsize=8)
def _s3_storage(
    bucket: str,
    prefix: str,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    staging: Path,
) -> Storage:
    from hub.materials.s3 import S3Storage  # boto3 is imported only where S3 is used

    return S3Storage(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint_url or None,
        region=region or None,
        access_key_id=access_key_id or None,
        secret_access_key=secret_access_key or None,
        staging=staging / "tmp",
    )
