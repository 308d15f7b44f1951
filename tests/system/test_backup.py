"""hub backup and hub restore: the database (SQLite's online backup, pg_dump) and the media
files, round trip, on the suite's database."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from hub.config import Settings
from hub.db import Database
from hub.system.backup import BackupError, backup, restore
from tests.tracking.conftest import make_published


async def table_rows(db: Database) -> dict[str, int]:
    async with db.engine.connect() as connection:
        return {
            table.name: (
                await connection.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def media_digests(settings: Settings) -> dict[str, str]:
    objects = Path(settings.media_root) / "objects"
    return {
        path.relative_to(objects).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in objects.rglob("*")
        if path.is_file()
    }


async def wipe(db: Database, settings: Settings) -> None:
    async with db.engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await connection.execute(table.delete())
    shutil.rmtree(Path(settings.media_root) / "objects")


async def test_backup_and_restore_round_trip(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    await make_published(db, settings)
    rows, media = await table_rows(db), media_digests(settings)
    assert rows["campaign"] == 1 and len(media) >= 2
    # A half-written upload is no part of a backup.
    temp = Path(settings.media_root) / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    (temp / "upload.part").write_bytes(b"half")

    target = tmp_path / "backups" / "hub.tar.gz"
    made = backup(settings, target)
    assert made.media_files == len(media) and made.size == target.stat().st_size
    with tarfile.open(target) as archive:
        names = archive.getnames()
    assert "manifest.json" in names and not [n for n in names if n.endswith(".part")]

    with pytest.raises(BackupError, match="already has users"):
        restore(settings, target, force=False, has_users=True)

    await wipe(db, settings)
    assert (await table_rows(db))["campaign"] == 0
    done = restore(settings, target, force=True, has_users=True)
    await db.engine.dispose()  # the tables were replaced under the pool's connections
    assert done.media_files == len(media)
    assert await table_rows(db) == rows
    assert media_digests(settings) == media


async def test_a_backup_of_the_other_database_or_no_backup_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    other = "postgresql" if settings.is_sqlite else "sqlite"
    fake = tmp_path / "other.tar.gz"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(f'{{"database": "{other}"}}')
    with tarfile.open(fake, "w:gz") as archive:
        archive.add(manifest, arcname="manifest.json")
    with pytest.raises(BackupError, match="backup of a"):
        restore(settings, fake, force=True, has_users=False)

    sneaky = tmp_path / "sneaky.tar.gz"
    with tarfile.open(sneaky, "w:gz") as archive:
        archive.add(manifest, arcname="../outside.json")
    with pytest.raises(BackupError, match="Not a hub backup"):
        restore(settings, sneaky, force=True, has_users=False)
    assert not (tmp_path.parent / "outside.json").exists()
