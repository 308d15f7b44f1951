"""Where material files live, behind a small interface: local disk now, S3-compatible later.

An upload is written to a temporary object first and only becomes a stored object when it is
committed under a server-generated key. On local disk both live on the same file system
(``<root>/tmp`` and ``<root>/objects``), so committing is an atomic rename: the file is never
copied a second time and a reader never sees half a file.

The media root is never served as static files; downloads go through routes that check who
may see the material.

Every method does blocking file-system work: call them from a thread (``asyncio.to_thread``)
in async code. A :class:`TempFile` is written from one thread at a time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from hub.errors import InsufficientStorage
from hub.i18n import _, lazy

TEMP_SUFFIX = ".part"
# sha256 hex + "." + extension, or any other name the server made up: never a path.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}(\.[a-z0-9]{1,10})?$")
# os.writev takes at most IOV_MAX buffers per call (1024 on Linux).
_MAX_IOV = 512
# Start writing a large file to disk while it is still arriving, this much at a time, so the
# fsync before it is stored has little left to do (and the page cache little dirty to hold).
WRITEBACK_EVERY = 32 * 1024 * 1024


class InvalidKey(ValueError):
    """A storage key that the server did not make (a path, a dot-file...)."""


STORAGE_FULL = lazy(
    "The hub's storage is full. Nothing was saved; ask the administrator to make room."
)


@contextlib.contextmanager
def _disk_full_refused() -> Iterator[None]:
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
        with _disk_full_refused():
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
                with _disk_full_refused():
                    os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd is None

    def __repr__(self) -> str:
        return f"TempFile({self.path.name!r}, size={self.size})"


class Storage(Protocol):
    """What the hub needs from a place that keeps files."""

    def open_temp(self) -> TempFile: ...

    def commit(self, temp: TempFile, key: str) -> None: ...

    def discard(self, temp: TempFile) -> None: ...

    def path(self, key: str) -> Path: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Files under one directory: ``tmp/<random>.part`` while written,
    ``objects/<key[:2]>/<key>`` once committed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.objects_dir = self.root / "objects"

    def open_temp(self) -> TempFile:
        """A new, empty temporary file (mode 0600; fails rather than reuse an existing name)."""
        self.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.tmp_dir / f"{secrets.token_hex(16)}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        return TempFile(path, os.open(path, flags, 0o600))

    def commit(self, temp: TempFile, key: str) -> None:
        """Make the temporary file the object ``key``, atomically and durably."""
        if temp.finished:
            raise RuntimeError(f"{temp!r} was already committed or discarded")
        target = self.path(key)
        temp.close()  # fsync first: a crash must not leave a named but empty object
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(temp.path, target)
        temp.finished = True
        _fsync_dir(target.parent)

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

    def relative(self, key: str) -> str:
        """Where ``key`` lives below ``objects/`` (also the X-Accel-Redirect path)."""
        if not _KEY.fullmatch(key):
            raise InvalidKey(key)
        return f"{key[:2]}/{key}"

    def path(self, key: str) -> Path:
        return self.objects_dir / self.relative(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def temp_files(self) -> list[Path]:
        """Temporary files left behind (a crash mid-upload); for sweeps and tests."""
        if not self.tmp_dir.is_dir():
            return []
        return sorted(self.tmp_dir.glob(f"*{TEMP_SUFFIX}"))
