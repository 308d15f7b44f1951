"""``hub backup`` and ``hub restore``: the database and the media files in one .tar.gz.

The media come from (and go back to) the configured media store, local disk or a bucket.

The database is copied while the hub runs: SQLite through its online backup API, PostgreSQL with
``pg_dump --format=custom``. Media objects are immutable once written (a new version is a new
object), so copying them file by file while uploads go on is safe: an upload after the database
copy is an object nobody in the copy points to. Temporary upload files are left out.

A restore refuses a database that already has users unless forced, brings the schema up to date
afterwards (a backup of an older hub restores into a newer one), and puts the media objects back.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hub import __version__
from hub.config import Settings
from hub.materials.storage import InvalidKey, Storage, check_key, storage_for
from hub.models import utcnow

SQLITE_NAME = "database.sqlite3"
PG_NAME = "database.pgdump"
MANIFEST = "manifest.json"
MEDIA = "media"
TOOL_SECONDS = 3600


class BackupError(Exception):
    """Something an operator must fix: the message says what."""


@dataclass(frozen=True)
class Summary:
    database: str
    media_files: int
    size: int


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.resolved_database_url.split("///", 1)[1])


def _pg_url(settings: Settings) -> str:
    """The URL pg_dump understands (no SQLAlchemy driver name)."""
    url = settings.resolved_database_url
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: it is needed to back up PostgreSQL.")
    return found


def _run(command: list[str]) -> None:
    # Our own argument list (a tool found on PATH, our paths, the configured URL), no shell.
    done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_SECONDS)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[:2000]}")


def _arcname(key: str) -> str:
    return f"{MEDIA}/{key[:2]}/{key}"


def backup(settings: Settings, target: Path) -> Summary:
    """Write the database and the media into ``target`` (a .tar.gz), atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hub-backup-") as scratch:
        work = Path(scratch)
        if settings.is_sqlite:
            kind, name = "sqlite", SQLITE_NAME
            source = sqlite3.connect(_sqlite_path(settings))
            copy = sqlite3.connect(work / name)
            try:
                source.backup(copy)  # a consistent copy while the hub writes
            finally:
                copy.close()
                source.close()
        else:
            kind, name = "postgresql", PG_NAME
            _run([_tool("pg_dump"), "--format=custom", f"--file={work / name}", _pg_url(settings)])
        storage = storage_for(settings)
        keys = sorted(storage.keys())
        manifest = {
            "hub_version": __version__,
            "created_at": utcnow().isoformat(),
            "database": kind,
            "media_files": len(keys),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = target.with_name(target.name + ".part")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(work / MANIFEST, arcname=MANIFEST)
            archive.add(work / name, arcname=name)
            for key in keys:
                local = storage.local_copy(key)  # a bucket's object is fetched one at a time
                try:
                    archive.add(local.path, arcname=_arcname(key))
                finally:
                    local.close()
        partial.replace(target)
    return Summary(database=kind, media_files=len(keys), size=target.stat().st_size)


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = archive.getmembers()
    for member in members:
        parts = Path(member.name).parts
        if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in parts:
            raise BackupError(f"Not a hub backup: {member.name} is not a plain file in it.")
    return members


def restore(settings: Settings, source: Path, *, force: bool, has_users: bool) -> Summary:
    """Put the backup ``source`` in place of the database and the media objects."""
    if has_users and not force:
        raise BackupError(
            "The database already has users: restoring replaces everything in it. "
            "Add --force if that is what you want."
        )
    with tarfile.open(source, "r:gz") as archive, tempfile.TemporaryDirectory() as scratch:
        _safe_members(archive)
        # No absolute paths, no ../, no links (checked above; the "data" filter where Python
        # has it, 3.11.4 and later, checks again).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(scratch, **safe)  # type: ignore[arg-type]  # noqa: S202
        work = Path(scratch)
        try:
            manifest = json.loads((work / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise BackupError("Not a hub backup: it has no manifest.") from exc
        kind = manifest.get("database")
        if kind != ("sqlite" if settings.is_sqlite else "postgresql"):
            raise BackupError(
                f"This is a backup of a {kind} database; the hub is configured for "
                f"{'SQLite' if settings.is_sqlite else 'PostgreSQL'}."
            )
        if settings.is_sqlite:
            _restore_sqlite(work / SQLITE_NAME, _sqlite_path(settings))
        else:
            _run(
                [
                    _tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    f"--dbname={_pg_url(settings)}",
                    str(work / PG_NAME),
                ]
            )
        count = _restore_media(work / MEDIA, storage_for(settings))
    return Summary(database=str(kind), media_files=count, size=source.stat().st_size)


def _restore_sqlite(copy: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    live = sqlite3.connect(target)
    try:
        source.backup(live)  # page by page into the live file, under SQLite's own locks
    finally:
        live.close()
        source.close()


def _restore_media(media: Path, storage: Storage) -> int:
    count = 0
    if not media.is_dir():
        return count
    for path in sorted(p for p in media.rglob("*") if p.is_file()):
        try:
            key = check_key(path.name)
        except InvalidKey:
            raise BackupError(f"Not a hub backup: {path.name} is not a media object.") from None
        storage.put_file(path, key)
        count += 1
    return count
